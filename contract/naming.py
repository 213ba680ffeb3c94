"""How every AWS resource of an integration is named, and whose a name is.

One definition, many readers: the components build physical names here, the policy pack
and the rehearsal tell from a name which integration it belongs to, and the CLI's
day-two commands find deployed resources by the same rule.

A physical name is `{prefix}-{integration}-{role}`: the stack's name prefix (the stack
name unless the stack file says otherwise), the roadmap's integration name and the
resource's role (`dlq`, `cred-salesforce-jwt`, `alarm-dlq-depth`...). Every name is at
most `NAME_LIMIT` characters; a longer one keeps its `{prefix}-{integration}-` head and
is shortened with a stable hash of the full name, the same on every run.

Usage::

    physical_name("prod", "quote-to-order", "dlq")  # 'prod-quote-to-order-dlq'
    owner_of_name("prod-quote-to-order-dlq", "prod", ["quote", "quote-to-order"])
    # 'quote-to-order'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONFIG_NAMESPACE",
    "HASH_LENGTH",
    "MAX_PREFIX_LENGTH",
    "NAME_LIMIT",
    "NAME_LIMITS",
    "PREFIX_PATTERN",
    "PROJECT",
    "RETIRE_EVENT",
    "ROLE_HEADS",
    "SECRET",
    "SLUG_MAX_LENGTH",
    "SLUG_PATTERN",
    "STACK_SCOPE",
    "STAGE_ROLE",
    "WEBHOOK_INGRESS_ROLE",
    "NameLimit",
    "clashing_names",
    "logical_name",
    "name_limit",
    "names_over_limit",
    "owner_of_name",
    "physical_name",
    "shortened_lengths",
    "stack_physical_name",
    "stage_bucket_name",
]

# The Pulumi project (Pulumi.yaml `name`), which the engine names in every URN; a stack's
# settings are config keys of its namespace (`integration-provisioner:environment`).
PROJECT = "integration-provisioner"
CONFIG_NAMESPACE = PROJECT

# Roadmap names (systems, objects, integrations, credentials): lowercase slugs, usable
# inside every AWS name the components build.
# What a secret value shows as wherever it is not needed in clear: a `secure:` value of a
# stack file read offline (never decrypted), every secret in plans and reports, and so in
# the resources `provisioner check` hands the policy pack.
SECRET = "[secret]"

SLUG_MAX_LENGTH = 32
SLUG_PATTERN = rf"^[a-z][a-z0-9-]{{1,{SLUG_MAX_LENGTH - 2}}}[a-z0-9]$"

# A stack's name prefix: short enough that `{prefix}-{integration}-` always survives
# shortening (16 + 1 + 32 + 1 = 50 <= NAME_LIMIT - HASH_LENGTH - 1).
MAX_PREFIX_LENGTH = 16
PREFIX_PATTERN = rf"^[a-z][a-z0-9-]{{0,{MAX_PREFIX_LENGTH - 2}}}[a-z0-9]$"

# The smallest name limit among the resource types the components name physically:
# IAM role and user names are at most 64 characters (IAM User Guide, "IAM and AWS STS
# quotas": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html),
# as are Lambda function names (Lambda API reference, CreateFunction: FunctionName:
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html) and EventBridge
# rule names (EventBridge API reference, PutRule:
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html). Every
# other type allows more, so one limit keeps every name valid by construction.
NAME_LIMIT = 64
HASH_LENGTH = 8


@dataclass(frozen=True)
class NameLimit:
    """How long one AWS name may be: the input that carries it, its limit, and the source."""

    field: str
    limit: int
    source: str


_IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

# Every name the components give a resource, per Pulumi type (camelCase input), with the
# AWS limit that applies. Names built by `physical_name` stay within `NAME_LIMIT`; the
# longer limits leave room for what is added around them (`.fifo`, `alias/`,
# `/aws/lambda/`). A type that gets a name and is missing here fails the naming test.
NAME_LIMITS: dict[str, tuple[NameLimit, ...]] = {
    "aws:iam/role:Role": (NameLimit("name", 64, _IAM_QUOTAS),),
    "aws:iam/user:User": (NameLimit("name", 64, _IAM_QUOTAS),),
    "aws:iam/rolePolicy:RolePolicy": (NameLimit("name", 128, _IAM_QUOTAS),),
    "aws:iam/userPolicy:UserPolicy": (NameLimit("name", 128, _IAM_QUOTAS),),
    # SQS CreateQueue: QueueName up to 80 characters, `.fifo` included.
    "aws:sqs/queue:Queue": (
        NameLimit(
            "name",
            80,
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
        ),
    ),
    "aws:lambda/function:Function": (
        NameLimit(
            "name", 64, "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html"
        ),
    ),
    "aws:cloudwatch/eventRule:EventRule": (
        NameLimit(
            "name",
            64,
            "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
        ),
    ),
    "aws:scheduler/schedule:Schedule": (
        NameLimit(
            "name",
            64,
            "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html",
        ),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        NameLimit(
            "name",
            255,
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
        ),
    ),
    # CloudTrail CreateTrail: Name 3-128 characters.
    "aws:cloudtrail/trail:Trail": (
        NameLimit(
            "name",
            128,
            "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html",
        ),
    ),
    # S3 general purpose bucket names: 3-63 characters, lower case (S3 user guide,
    # "General purpose bucket naming rules").
    "aws:s3/bucket:Bucket": (
        NameLimit(
            "bucket",
            63,
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        ),
    ),
    "aws:cloudwatch/dashboard:Dashboard": (
        NameLimit(
            "dashboardName",
            255,
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
        ),
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        NameLimit(
            "name",
            512,
            "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
        ),
    ),
    "aws:dynamodb/table:Table": (
        NameLimit(
            "name",
            255,
            "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html",
        ),
    ),
    "aws:kms/alias:Alias": (
        NameLimit(
            "name", 256, "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"
        ),
    ),
    "aws:secretsmanager/secret:Secret": (
        NameLimit(
            "name",
            512,
            "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html",
        ),
    ),
    # SNS: a topic name up to 256 characters (CreateTopic); a display name up to 100
    # (SNS developer guide, "Creating an Amazon SNS topic").
    "aws:sns/topic:Topic": (
        NameLimit("name", 256, "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"),
        NameLimit(
            "displayName",
            100,
            "https://docs.aws.amazon.com/sns/latest/dg/sns-create-topic.html",
        ),
    ),
}

# The first word of every role the components use. An integration named
# `{other}-{head}...` could produce the same physical name as one of `other`'s
# resources, so the roadmap refuses such pairs (see `clashing_names`).
ROLE_HEADS: tuple[str, ...] = (
    "role",
    "policy",
    "key",
    "cred",
    "queue",
    "dlq",
    "review",
    "consumer",
    "batch",
    "reconcile",
    "rotation",
    "state",
    "alerts",
    "dashboard",
    "alarm",
    "webhook",
    "reverse",
    "stage",
    "audit",
)

# The role word of a signed-webhook ingress: the function `{integration}-webhook` that
# verifies the vendor's signature itself, so it alone may serve a public function URL
# (authorization NONE) and the `lambda:InvokeFunctionUrl` permission for `*` that such a URL
# needs, for its own integration only.
WEBHOOK_INGRESS_ROLE = "webhook"

# The role word of a warehouse pipeline's S3 stage (components/stage.py): its bucket
# `{prefix}-{integration}-stage-{account}` (S3 bucket names are global, so the account is in
# it) and `stage-role`, the role the warehouse's storage integration assumes to load.
STAGE_ROLE = "stage"

# The only event besides Secrets Manager's four steps that an integration's rotation function
# takes: `{RETIRE_EVENT: {"SecretIds": [...], "GraceSeconds": n}}`, sent by its own schedule
# `{integration}-rotation-schedule` to deactivate pushers' superseded access keys once
# unused (secrets/credential_rotation/handler.py RETIRE spells the same word).
RETIRE_EVENT = "retirePreviousKeys"

# Resources of the stack as a whole (its audit trail) are named like an integration's, with
# this word in the integration's place: `{prefix}-stack-audit-trail`. `clashing_names`
# counts it as taken, so no integration `stack-audit...` can share those names.
STACK_SCOPE = "stack"


def physical_name(prefix: str, integration: str, role: str, *, limit: int = NAME_LIMIT) -> str:
    """The AWS name of one resource: `{prefix}-{integration}-{role}`, at most `limit` long.

    A name over the limit keeps as much of itself as fits, then `-` and the first
    `HASH_LENGTH` hex digits of the SHA-256 of the full name, so two long names that
    share a beginning still differ, and the same inputs always give the same name.
    """
    full = f"{prefix}-{integration}-{role}"
    if len(full) <= limit:
        return full
    head = f"{prefix}-{integration}-"
    if len(head) > limit - HASH_LENGTH - 1:
        raise ValueError(
            f"name prefix {prefix!r} and integration {integration!r} leave no room for a "
            f"role within {limit} characters; shorten the stack's name prefix"
        )
    digest = hashlib.sha256(full.encode()).hexdigest()[:HASH_LENGTH]
    kept = full[: limit - HASH_LENGTH - 1].rstrip("-")
    return f"{kept}-{digest}"


def shortened_lengths() -> frozenset[int]:
    """The lengths of every name `physical_name` may have shortened: each limit it is given
    (one hash-shortened name is exactly as long as its limit)."""
    return frozenset({NAME_LIMIT, name_limit("aws:s3/bucket:Bucket", "bucket")})


def stage_bucket_name(prefix: str, integration: str, account_id: str) -> str:
    """The S3 stage bucket of a warehouse pipeline: 3-63 characters, lower case (S3 user
    guide, https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""
    return physical_name(
        prefix,
        integration,
        f"{STAGE_ROLE}-{account_id}",
        limit=name_limit("aws:s3/bucket:Bucket", "bucket"),
    )


def stack_physical_name(prefix: str, role: str, *, limit: int = NAME_LIMIT) -> str:
    """The AWS name of a resource of the whole stack: `{prefix}-stack-{role}`."""
    return physical_name(prefix, STACK_SCOPE, role, limit=limit)


def name_limit(type_: str, field: str = "name") -> int:
    """The AWS limit on the name `field` of a resource of `type_` (`NAME_LIMITS`)."""
    return next(rule.limit for rule in NAME_LIMITS[type_] if rule.field == field)


def names_over_limit(type_: str, inputs: Mapping[str, Any]) -> list[str]:
    """What is wrong with the names among one resource's inputs (`[]` when all fit)."""
    problems = []
    for rule in NAME_LIMITS.get(type_, ()):
        value = inputs.get(rule.field)
        if isinstance(value, str) and len(value) > rule.limit:
            problems.append(
                f"{type_} {rule.field} {value!r} is {len(value)} characters; AWS allows "
                f"{rule.limit} ({rule.source})"
            )
    return problems


def logical_name(integration: str, role: str) -> str:
    """The Pulumi resource name `{integration}-{role}`, stable across stacks."""
    return f"{integration}-{role}"


def owner_of_name(name: str, prefix: str, integrations: Iterable[str]) -> str | None:
    """The integration whose physical name `name` is, or None.

    The longest integration name that fits wins, so `prod-lead-to-account-dlq` belongs to
    `lead-to-account` rather than `lead`; `clashing_names` keeps that unambiguous.
    """
    best: str | None = None
    for integration in integrations:
        head = f"{prefix}-{integration}-"
        if name.startswith(head) and (best is None or len(integration) > len(best)):
            best = integration
    return best


def clashing_names(integrations: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs `(shorter, longer)` whose physical names could coincide.

    `longer` is `shorter` plus `-` and a word that starts one of `shorter`'s roles
    (`lead` and `lead-cred-x`: `lead`'s credential `x-rotation` and `lead-cred-x`'s
    `rotation` would both be `{prefix}-lead-cred-x-rotation`).
    """
    names = sorted(set(integrations) | {STACK_SCOPE})
    pairs: list[tuple[str, str]] = []
    for shorter in names:
        for longer in names:
            if longer == shorter or not longer.startswith(f"{shorter}-"):
                continue
            rest = longer[len(shorter) + 1 :]
            if rest.split("-", 1)[0] in ROLE_HEADS:
                pairs.append((shorter, longer))
    return pairs
