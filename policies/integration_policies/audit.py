"""The stack's audit trail: present where the stack creates one, tamper-evident, encrypted,
delivered to a private TLS-only bucket, and recording every integration's functions and
secrets.

Stack policies, since each judges the trail against other resources (its key, its
bucket's policy and settings, the stack's functions):

- `audit-trail-covers-stack`: a stack whose `auditTrail` setting is `create` (the default)
  has a trail; each trail records all management events (Secrets Manager's reads and
  changes are management events) and the invocations of every function of the stack;
- `cloudtrail-hardened`: log-file validation on, encrypted with a customer-managed key of
  the stack that lets CloudTrail encrypt only for this trail;
- `audit-bucket-private`: the trail's bucket blocks all public access, refuses plain HTTP,
  admits only CloudTrail for this trail, is versioned, encrypted and expires its logs.

A stack that names an organisation trail by ARN creates none here: the rehearsal checks
that trail (the plan cannot see it).
"""

from __future__ import annotations

import fnmatch

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    CLOUDTRAIL_TRAIL,
    KMS_KEY,
    LAMBDA_FUNCTION,
    S3_BUCKET,
    S3_BUCKET_LIFECYCLE_CONFIGURATION,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
    S3_BUCKET_VERSIONING,
    SECRETS_MANAGER_SECRET,
)

from ._common import (
    as_list,
    condition_values,
    contains_unknown,
    parse_document,
    stack_setting,
    statements,
)
from ._declare import stack_policy
from ._stack import Res, StackView
from .trail_coverage import (
    CLOUDTRAIL,
    bucket_policy_problems,
    records_all_management_events,
    records_invocations_of,
    selector_fields,
)

__all__ = [
    "AUDIT_BUCKET_PRIVATE",
    "AUDIT_POLICIES",
    "AUDIT_TRAIL_COVERS_STACK",
    "CLOUDTRAIL_HARDENED",
    "TYPES",
    "is_stack_resource",
]


# Types these policies rule on besides those other modules read (closed world).
TYPES = frozenset(
    {
        CLOUDTRAIL_TRAIL,
        S3_BUCKET,
        S3_BUCKET_POLICY,
        S3_BUCKET_PUBLIC_ACCESS_BLOCK,
        S3_BUCKET_VERSIONING,
        S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
        S3_BUCKET_LIFECYCLE_CONFIGURATION,
    }
)

# The logical names of the stack's own resources (contract/naming.py STACK_SCOPE).
STACK_AUDIT = "stack-audit"
_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def is_stack_resource(name: str) -> bool:
    """A resource of the stack's audit trail, not of an integration (by its logical name).

    The roadmap refuses integrations whose names would collide with these.
    """
    return name == STACK_AUDIT or name.startswith(f"{STACK_AUDIT}-")


def _trail_arn(trail: Res) -> str | None:
    arn = trail.get("arn")
    return arn if isinstance(arn, str) and arn else None


# ------------------------------------------------------------------ audit-trail-covers-stack


def _selectors(trail: Res) -> list[dict[str, list[str]]]:
    return selector_fields(trail.get("advancedEventSelectors"))


