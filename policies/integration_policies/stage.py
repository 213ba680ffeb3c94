"""A warehouse pipeline's S3 stage: a private, encrypted, expiring bucket, and the one role an
outside warehouse may assume to load it.

Stack policies, since each judges a bucket or role against other resources (its
configuration resources, its integration's key):

- `stage-bucket-hardened`: every bucket of an integration is encrypted with that
  integration's own KMS key (SSE-KMS, bucket key on), blocks all public access, has ACLs off
  (BucketOwnerEnforced), refuses plain HTTP in its policy, expires what it stages and aborts
  incomplete uploads, and notifies only an SQS queue of created objects;
- `external-trust-scoped`: a role may trust a principal that is not an AWS service only when
  it is its integration's storage-integration role (`{integration}-stage-role`), the
  principal is one exact IAM user or role ARN, the action `sts:AssumeRole` alone, and an
  `sts:ExternalId` is required with StringEquals (IAM user guide, "Access to AWS accounts
  owned by third parties"). `least-privilege-reach` leaves exactly such statements to it
  (`external_trust_allowed`), and judges the role's own grants like any other principal's:
  it reaches only its own stage.

The stack's audit bucket belongs to no integration; audit.py judges it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    IAM_ROLE,
    KMS_KEY,
    LAMBDA_FUNCTION,
    S3_BUCKET,
    S3_BUCKET_LIFECYCLE_CONFIGURATION,
    S3_BUCKET_NOTIFICATION,
    S3_BUCKET_OWNERSHIP_CONTROLS,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
)
from contract.naming import STAGE_ROLE

from ._common import as_list, condition_values, label, parse_document, statements
from ._declare import stack_policy
from ._stack import Res, StackView
from .audit import is_stack_resource

__all__ = [
    "EXTERNAL_TRUST_SCOPED",
    "STAGE_BUCKET_HARDENED",
    "STAGE_POLICIES",
    "TYPES",
    "external_trust_allowed",
    "storage_integration_roles",
]


# Types these policies rule on (closed world).
TYPES = frozenset(
    {
        S3_BUCKET,
        S3_BUCKET_POLICY,
        S3_BUCKET_PUBLIC_ACCESS_BLOCK,
        S3_BUCKET_OWNERSHIP_CONTROLS,
        S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
        S3_BUCKET_LIFECYCLE_CONFIGURATION,
        S3_BUCKET_NOTIFICATION,
    }
)
_CONFIGURATIONS = (
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_OWNERSHIP_CONTROLS,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
    S3_BUCKET_LIFECYCLE_CONFIGURATION,
)
_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
STORAGE_INTEGRATION_ROLE = f"{STAGE_ROLE}-role"


# ------------------------------------------------------------------ external-trust-scoped


def _external_trust_problems(statement: dict[str, Any]) -> list[str]:
    """What keeps one trust statement from admitting a single outside principal safely."""
    problems = []
    principal = statement.get("Principal")
    arns = as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    if not isinstance(principal, dict) or set(principal) != {"AWS"} or len(arns) != 1:
        problems.append(f"trusts {principal!r} (expected one IAM user or role ARN)")
    elif not str(arns[0]).startswith("arn:") or "*" in str(arns[0]) or ":root" in str(arns[0]):
        problems.append(f"trusts {arns[0]} (expected one exact IAM user or role ARN)")
    if [str(a) for a in as_list(statement.get("Action"))] != ["sts:AssumeRole"]:
        problems.append(f"allows {statement.get('Action')!r} (expected sts:AssumeRole alone)")
    condition = statement.get("Condition")
    equals = condition.get("StringEquals") if isinstance(condition, dict) else None
    ids = [v for k, v in (equals or {}).items() if k.lower() == "sts:externalid"]
    values = [str(v) for v in as_list(ids[0])] if ids else []
    if len(values) != 1 or not values[0] or any(c in values[0] for c in "*?"):
        shown = condition_values(statement, "sts:ExternalId") or "none"
        problems.append(
            f"requires no exact sts:ExternalId with StringEquals (has {shown}), so any of the "
            "outside party's customers could have it assume the role (confused deputy)"
        )
    return problems


def external_trust_allowed(role: Res, statement: dict[str, Any]) -> bool:
    """The statement is an outside principal's trust `external-trust-scoped` accepts."""
    return (
        role.integration is not None
        and role.role == STORAGE_INTEGRATION_ROLE
        and not _external_trust_problems(statement)
    )


