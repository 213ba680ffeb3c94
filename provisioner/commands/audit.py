"""`provisioner audit`: who read or changed an integration's secrets and touched its functions."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.naming import owner_of_name
from provisioner.deployed import DeployedIntegration, add_target_arguments
from provisioner.errors import EXIT_OK, UsageError

NAME = "audit"
ORDER = 80
HELP = "list who read or changed an integration's secrets and touched its functions"
DESCRIPTION = """\
List the CloudTrail events of INTEGRATION's secrets and functions in the deployed STACK
since --since (an ISO 8601 time such as 2026-11-01T00:00:00Z, or an age such as 7d or
12h; default 7d): who read a secret (GetSecretValue), changed or rotated it, changed a
function or its permissions, when, and from where. Events come from CloudTrail's
LookupEvents, looked up by each resource's name and paged through to the end.

LookupEvents answers management events of the last 90 days only. Function invocations
are data events: the stack's audit trail records them (auditTrail in the stack file) in
its S3 bucket, where they are read with Athena or CloudTrail Lake, not with this command.

Needs AWS credentials for the stack's account (or --endpoint-url for an emulator); the
account is checked first. Exit 0 on success, 2 for usage errors (unknown integration, a
bad --since, a stack without an audit trail).
"""

# CloudTrail event history keeps 90 days (CloudTrail user guide, "Working with CloudTrail
# event history").
HISTORY_DAYS = 90
_AGE = re.compile(r"^(\d{1,4})([dh])$")


def register(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--since",
        default="7d",
        metavar="TIME|AGE",
        help="2026-11-01T00:00:00Z, or an age: 7d, 12h (default 7d; at most 90 days)",
    )


def parse_since(value: str, now: datetime) -> datetime:
    """`--since` as a UTC time; UsageError naming the accepted forms otherwise."""
    age = _AGE.match(value.strip())
    if age:
        amount, unit = int(age.group(1)), age.group(2)
        since = now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    else:
        problem = UsageError(
            f"--since {value!r}: expected an ISO 8601 time with its zone "
            "(2026-11-01T00:00:00Z) or an age such as 7d or 12h"
        )
        try:
            since = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise problem from None
        if since.tzinfo is None:
            raise problem
    if since > now:
        raise UsageError(f"--since {value!r} is in the future")
    if now - since > timedelta(days=HISTORY_DAYS):
        raise UsageError(
            f"--since {value!r} is more than {HISTORY_DAYS} days ago: CloudTrail's event "
            "history keeps 90 days (older events are in the audit trail's bucket)"
        )
    return since.astimezone(UTC)


def resource_names(target: DeployedIntegration) -> list[str]:
    """The integration's deployed secrets and functions, by the names its events carry.

    Listed from the account and kept when their name is the integration's
    (`contract.naming.owner_of_name`), so every function and secret it has is covered.
    """
    prefix = target.context.settings.name_prefix
    everyone = [i.name for i in target.context.roadmap.integrations]
    own = target.integration.name
    names = [
        secret["Name"]
        for page in target.client("secretsmanager").get_paginator("list_secrets").paginate()
        for secret in page.get("SecretList", [])
    ] + [
        function["FunctionName"]
        for page in target.client("lambda").get_paginator("list_functions").paginate()
        for function in page.get("Functions", [])
    ]
    return sorted(n for n in names if owner_of_name(n, prefix, everyone) == own)


def _event(raw: dict[str, Any], resource: str) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    identity = detail.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    time = raw.get("EventTime")
    return {
        "time": time.astimezone(UTC).isoformat() if isinstance(time, datetime) else str(time),
        "event": raw.get("EventName"),
        "source": raw.get("EventSource"),
        "who": issuer or identity.get("arn") or raw.get("Username") or "unknown",
        "resource": resource,
        "read_only": str(raw.get("ReadOnly", detail.get("readOnly", ""))).lower() == "true",
        "from": detail.get("sourceIPAddress"),
        "id": raw.get("EventId"),
    }


def lookup(cloudtrail: Any, names: list[str], since: datetime) -> list[dict[str, Any]]:
    """Every event naming one of `names` since `since`, each once, oldest first."""
    seen: dict[str, dict[str, Any]] = {}
    for name in names:
        pages = cloudtrail.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}],
            StartTime=since,
        )
        for page in pages:
            for raw in page.get("Events", []):
                event = _event(raw, name)
                seen.setdefault(str(event["id"]), event)
    return sorted(seen.values(), key=lambda e: str(e["time"]))


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from components.audit import audit_names
    from components.settings import AUDIT_TRAIL_NONE
    from provisioner.context import load_stack_context

    now = datetime.now(UTC)
    since = parse_since(args.since, now)
    context = load_stack_context(args.stack, args.roadmap)
    settings = context.settings
    if settings.audit_trail == AUDIT_TRAIL_NONE:  # refused before any AWS call
        raise UsageError(
            f"stack {context.stack} has no audit trail (stacks/Pulumi.{context.stack}.yaml: "
            "integration-provisioner:auditTrail: none); set it to `create` or to the "
            "organisation trail's ARN and deploy"
        )
    target = DeployedIntegration.resolve(
        context,
        args.integration,
        min_phase=2,
        profile=args.profile,
        endpoint_url=args.endpoint_url,
    )
    cloudtrail = target.client("cloudtrail")
    account = str(target.client("sts").get_caller_identity()["Account"])
    trail = settings.existing_trail_arn or audit_names(settings, account).trail_arn
    print(
        f"looking up CloudTrail events of {args.integration}'s secrets and functions since "
        f"{since.isoformat()} (trail {trail})",
        file=sys.stderr,
    )
    try:
        if not cloudtrail.describe_trails(trailNameList=[trail]).get("trailList"):
            raise UsageError(
                f"the audit trail {trail} of stack {target.context.stack} does not exist; "
                "deploy the stack (auditTrail: create) or correct the trail's ARN"
            )
        names = resource_names(target)
        print(f"{len(names)} resource(s): {', '.join(names)}", file=sys.stderr)
        events = lookup(cloudtrail, names, since)
    except (ClientError, BotoCoreError) as err:
        raise UsageError(f"CloudTrail refused the lookup: {err}") from None
    if args.json:
        document = {
            "stack": target.context.stack,
            "integration": args.integration,
            "since": since.isoformat(),
            "trail": trail,
            "events": events,
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    if not events:
        print(f"no events of {args.integration}'s secrets or functions since {since.isoformat()}")
    for e in events:
        print(f"{e['time']}  {e['event']:<24} {e['resource']:<48} {e['who']}  {e['from'] or ''}")
    return EXIT_OK