def audit_trail_covers_stack(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack's trail records every function's invocations and every secret's use.

    Rationale: the account's default event history keeps 90 days of management events and
    no Lambda invoke events at all (CloudTrail user guide, "Working with CloudTrail event
    history"; "Logging data events"); answering who invoked a function or read a secret
    needs a trail with Lambda data events (CIS AWS Foundations Benchmark 3.x, FSBP
    CloudTrail.1's management events). Secrets Manager's reads and changes are management
    events (Secrets Manager user guide, "Log AWS Secrets Manager events with AWS
    CloudTrail"), so a trail covers secrets only when it records all management events.

    Config: none; the stack setting `auditTrail` decides whether the stack creates a trail
    (`create`, the default) or relies on an organisation trail (an ARN: the rehearsal checks
    it) or none (`none`, refused in prod by the stack settings).
    """
    view = StackView.shared(args, report)
    trails = list(view.of_type(CLOUDTRAIL_TRAIL))
    functions = list(view.of_type(LAMBDA_FUNCTION))
    secrets = list(view.of_type(SECRETS_MANAGER_SECRET))
    setting = stack_setting("auditTrail") or "create"
    if setting == "create" and not trails and (functions or secrets):
        report(
            f"the stack creates {len(functions)} function(s) and {len(secrets)} secret(s) but "
            "no audit trail. Fix: keep auditTrail `create` and build components/audit.py's "
            "AuditTrail, or name the organisation trail's ARN in auditTrail.",
            None,
        )
    for trail in trails:
        selectors = _selectors(trail)
        if secrets and not records_all_management_events(selectors):
            report(
                f"trail {trail.name} does not record all management events, so reads and "
                f"changes of the stack's {len(secrets)} secret(s) go unrecorded. Fix: add an "
                "advanced event selector with only eventCategory = Management.",
                trail.urn,
            )
        for function in functions:
            arn, name = function.get("arn"), function.get("name")
            if not isinstance(name, str) or contains_unknown(trail.props):
                continue  # unknown until created: cannot judge
            if not records_invocations_of(selectors, arn if isinstance(arn, str) else None, name):
                report(
                    f"trail {trail.name} does not record invocations of {function.name} "
                    f"({name}). Fix: add its ARN prefix to the Lambda data event selector.",
                    trail.urn,
                )


AUDIT_TRAIL_COVERS_STACK = stack_policy(
    "audit-trail-covers-stack",
    "The stack's audit trail records every function's invocations and every secret's use.",
    audit_trail_covers_stack,
)


# ------------------------------------------------------------------ cloudtrail-hardened


# KMS actions that use a key's material (KMS developer guide, "Cryptographic operations").
_CRYPTO = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
           "kms:ReEncryptTo", "kms:GenerateDataKeyWithoutPlaintext")  # fmt: skip
_TRAIL_CONTEXT = "kms:EncryptionContext:aws:cloudtrail:arn"


def _key_grant_problems(key: Res, trail_arn: str | None) -> list[str]:
    """Grants of the audit key beyond CloudTrail's own, its administration and the reading
    of this trail's logs (the decryption bound to the trail's encryption context)."""
    document = parse_document(key.props.get("policy"))
    problems = []
    for i, statement in enumerate(statements(document) if isinstance(document, dict) else []):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if services == [CLOUDTRAIL]:
            continue  # judged by _lets_cloudtrail_encrypt_only
        actions = [str(a) for a in as_list(statement.get("Action"))]
        crypto = any(fnmatch.fnmatchcase(c, a) for a in actions for c in _CRYPTO)
        contexts = condition_values(statement, _TRAIL_CONTEXT)
        if crypto and (not contexts or any(c != trail_arn for c in contexts)):
            problems.append(
                f"Statement[{i}] lets {principal} use the key beyond reading this trail's "
                "logs (no kms:EncryptionContext:aws:cloudtrail:arn bound to the trail)"
            )
    return problems


def _lets_cloudtrail_encrypt_only(key: Res, trail_arn: str | None) -> bool:
    document = parse_document(key.props.get("policy"))
    if not isinstance(document, dict):
        return False
    grants = [
        s
        for s in statements(document)
        if s.get("Effect") == "Allow"
        and CLOUDTRAIL in as_list((s.get("Principal") or {}).get("Service"))
    ]
    if not grants:
        return False
    for statement in grants:
        sources = condition_values(statement, "aws:SourceArn")
        if not sources or (trail_arn and trail_arn not in sources):
            return False
    return True


def cloudtrail_hardened(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each trail validates its log files and is encrypted with a customer-managed key.

    Rationale: FSBP CloudTrail.4 / CIS 3.2 (log file validation: a digest file per hour
    proves no log was changed or deleted) and FSBP CloudTrail.2 / CIS 3.7 (SSE-KMS with a
    customer-managed key). CloudTrail may use the key only for this trail, bound by
    aws:SourceArn (CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail"),
    so no other trail or service can write logs under it.

    Config: none.
    """
    view = StackView.shared(args, report)
    for trail in view.of_type(CLOUDTRAIL_TRAIL):
        if trail.get("enableLogFileValidation") is not True:
            report(
                f"trail {trail.name} does not validate its log files. Fix: set "
                "enable_log_file_validation=True.",
                trail.urn,
            )
        key_ref = trail.get("kmsKeyId")
        key = view.find(key_ref, KMS_KEY)
        if key is None:
            report(
                f"trail {trail.name} is encrypted with {key_ref or 'no KMS key'}, not with a "
                "customer-managed key of this stack. Fix: pass the stack's audit key's ARN "
                "as kms_key_id.",
                trail.urn,
            )
        elif not _lets_cloudtrail_encrypt_only(key, _trail_arn(trail)):
            report(
                f"trail {trail.name}'s key {key.name} does not let CloudTrail encrypt bound "
                "to this trail (aws:SourceArn). Fix: grant cloudtrail.amazonaws.com "
                "kms:GenerateDataKey with aws:SourceArn = the trail's ARN.",
                trail.urn,
            )
        if key is None:
            continue
        for problem in _key_grant_problems(key, _trail_arn(trail)):
            report(
                f"trail {trail.name}'s key {key.name}: {problem}. Fix: keep the account to "
                "key administration, and decryption to the trail's encryption context.",
                key.urn,
            )


CLOUDTRAIL_HARDENED = stack_policy(
    "cloudtrail-hardened",
    "Trails validate their log files and are encrypted with the stack's own key.",
    cloudtrail_hardened,
)


# ------------------------------------------------------------------ audit-bucket-private


def _configuring(view: StackView, type_: str, bucket: Res) -> list[Res]:
    return [r for r in view.of_type(type_) if view.find(r.get("bucket"), S3_BUCKET) is bucket]


def audit_bucket_private(args: StackValidationArgs, report: ReportViolation) -> None:
    """A trail's bucket is private, TLS-only, versioned, encrypted and expires its logs.

    Rationale: FSBP S3.1/S3.8 and CIS 3.3 (the CloudTrail bucket is not publicly
    accessible: all four public access blocks on), S3.5 (requests must use TLS: a Deny on
    aws:SecureTransport = false), S3.14 (versioning), S3.13 (lifecycle), S3.4/S3.17
    (default encryption with KMS); the policy admits only CloudTrail, bound to this trail
    (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail").

    Config: none.
    """
    view = StackView.shared(args, report)
    for trail in view.of_type(CLOUDTRAIL_TRAIL):
        bucket = view.find(trail.get("s3BucketName"), S3_BUCKET)
        if bucket is None:
            if trail.get("s3BucketName") is not None:
                report(
                    f"trail {trail.name} delivers to {trail.get('s3BucketName')}, a bucket "
                    "this stack does not create and so cannot vouch for. Fix: deliver to "
                    "the stack's audit bucket, or name an organisation trail in auditTrail.",
                    trail.urn,
                )
            continue
        problems: list[str] = []
        blocks = _configuring(view, S3_BUCKET_PUBLIC_ACCESS_BLOCK, bucket)
        if not blocks or any(b.get(flag) is not True for b in blocks for flag in _BLOCKS):
            problems.append(f"does not turn on all public access blocks ({', '.join(_BLOCKS)})")
        policies = _configuring(view, S3_BUCKET_POLICY, bucket)
        document = parse_document(policies[0].props.get("policy")) if policies else None
        problems += list(bucket_policy_problems(document))
        versioning = _configuring(view, S3_BUCKET_VERSIONING, bucket)
        if not any(
            (v.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versioning
        ):
            problems.append("is not versioned")
        encryption = _configuring(view, S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION, bucket)
        algorithms = [
            ((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            for e in encryption
            for rule in as_list(e.get("rules"))
        ]
        if not algorithms or any(a not in ("aws:kms", "aws:kms:dsse") for a in algorithms):
            problems.append("is not encrypted by default with a KMS key")
        lifecycle = _configuring(view, S3_BUCKET_LIFECYCLE_CONFIGURATION, bucket)
        rules = [r for lc in lifecycle for r in as_list(lc.get("rules")) if isinstance(r, dict)]
        if not any(r.get("status") == "Enabled" and r.get("expiration") for r in rules):
            problems.append("never expires its logs (no enabled lifecycle rule with an expiration)")
        for problem in problems:
            report(
                f"trail {trail.name}'s bucket {bucket.name} {problem}. Fix: build the bucket "
                "with components/audit.py's AuditTrail.",
                bucket.urn,
            )


AUDIT_BUCKET_PRIVATE = stack_policy(
    "audit-bucket-private",
    "A trail's bucket is private, TLS-only, versioned, encrypted and expires its logs.",
    audit_bucket_private,
)

AUDIT_POLICIES = [AUDIT_TRAIL_COVERS_STACK, CLOUDTRAIL_HARDENED, AUDIT_BUCKET_PRIVATE]