def storage_integration_roles(view: StackView) -> set[str]:
    """URNs of integrations' storage-integration roles: assumed by the warehouse, not run by
    the integration's functions, so not its service account."""
    return {
        r.urn
        for r in view.of_type(IAM_ROLE)
        if r.integration and r.role == STORAGE_INTEGRATION_ROLE and not _used_by_functions(view, r)
    }


def _used_by_functions(view: StackView, role: Res) -> bool:
    return any(view.find(f.get("role"), IAM_ROLE) is role for f in view.of_type(LAMBDA_FUNCTION))


def external_trust_scoped(args: StackValidationArgs, report: ReportViolation) -> None:
    """Only an integration's storage-integration role trusts an outside principal, and only
    with an exact external id.

    Rationale: a warehouse (Snowflake's storage integration) loads the stage by assuming a
    role of this account; IAM user guide, "Access to AWS accounts owned by third parties":
    the third party's principal by exact ARN and an `sts:ExternalId` condition, or any of
    its customers could point it at this role. No other role of the stack trusts anyone but
    the service that runs it (`least-privilege-reach`).
    """
    view = StackView.shared(args, report)
    for role in view.of_type(IAM_ROLE):
        document = parse_document(role.get("assumeRolePolicy"))
        if not isinstance(document, dict):
            continue
        for i, statement in enumerate(statements(document)):
            principal = statement.get("Principal")
            if statement.get("Effect") != "Allow" or not (
                principal == "*" or (isinstance(principal, dict) and "AWS" in principal)
            ):
                continue
            at = f"{role.name}.assumeRolePolicy Statement[{i}]"
            if role.integration is None or role.role != STORAGE_INTEGRATION_ROLE:
                report(
                    f"{label(role.integration)}{at} lets {principal!r} assume {role.name}, which "
                    "is no integration's storage-integration role. Fix: trust only the service "
                    f"that runs the role; an outside warehouse assumes `{{integration}}-"
                    f"{STORAGE_INTEGRATION_ROLE}` alone.",
                    role.urn,
                )
                continue
            for problem in _external_trust_problems(statement):
                report(
                    f"{label(role.integration)}{at} {problem}. Fix: trust the storage "
                    "integration's STORAGE_AWS_IAM_USER_ARN with sts:AssumeRole and StringEquals "
                    '{"sts:ExternalId": "<STORAGE_AWS_EXTERNAL_ID>"} as DESC INTEGRATION '
                    "prints them.",
                    role.urn,
                )


# ------------------------------------------------------------------ stage-bucket-hardened


def _configurations(view: StackView) -> dict[str, dict[str, list[Res]]]:
    """Bucket name -> configuration type -> the resources that configure it."""
    found: dict[str, dict[str, list[Res]]] = defaultdict(lambda: defaultdict(list))
    for res in view.of_type(*_CONFIGURATIONS, S3_BUCKET_NOTIFICATION):
        bucket = res.get("bucket")
        if isinstance(bucket, str):
            found[bucket][res.type].append(res)
    return found


def _encryption_problems(view: StackView, bucket: Res, configs: list[Res]) -> list[str]:
    rules = [r for c in configs for r in as_list(c.get("rules")) if isinstance(r, dict)]
    if not rules:
        return ["has no default encryption (BucketServerSideEncryptionConfiguration)"]
    problems = []
    for rule in rules:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        key = view.find(default.get("kmsMasterKeyId"), KMS_KEY)
        if default.get("sseAlgorithm") != "aws:kms" or key is None:
            problems.append(
                f"is encrypted with {default.get('sseAlgorithm')!r} and key "
                f"{default.get('kmsMasterKeyId')!r}, not a KMS key of this stack"
            )
        elif key.integration != bucket.integration:
            problems.append(f"is encrypted with {key.integration}'s key {key.name}")
        if rule.get("bucketKeyEnabled") is not True:
            problems.append("has the S3 bucket key off (every object would call KMS)")
    return problems


def _tls_denied(configs: list[Res], bucket_name: str) -> bool:
    arn = f"arn:aws:s3:::{bucket_name}"
    for config in configs:
        document = parse_document(config.get("policy"))
        for statement in statements(document) if isinstance(document, dict) else []:
            if (
                statement.get("Effect") == "Deny"
                and statement.get("Principal") in ("*", {"AWS": "*"})
                and [str(v).lower() for v in condition_values(statement, "aws:SecureTransport")]
                == ["false"]
                and "s3:*" in as_list(statement.get("Action"))
                and {arn, f"{arn}/*"} <= set(as_list(statement.get("Resource")))
            ):
                return True
    return False


