"""Find an integration's resources in a deployed stack (real AWS or an emulator endpoint).

Physical names follow docs/contracts.md (`{prefix}-{integration}-{role}`), so a
command can address a deployment from the roadmap and stack settings alone, without
reading Pulumi state.

Every command that touches a deployed stack gets its AWS clients from ``connect`` (through
``DeployedIntegration``): one place that honours ``--endpoint-url`` / ``AWS_ENDPOINT_URL``,
refuses a malformed endpoint, and asks STS who the caller is before anything else, so a
run meant for an emulator or another account never acts on the wrong account.

Usage::

    target = DeployedIntegration.resolve(context, "quote-to-order", min_phase=3)
    sqs = target.client("sqs")
    sqs.get_queue_url(QueueName=target.queue_name("queue"))
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contract.naming import physical_name
from provisioner.context import StackContext
from provisioner.errors import UsageError
from roadmap.integrations import Integration
from roadmap.settings import StackSettings

__all__ = [
    "DeployedIntegration",
    "EndpointSession",
    "add_deployment_arguments",
    "add_target_arguments",
    "connect",
    "endpoint_url",
]

# The variable botocore itself reads for a global endpoint (AWS SDKs and Tools Reference
# Guide, "Service-specific endpoints"); read here so it is validated and reported too.
ENDPOINT_ENV = "AWS_ENDPOINT_URL"


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
        type=_endpoint_argument,
        metavar="URL",
        help=(
            f"AWS endpoint to talk to instead of AWS, e.g. an emulator on 127.0.0.1 "
            f"(default: ${ENDPOINT_ENV} when set)"
        ),
    )


def endpoint_url(value: str, *, source: str) -> str:
    """``value`` when it is an http(s) URL with a host; UsageError naming ``source`` otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{source} {value!r} is not an endpoint URL: expected http(s)://HOST[:PORT], "
            "e.g. http://127.0.0.1:5000 (what `provisioner rehearse --keep` prints)"
        )
    try:
        parts.port  # noqa: B018  (raises ValueError for a port outside 0-65535)
    except ValueError as err:
        raise UsageError(f"{source} {value!r}: {err}") from None
    return value.strip()


def _endpoint_argument(value: str) -> str:
    try:
        return endpoint_url(value, source="--endpoint-url")
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


@dataclass(frozen=True)
class EndpointSession:
    """A boto3 session whose clients all talk to one endpoint (AWS itself when None)."""

    session: Any
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)


def connect(
    settings: StackSettings,
    *,
    stack: str | None = None,
    profile: str | None = None,
    endpoint: str | None = None,
) -> EndpointSession:
    """A session for the stack's region and endpoint whose caller is one of its accounts.

    ``endpoint`` defaults to ``$AWS_ENDPOINT_URL``. STS GetCallerIdentity is the first call
    (it needs no permission: IAM User Guide, "GetCallerIdentity"); any other account than
    the stack's allowed ones is refused before a single resource is touched.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if endpoint is None and os.environ.get(ENDPOINT_ENV):
        endpoint = endpoint_url(os.environ[ENDPOINT_ENV], source=f"${ENDPOINT_ENV}")
    where = endpoint or f"AWS ({settings.region})"
    try:
        session = EndpointSession(
            boto3.Session(profile_name=profile, region_name=settings.region), endpoint
        )
        account = str(session.client("sts").get_caller_identity()["Account"])
    except NoCredentialsError:
        raise UsageError(
            f"no AWS credentials to call {where}: set AWS_PROFILE or pass --profile "
            "(for an emulator, export what `provisioner rehearse --keep` prints)"
        ) from None
    except ClientError as err:
        error = err.response.get("Error", {})
        raise UsageError(
            f"{where} refused the caller's credentials ({error.get('Code')}: "
            f"{error.get('Message')}); check --profile / AWS_PROFILE"
        ) from None
    except BotoCoreError as err:
        raise UsageError(f"cannot reach {where}: {err}") from None
    stack = stack or settings.environment
    allowed = settings.allowed_account_ids
    if account not in allowed:
        listed = ", ".join(allowed) or "no account"
        raise UsageError(
            f"the credentials for {where} belong to account {account}, but stack {stack} may "
            f"only act on {listed} (stacks/Pulumi.{stack}.yaml: aws:allowedAccountIds); "
            "nothing was called. Use --profile for that account, or --endpoint-url for an "
            "emulator of it"
        )
    return session


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
        session = connect(
            context.settings, stack=context.stack, profile=profile, endpoint=endpoint_url
        )
        return cls(context, integration, session)

    def physical(self, role: str) -> str:
        return physical_name(self.context.settings.name_prefix, self.integration.name, role)

    def queue_name(self, role: str) -> str:
        """Queue names carry `.fifo` when the integration needs ordering (SQS naming rule)."""
        return self.physical(role) + (".fifo" if self.integration.fifo else "")

    def client(self, service: str) -> Any:
        return self.session.client(service)
