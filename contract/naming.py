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
from collections.abc import Iterable

__all__ = [
    "HASH_LENGTH",
    "MAX_PREFIX_LENGTH",
    "NAME_LIMIT",
    "PREFIX_PATTERN",
    "ROLE_HEADS",
    "SLUG_MAX_LENGTH",
    "SLUG_PATTERN",
    "clashing_names",
    "logical_name",
    "owner_of_name",
    "physical_name",
]

# Roadmap names (systems, objects, integrations, credentials): lowercase slugs, usable
# inside every AWS name the components build.
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
)


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
    names = sorted(set(integrations))
    pairs: list[tuple[str, str]] = []
    for shorter in names:
        for longer in names:
            if longer == shorter or not longer.startswith(f"{shorter}-"):
                continue
            rest = longer[len(shorter) + 1 :]
            if rest.split("-", 1)[0] in ROLE_HEADS:
                pairs.append((shorter, longer))
    return pairs