def _expires(configs: list[Res]) -> bool:
    for config in configs:
        for rule in as_list(config.get("rules")):
            if (
                isinstance(rule, dict)
                and rule.get("status") == "Enabled"
                and (rule.get("expiration") or {}).get("days")
                and (rule.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation")
            ):
                return True
    return False


def _notification_problems(configs: list[Res]) -> list[str]:
    problems = []
    for config in configs:
        for field in ("lambdaFunctions", "topics"):
            if as_list(config.get(field)):
                problems.append(f"notifies {field} (only the warehouse's SQS queue may hear)")
        for queue in as_list(config.get("queues")):
            events = [str(e) for e in as_list((queue or {}).get("events"))]
            if not events or any(not e.startswith("s3:ObjectCreated:") for e in events):
                problems.append(f"sends {events} to {queue.get('queueArn')} (created objects only)")
    return problems


def bucket_problems(view: StackView, bucket: Res, configs: dict[str, list[Res]]) -> list[str]:
    """What keeps one integration's bucket from being private, encrypted and expiring."""
    name = bucket.get("bucket") or next(iter(bucket.ids), bucket.name)
    problems = _encryption_problems(
        view, bucket, configs.get(S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION, [])
    )
    blocks = configs.get(S3_BUCKET_PUBLIC_ACCESS_BLOCK, [])
    if not any(all(b.get(flag) is True for flag in _BLOCKS) for b in blocks):
        problems.append(f"does not block all public access ({', '.join(_BLOCKS)} all true)")
    rules = [
        r.get("objectOwnership")
        for c in configs.get(S3_BUCKET_OWNERSHIP_CONTROLS, [])
        for r in as_list(c.get("rule"))
        if isinstance(r, dict)
    ]
    if "BucketOwnerEnforced" not in rules:
        problems.append("keeps ACLs on (object ownership BucketOwnerEnforced disables them)")
    if not _tls_denied(configs.get(S3_BUCKET_POLICY, []), str(name)):
        problems.append(
            "does not deny s3:* over plain HTTP (aws:SecureTransport false) on the bucket and "
            "its objects in its policy"
        )
    if not _expires(configs.get(S3_BUCKET_LIFECYCLE_CONFIGURATION, [])):
        problems.append(
            "has no enabled lifecycle rule that expires staged files and aborts incomplete "
            "multipart uploads"
        )
    return problems + _notification_problems(configs.get(S3_BUCKET_NOTIFICATION, []))


def stage_bucket_hardened(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every bucket of an integration is private, TLS-only, encrypted with its own key, and
    keeps what it stages only for a while.

    Rationale: S3 user guide, "Blocking public access to your Amazon S3 storage",
    "Controlling ownership of objects and disabling ACLs", "Enforce encryption in
    transit", "Using server-side encryption with AWS KMS keys" and "Managing the lifecycle
    of objects"; AWS Foundational Security Best Practices S3.1/S3.2/S3.5/S3.12/S3.13/S3.17.
    The integration's own key keeps its data inside its isolation boundary
    (`integration-isolation`); files past their load carry no value, only exposure.
    """
    view = StackView.shared(args, report)
    configured = _configurations(view)
    for bucket in view.of_type(S3_BUCKET):
        if is_stack_resource(bucket.name):
            continue
        configs: dict[str, list[Res]] = {}
        for ident in bucket.ids | {bucket.get("bucket")}:
            for rtype, found in configured.get(str(ident), {}).items():
                configs.setdefault(rtype, []).extend(found)
        for problem in bucket_problems(view, bucket, configs):
            report(
                f"{bucket.who} {problem}. Fix: build the bucket "
                "with components.stage.Stage, which sets each of these.",
                bucket.urn,
            )


STAGE_BUCKET_HARDENED = stack_policy(
    "stage-bucket-hardened",
    "An integration's bucket is private, TLS-only, encrypted with its own key and expiring.",
    stage_bucket_hardened,
)
EXTERNAL_TRUST_SCOPED = stack_policy(
    "external-trust-scoped",
    "Only a storage-integration role trusts an outside principal, with an exact external id.",
    external_trust_scoped,
)
STAGE_POLICIES = [STAGE_BUCKET_HARDENED, EXTERNAL_TRUST_SCOPED]
