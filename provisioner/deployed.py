"""Find an integration's resources in a deployed stack (real AWS or an emulator endpoint).

Physical names follow docs/contracts.md (`{prefix}-{integration}-{role}`), so a
command can address a deployment from the roadmap and stack settings alone, without
reading Pulumi state.

Usage::

    target = DeployedIntegration.resolve(context, "quote-to-order", min_phase=3)
    sqs = target.client("sqs")
    sqs.get_queue_url(QueueName=target.queue_name("queue"))
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from components.roadmap import Integration
from contract.naming import physical_name
from provisioner.context import StackContext
from provisioner.errors import UsageError


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """INTEGRATION, --stack, where the deployment is, --roadmap and --json."""
    from provisioner.cli import add_json_argument, add_roadmap_argument, add_stack_argument

    parser.add_argument("integration", metavar="INTEGRATION", help="integration name")
    add_stack_argument(parser)
    add_deployment_arguments(parser)
    add_roadmap_argument(parser)
    add_json_argument(parser)


def add_deployment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", default=None, help="AWS profile to use (default: the standard chain)"
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="AWS endpoint to talk to instead of AWS, e.g. an emulator on 127.0.0.1",
    )


@dataclass(frozen=True)
class EndpointSession:
    """A boto3 session whose clients all talk to one endpoint (AWS itself when None)."""

    session: Any
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        return self.session.client(service)


@dataclass(frozen=True)
class DeployedIntegration:
    """One integration of one stack, and an AWS session pointed at where it runs."""

    context: StackContext
    integration: Integration
    session: EndpointSession

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, min_phase: int) -> DeployedIntegration:
        """The target named by `add_target_arguments`' options."""
        from provisioner.context import load_stack_context

        return cls.resolve(
            load_stack_context(args.stack, args.roadmap),
            args.integration,
            min_phase=min_phase,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
        )

    @classmethod
    def resolve(
        cls,
        context: StackContext,
        name: str,
        *,
        min_phase: int,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> DeployedIntegration:
        try:
            integration = context.roadmap.integration(name)
        except KeyError as err:
            raise UsageError(str(err.args[0])) from None
        phase = integration.phase(context.environment)
        if phase < min_phase:
            raise UsageError(
                f"{name} is at phase {phase} in {context.environment}; this needs phase >= "
                f"{min_phase} (see `provisioner status`), so nothing to act on is deployed there"
            )
        import boto3
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.Session(profile_name=profile, region_name=context.settings.region)
        except BotoCoreError as err:
            raise UsageError(f"cannot open an AWS session: {err}") from None
        return cls(context, integration, EndpointSession(session, endpoint_url))

    def physical(self, role: str) -> str:
        return physical_name(self.context.settings.name_prefix, self.integration.name, role)

    def queue_name(self, role: str) -> str:
        """Queue names carry `.fifo` when the integration needs ordering (SQS naming rule)."""
        return self.physical(role) + (".fifo" if self.integration.fifo else "")

    def client(self, service: str) -> Any:
        return self.session.client(service)
