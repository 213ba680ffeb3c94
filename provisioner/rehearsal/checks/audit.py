"""The stack's audit trail, read back from the emulator: check ``audit-trail``.

The trail the stack's `auditTrail` setting names (its own, or an organisation trail by
ARN) must exist, be logging, validate its log files, be encrypted with a customer-managed
key, and record every management event (Secrets Manager's reads and changes) and the
invocations of every deployed function (`describe_trails`, `get_trail_status`,
`get_event_selectors`). For the stack's own trail, its bucket must also block all public
access, admit only CloudTrail over TLS, be versioned, KMS-encrypted and expire its logs.
moto stores these settings without acting on them (it delivers no log files), so the check
judges the stored configuration, with the pack's own definitions (`trail_coverage`).

Usage::

    checks = audit_trail_checks(aws, settings, created)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from components.audit import audit_names
from contract.aws_types import LAMBDA_FUNCTION, SECRETS_MANAGER_SECRET
from provisioner.pack_modules import pack_module
from provisioner.rehearsal.backend import CreatedResource
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.result import Check
from roadmap.settings import AUDIT_TRAIL_NONE, StackSettings

__all__ = ["CHECK", "audit_trail_checks"]

CHECK = "audit-trail"
_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def audit_trail_checks(
    aws: Emulator, settings: StackSettings, created: Iterable[CreatedResource]
) -> list[Check]:
    """One `audit-trail` check, or none when the stack records nothing (`auditTrail: none`)."""
    if settings.audit_trail == AUDIT_TRAIL_NONE:
        return []
    created = list(created)
    functions = [r for r in created if r.type == LAMBDA_FUNCTION]
    secrets = [r for r in created if r.type == SECRETS_MANAGER_SECRET]
    own = settings.existing_trail_arn is None
    arn = settings.existing_trail_arn or audit_names(settings, aws.account_id).trail_arn
    problems = _trail_problems(aws, arn, functions, secrets, own=own)
    whose = "the stack's own trail" if own else "organisation trail"
    if problems:
        return [Check(CHECK, False, f"{whose} {arn}: " + "; ".join(problems[:6]))]
    return [
        Check(
            CHECK,
            True,
            f"{whose} {arn} is logging, validates its log files, is encrypted with a "
            f"customer-managed key and records all management events ({len(secrets)} "
            f"secret(s)) and the invocations of all {len(functions)} function(s)"
            + (
                "; its bucket is private, TLS-only, versioned, encrypted and expiring"
                if own
                else ""
            ),
        )
    ]


def _trail_problems(
    aws: Emulator,
    arn: str,
    functions: list[CreatedResource],
    secrets: list[CreatedResource],
    *,
    own: bool,
) -> list[str]:
    cloudtrail, kms = aws.admin("cloudtrail"), aws.admin("kms")
    coverage = pack_module("trail_coverage")
    found = cloudtrail.describe_trails(trailNameList=[arn], includeShadowTrails=True)
    trail = next((t for t in found["trailList"] if t.get("TrailARN") == arn), None)
    if trail is None:
        return ["no such trail; create it, or correct auditTrail in the stack file"]
    problems: list[str] = []
    if not cloudtrail.get_trail_status(Name=arn).get("IsLogging"):
        problems.append("is not logging")
    if not trail.get("LogFileValidationEnabled"):
        problems.append("does not validate its log files")
    key_id = trail.get("KmsKeyId")
    if not key_id:
        problems.append("is not encrypted with a KMS key")
    else:
        try:
            manager = kms.describe_key(KeyId=key_id)["KeyMetadata"].get("KeyManager")
        except ClientError as err:
            manager = f"unreadable ({err.response['Error']['Code']})"
        if manager != "CUSTOMER":
            problems.append(f"is encrypted with key {key_id}, managed by {manager}, not a customer")
    answer = cloudtrail.get_event_selectors(TrailName=arn)
    selectors = coverage.selector_fields(answer.get("AdvancedEventSelectors"))
    if secrets and not coverage.records_all_management_events(selectors):
        problems.append(
            f"does not record all management events, so the {len(secrets)} secret(s)' "
            "reads and changes go unrecorded"
        )
    missed = [
        f.id
        for f in functions
        if not coverage.records_invocations_of(selectors, str(f.outputs.get("arn")), f.id)
    ]
    if missed:
        problems.append(f"does not record invocations of {', '.join(missed[:4])}")
    if own:
        problems += _bucket_problems(aws, str(trail.get("S3BucketName")), coverage)
    return problems


def _bucket_problems(aws: Emulator, bucket: str, coverage: Any) -> list[str]:
    s3 = aws.admin("s3")

    def read(call: str, **params: Any) -> Any:
        try:
            return getattr(s3, call)(Bucket=bucket, **params)
        except ClientError:
            return None

    problems: list[str] = []
    block = (read("get_public_access_block") or {}).get("PublicAccessBlockConfiguration", {})
    if not all(block.get(flag) for flag in _BLOCKS):
        problems.append(f"bucket {bucket} does not block all public access")
    policy = read("get_bucket_policy")
    document = json.loads(policy["Policy"]) if policy else None
    problems += [f"bucket {bucket}'s policy {p}" for p in coverage.bucket_policy_problems(document)]
    if (read("get_bucket_versioning") or {}).get("Status") != "Enabled":
        problems.append(f"bucket {bucket} is not versioned")
    rules = (read("get_bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}
    algorithms = [
        r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        for r in rules.get("Rules", [])
    ]
    if not algorithms or any(a not in ("aws:kms", "aws:kms:dsse") for a in algorithms):
        problems.append(f"bucket {bucket} is not encrypted by default with a KMS key")
    lifecycle = (read("get_bucket_lifecycle_configuration") or {}).get("Rules", [])
    if not any(r.get("Status") == "Enabled" and r.get("Expiration") for r in lifecycle):
        problems.append(f"bucket {bucket} never expires its logs")
    return problems
