"""`provisioner audit`: who read or changed an integration's secrets and touched its functions."""

from __future__ import annotations

import argparse
import contextlib
import gzip
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
HELP = "list who read or changed an integration's secrets and invoked or changed its functions"
DESCRIPTION = """\
List the CloudTrail events of INTEGRATION's secrets and functions in the deployed STACK
since --since (an ISO 8601 time such as 2026-11-01T00:00:00Z, or an age such as 7d or
12h; default 7d): who read a secret (GetSecretValue), changed or rotated it, changed a
function or its permissions, when, and from where. Events come from CloudTrail's
LookupEvents, looked up by each resource's name and paged through to the end.

LookupEvents answers management events of the last 90 days only. Function invocations
are data events, which only the trail's log files hold: the command reads them from the
trail's S3 bucket (the log files of each day since --since; gzipped JSON as CloudTrail
delivers them) and lists who invoked each of the integration's functions.

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


def resource_names(target: DeployedIntegration) -> tuple[list[str], list[str]]:
    """The integration's deployed secrets and functions, by the names its events carry.

    Listed from the account and kept when their name is the integration's
    (`contract.naming.owner_of_name`), so every function and secret it has is covered.
    """
    prefix = target.context.settings.name_prefix
    everyone = [i.name for i in target.context.roadmap.integrations]
    own = target.integration.name
    secrets = [
        secret["Name"]
        for page in target.client("secretsmanager").get_paginator("list_secrets").paginate()
        for secret in page.get("SecretList", [])
    ]
    functions = [
        function["FunctionName"]
        for page in target.client("lambda").get_paginator("list_functions").paginate()
        for function in page.get("Functions", [])
    ]
    return (
        sorted(n for n in secrets if owner_of_name(n, prefix, everyone) == own),
        sorted(n for n in functions if owner_of_name(n, prefix, everyone) == own),
    )


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


# CloudTrail delivers log files to {bucket}/{prefix/}AWSLogs/{account}/CloudTrail/{region}/
# YYYY/MM/DD/, an organisation trail under AWSLogs/{organization id}/{account}/... (CloudTrail
# user guide, "Finding your CloudTrail log files").


def _day_prefixes(s3: Any, bucket: str, key_prefix: str, account: str) -> list[str]:
    """`AWSLogs/{account}/` or, for an organisation trail, `AWSLogs/{org}/{account}/`."""
    root = f"{key_prefix.strip('/')}/AWSLogs/" if key_prefix.strip("/") else "AWSLogs/"
    heads = [f"{root}{account}/"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=root, Delimiter="/")
    for common in listed.get("CommonPrefixes", []):
        if common["Prefix"].rstrip("/").rsplit("/", 1)[-1].startswith("o-"):
            heads.append(f"{common['Prefix']}{account}/")
    return heads


def invocations(
    s3: Any,
    trail: dict[str, Any],
    *,
    account: str,
    region: str,
    functions: list[str],
    since: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Lambda Invoke data events of `functions` in the trail's log files since `since`."""
    bucket = trail["S3BucketName"]
    wanted = set(functions)
    found: dict[str, dict[str, Any]] = {}
    for head in _day_prefixes(s3, bucket, trail.get("S3KeyPrefix") or "", account):
        day = since.date()
        while day <= now.date():
            prefix = f"{head}CloudTrail/{region}/{day:%Y/%m/%d}/"
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                    for record in _log_records(body):
                        event = _invocation(record, wanted, since)
                        if event is not None:
                            found.setdefault(str(event["id"]), event)
            day += timedelta(days=1)
    return sorted(found.values(), key=lambda e: str(e["time"]))


def _log_records(body: bytes) -> list[dict[str, Any]]:
    with contextlib.suppress(OSError):
        body = gzip.decompress(body)
    try:
        records = json.loads(body).get("Records", [])
    except (ValueError, AttributeError):
        return []  # not a CloudTrail log file (a digest, a stray object)
    return [r for r in records if isinstance(r, dict)]


def _invocation(record: dict[str, Any], wanted: set[str], since: datetime) -> dict[str, Any] | None:
    if record.get("eventSource") != "lambda.amazonaws.com" or record.get("eventName") != "Invoke":
        return None
    names = {
        str(r.get("ARN", "")).rsplit(":function:", 1)[-1].split(":", 1)[0]
        for r in record.get("resources") or []
    }
    hit = sorted(names & wanted)
    if not hit:
        return None
    try:
        at = datetime.fromisoformat(str(record.get("eventTime", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    if at < since:
        return None
    identity = record.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    return {
        "time": at.astimezone(UTC).isoformat(),
        "event": "Invoke",
        "source": "lambda.amazonaws.com",
        "who": issuer or identity.get("arn") or identity.get("invokedBy") or "unknown",
        "resource": hit[0],
        "read_only": False,
        "from": record.get("sourceIPAddress"),
        "id": record.get("eventID"),
    }


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from components.audit import audit_names
    from provisioner.context import load_stack_context
    from roadmap.settings import AUDIT_TRAIL_NONE

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
        trails = cloudtrail.describe_trails(trailNameList=[trail]).get("trailList")
        if not trails:
            raise UsageError(
                f"the audit trail {trail} of stack {target.context.stack} does not exist; "
                "deploy the stack (auditTrail: create) or correct the trail's ARN"
            )
        secrets, functions = resource_names(target)
        names = secrets + functions
        print(f"{len(names)} resource(s): {', '.join(names)}", file=sys.stderr)
        events = lookup(cloudtrail, names, since)
    except (ClientError, BotoCoreError) as err:
        raise UsageError(f"CloudTrail refused the lookup: {err}") from None
    print(
        f"reading the trail's log files in s3://{trails[0]['S3BucketName']} for invocations",
        file=sys.stderr,
    )
    try:
        invoked = invocations(
            target.client("s3"),
            trails[0],
            account=account,
            region=settings.region,
            functions=functions,
            since=since,
            now=now,
        )
    except (ClientError, BotoCoreError) as err:
        raise UsageError(
            f"cannot read the audit trail's log files in s3://{trails[0]['S3BucketName']}: "
            f"{err}; the caller needs s3:ListBucket, s3:GetObject there and kms:Decrypt on the "
            "trail's key"
        ) from None
    if args.json:
        document = {
            "stack": target.context.stack,
            "integration": args.integration,
            "since": since.isoformat(),
            "trail": trail,
            "events": events,
            "invocations": invoked,
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    if not events:
        print(f"no events of {args.integration}'s secrets or functions since {since.isoformat()}")
    for e in events:
        print(f"{e['time']}  {e['event']:<24} {e['resource']:<48} {e['who']}  {e['from'] or ''}")
    print(
        f"{len(invoked)} invocation(s) of {args.integration}'s functions in the trail's log files"
    )
    for e in invoked:
        print(f"{e['time']}  {e['event']:<24} {e['resource']:<48} {e['who']}  {e['from'] or ''}")
    return EXIT_OK
