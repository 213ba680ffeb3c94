"""Deploy a stack into the emulator, run the policy pack over it, then prove it works.

Usage::

    report = rehearse("dev", progress=Progress(on_check=lambda c: print(c.render())))
    report.ok, report.resources_created, [c.name for c in report.checks if not c.ok]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.aws_types import GET_CALLER_IDENTITY, LAMBDA_EVENT_SOURCE_MAPPING
from provisioner.paths import STACKS_DIR
from provisioner.rehearsal.backend import AwsCreator, UnsupportedResource
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.inventory import Inventory
from provisioner.rehearsal.result import Check, Progress
from roadmap.settings import StackSettings

__all__ = ["EmulatorBackend", "RehearsalReport", "rehearse"]


@dataclass
class RehearsalReport:
    """What ``provisioner rehearse --json`` prints."""

    stack: str
    resources_created: int = 0
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources_created": self.resources_created,
            "checks": [c.as_dict() for c in self.checks],
        }


class EmulatorBackend:
    """provisioner.program's ResourceBackend that creates every resource in the emulator."""

    def __init__(self, creator: AwsCreator, settings: StackSettings) -> None:
        from provisioner.aws_shapes import AwsShapedBackend

        self.creator = creator
        self._calls = AwsShapedBackend(settings)

    def create(self, request: Any) -> tuple[str, dict[str, Any]]:
        if not request.custom:  # component resources exist only in Pulumi's state
            return "", {}
        return self.creator.create(request.type, request.name, request.inputs)

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == GET_CALLER_IDENTITY:
            # The emulator's STS answers, as AWS's would for the deploying credentials.
            identity = self.creator.ctx("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }
        return self._calls.call(token, args)


@dataclass
class Deployment:
    """What the smoke checks work on: the emulator, the program run and the inventory."""

    aws: Emulator
    creator: AwsCreator
    run: Any  # provisioner.program.ProgramRun
    inventory: Inventory
    settings: StackSettings
    roadmap: Any  # roadmap.model.Roadmap
    progress: Progress


SmokeCheck = Callable[[Deployment], list[Check]]


def rehearse(
    stack: str,
    *,
    roadmap: Path | None = None,
    progress: Progress | None = None,
    program_config: dict[str, Any] | None = None,
    stacks_dir: Path = STACKS_DIR,
    emulator: Emulator | None = None,
    keep: Callable[[Emulator, RehearsalReport], None] | None = None,
) -> RehearsalReport:
    """Run the whole rehearsal for ``stack``; the emulator is stopped whatever happens.

    ``program_config`` overrides stack config values (as ``run_program`` takes them).
    ``emulator`` is one already running (another stack of the same account may be
    deployed in it; the caller stops it); by default the rehearsal starts its own.
    ``keep(emulator, report)``, when given, runs after the checks with the emulator still
    up (``rehearse --keep`` waits there for Ctrl-C); the emulator stops when it returns.
    Raises UsageError for a missing stack or roadmap (exit 2); everything that goes wrong
    in the deployment itself is a failed check.
    """
    from provisioner.aws_shapes import stand_in_account
    from provisioner.context import load_stack_context
    from provisioner.errors import UsageError
    from provisioner.program import run_program
    from provisioner.records import ProgramError

    progress = progress or Progress()
    context = load_stack_context(stack, roadmap, stacks_dir)
    report = RehearsalReport(stack)

    def record(check: Check) -> None:
        report.checks.append(progress.check(check))

    running: contextlib.AbstractContextManager[Emulator]
    if emulator is None:
        account = stand_in_account(context.settings)
        progress.step(
            f"starting the AWS emulator for {stack} ({context.settings.region}, account {account})"
        )
        running = Emulator(region=context.settings.region, account_id=account)
    else:
        running = contextlib.nullcontext(emulator)
    with running as aws:
        progress.step(f"emulator on {aws.endpoint}; deploying the program into it")
        creator = AwsCreator(aws)
        try:
            try:
                run = run_program(
                    stack,
                    roadmap=roadmap,
                    config=program_config,
                    backend=lambda settings: EmulatorBackend(creator, settings),
                    stacks_dir=stacks_dir,
                )
            finally:
                creator.unstage()
        except UsageError:
            raise
        except Exception as err:
            # The mock runtime may rewrap what a creator raised; the creator's own error
            # names the resource type, so prefer it. Any other exception is the program's
            # (a component bug, a bad input): it fails the deploy check with its message.
            cause: BaseException = creator.errors[0] if creator.errors else err
            report.resources_created = len(creator.created)
            if isinstance(cause, ProgramError | UnsupportedResource):
                detail = str(cause)
            else:
                detail = f"the program raised {type(cause).__name__}: {cause}"
            record(Check("deploy", False, detail))
            return report
        report.resources_created = len(creator.created)
        record(
            Check(
                "deploy",
                True,
                f"{report.resources_created} resources created in the emulator "
                f"({len(context.roadmap.active(context.environment))} integrations at phase >= 2)",
            )
        )
        deployment = Deployment(
            aws,
            creator,
            run,
            Inventory.from_created(
                creator.created, [i.name for i in context.roadmap.active(context.environment)]
            ),
            context.settings,
            context.roadmap,
            progress,
        )
        for name, smoke in _smoke_checks():
            progress.step(name)
            try:
                for check in smoke(deployment):
                    record(check)
            except Exception as err:  # one broken check must not hide the others' results
                record(Check(name, False, f"could not run: {type(err).__name__}: {err}"))
        if keep is not None:
            keep(aws, report)
    if emulator is None:
        progress.step("emulator stopped")
    return report


def _smoke_checks() -> list[tuple[str, SmokeCheck]]:
    from provisioner.rehearsal import access, limits
    from provisioner.rehearsal.checks import (
        alarms,
        audit,
        dlq_replay,
        hardening,
        manual,
        rotation,
        sync_flow,
    )

    return [
        ("policy pack over the deployed resources", _policy_pack),
        ("every planned resource exists in the emulator", _resources_exist),
        (
            "limits a real account enforces and the emulator does not",
            lambda d: limits.account_limits(d.run.resources, account=d.aws.account_id),
        ),
        ("pausing the emulator's own SQS pollers", _pause_pollers),
        (
            "access matrix: SQS, live with each role's STS credentials and evaluated",
            lambda d: access.sqs_matrix(d.aws, d.inventory),
        ),
        (
            "access matrix: Secrets Manager, KMS and DynamoDB policies evaluated",
            lambda d: access.evaluated_matrix(d.aws, d.inventory),
        ),
        (
            "keys and policies of each log group, function, topic and secret",
            lambda d: hardening.hardening_checks(d.aws, d.inventory),
        ),
        (
            "the audit trail: configuration, bucket and what it records",
            lambda d: audit.audit_trail_checks(d.aws, d.settings, d.creator.created),
        ),
        ("end-to-end records through each integration's connectors", sync_flow.end_to_end),
        ("poison records to the DLQ and replay", dlq_replay.poison_and_replay),
        ("rotating every credential", rotation.rotations),
        ("rotating by hand what only a person can", manual.manual_rotations),
        ("alarms the phase requires", alarms.alarms),
    ]


def _policy_pack(d: Deployment) -> list[Check]:
    from provisioner.policy_harness import check_resources

    result = check_resources(
        [r.to_json() for r in d.run.resources], stack=d.run.stack, config=d.run.config
    )
    mandatory = result.mandatory
    advisory = [v for v in result.violations if v.level != "mandatory"]
    shown = "; ".join(
        f"{v.policy}: {v.message} ({v.urn.rsplit('::', 1)[-1]})" for v in mandatory[:5]
    )
    detail = (
        f"{len(result.policies)} policies over {result.resources_analyzed} resources: "
        f"{len(mandatory)} mandatory and {len(advisory)} advisory violation(s)"
    )
    return [Check("policy-pack", not mandatory, f"{detail}{': ' + shown if shown else ''}")]


def _resources_exist(d: Deployment) -> list[Check]:
    planned = [r for r in d.run.resources if r.custom]
    created = {(r.type, r.name): r for r in d.creator.created}
    missing = [
        f"{r.type} {r.name} was never created" for r in planned if (r.type, r.name) not in created
    ]
    found = [created[(r.type, r.name)] for r in planned if (r.type, r.name) in created]
    missing += [f"{r.type} {r.name} ({r.id}): {why}" for r, why in d.creator.absent(found)]
    if missing:
        shown = "; ".join(missing[:5])
        return [
            Check(
                "resources-exist",
                False,
                f"{len(missing)} of {len(planned)} planned resources missing: {shown}",
            )
        ]
    return [Check("resources-exist", True, f"all {len(planned)} planned resources found")]


def _pause_pollers(d: Deployment) -> list[Check]:
    """Disable moto's built-in SQS->Lambda poller; the rehearsal delivers batches itself.

    moto cannot run function code without Docker, and its stand-in "succeeds" without running
    anything, deleting every message sent to a queue with a trigger.
    """
    lam = d.aws.admin("lambda")
    for resource in d.creator.created:
        if resource.type == LAMBDA_EVENT_SOURCE_MAPPING:
            lam.update_event_source_mapping(UUID=resource.id, Enabled=False)
    return []
