"""The automated exit criteria: the policy pack over the plan, the rehearsal below.

Each takes a `Proposal` (the step, the roadmap before and after it) and returns one
`Criterion`; one that cannot run fails with the reason and never passes silently.

Usage::

    promote(path, "quote-to-order", "prod", checks=AUTOMATED_CHECKS)
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.promotion.files import after_file, safe_load
from provisioner.promotion.model import AutomatedCheck, Criterion, Proposal, roadmap_option
from roadmap.io import parse_roadmap
from roadmap.problems import RoadmapError

__all__ = ["AUTOMATED_CHECKS", "policy_pack_passes", "rehearsal_passes"]


def _after_invalid(proposal: Proposal, cid: str) -> Criterion | None:
    """A failed criterion when the raised roadmap breaks a rule (the program would refuse it)."""
    try:
        parse_roadmap(safe_load(proposal.after_text, "roadmap"), source="roadmap")
    except RoadmapError as err:
        return Criterion(
            cid,
            "automated",
            "failed",
            "not run: the roadmap with the raised phase is invalid ("
            + "; ".join(p.render(proposal.roadmap_path.name) for p in err.problems[:3])
            + ")",
            "resolve the failed order or roadmap criterion first, then rerun",
        )
    return None


def policy_pack_passes(proposal: Proposal) -> Criterion:
    """The policy pack reports no mandatory violation for the integration at its new phase.

    Plans ENV with the raised roadmap (`provisioner.program.run_program`, the real program
    under mocks) and runs the pack over every resource as the engine does
    (`provisioner.policy_harness.check_resources`), so stack-level policies see the whole
    stack; only violations on the integration's own resources (or stack-level ones naming
    it) count against this promotion.
    """
    cid = "policy-pack"
    # Imported here: the program and the harness pull in the Pulumi SDK and gRPC, which
    # every other command (and `--help`) can do without.
    from provisioner import policy_harness as harness
    from provisioner import program
    from provisioner.records import ProgramError

    invalid = _after_invalid(proposal, cid)
    if invalid is not None:
        return invalid
    step = proposal.step
    with after_file(proposal.after_text, proposal.roadmap_path.name) as after:
        try:
            run = program.run_program(step.environment, roadmap=after)
        except ProgramError as err:
            return Criterion(
                cid,
                "automated",
                "failed",
                f"the program failed to plan {step.environment} at the new phase: {err}",
                f"run `provisioner plan --stack {step.environment}"
                f"{roadmap_option(proposal.roadmap_path)}` on the edited roadmap and fix what "
                "it reports",
            )
        result = harness.check_resources(
            [r.to_json() for r in run.resources], stack=step.environment, config=run.config
        )
    own = {r.urn for r in run.resources if run.integration_of(r) == step.integration}
    mine = [
        v
        for v in result.violations
        if v.urn in own or (not v.urn and step.integration in v.message)
    ]
    mandatory = [v for v in mine if v.level == "mandatory"]
    others = len(result.violations) - len(mine)
    summary = (
        f"{len(result.policies)} policies over {result.resources_analyzed} resources of "
        f"{step.environment} at phase {step.target}: {len(mandatory)} mandatory and "
        f"{len(mine) - len(mandatory)} advisory violation(s) for {step.integration}"
        + (f" ({others} for other integrations, not counted)" if others else "")
    )
    if not mandatory:
        return Criterion(cid, "automated", "passed", summary)
    shown = "; ".join(f"{v.policy}: {v.message}" for v in mandatory[:5])
    return Criterion(
        cid,
        "automated",
        "failed",
        f"{summary}: {shown}",
        f"fix the violations (see `provisioner check --stack {step.environment}"
        f"{roadmap_option(proposal.roadmap_path)}`) so phase "
        f"{step.target} provisions what the policy pack requires, then rerun",
    )


_REHEARSALS: dict[str, Any] = {}


def _rehearsal_key(proposal: Proposal, where: str) -> str:
    """What the rehearsal of `where` depends on: the roadmap with only `where`'s phases.

    Promotions in staging (or prod) of different integrations all rehearse dev (or
    staging) as it is, so one rehearsal serves them all.
    """
    data = proposal.after.model_dump(mode="json")
    for integration in data["integrations"]:
        integration["phases"] = integration["phases"][where]
    return where + json.dumps(data, sort_keys=True, default=str)


def rehearsal_passes(proposal: Proposal) -> Criterion:
    """The rehearsal's checks for the integration pass in the environment below.

    dev has no environment below; there the rehearsal runs dev itself at the new phase, so
    a dev promotion is still proven against the emulator. Checks named for another
    integration (`alarms:<name>`, `access-matrix:sqs:<name>`) do not count; stack-wide ones
    (deploy, policy pack) do.
    """
    cid = "rehearsal"
    step = proposal.step
    where = step.below or step.environment
    # Imported here for the same reason: the rehearsal brings moto and the mock runtime.
    from provisioner.rehearsal import Progress as progress
    from provisioner.rehearsal import rehearse

    invalid = _after_invalid(proposal, cid)
    if invalid is not None:
        return invalid
    key = _rehearsal_key(proposal, where)
    report = _REHEARSALS.get(key)
    if report is None:
        with after_file(proposal.after_text, proposal.roadmap_path.name) as after:
            report = rehearse(where, roadmap=after, progress=progress(quiet=True))
        _REHEARSALS.clear()  # keep one: `status --with-checks` asks for the same one in a row
        _REHEARSALS[key] = report
    names = {i.name for i in proposal.before.integrations}

    def owner(check_name: str) -> str | None:
        last = check_name.rsplit(":", 1)[-1]
        return last if last in names else None

    counted = [c for c in report.checks if owner(c.name) in (None, step.integration)]
    failed = [c for c in counted if not c.ok]
    summary = (
        f"{len(counted) - len(failed)} of {len(counted)} rehearsal checks passed in {where}"
        + ("" if step.below else f" at phase {step.target}")
    )
    if counted and not failed:
        return Criterion(cid, "automated", "passed", summary)
    shown = "; ".join(f"{c.name}: {c.detail}" for c in failed[:5]) or "no checks ran"
    return Criterion(
        cid,
        "automated",
        "failed",
        f"{summary}: {shown}",
        f"run `provisioner rehearse --stack {where}{roadmap_option(proposal.roadmap_path)}`, "
        "fix what fails, then rerun",
    )


AUTOMATED_CHECKS: tuple[AutomatedCheck, ...] = (policy_pack_passes, rehearsal_passes)
