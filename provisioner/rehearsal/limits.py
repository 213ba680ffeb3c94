"""Rules a real AWS account enforces that the emulator does not: checked on what was deployed.

moto accepts a KMS key policy that locks the account out, names of any length, IAM
policies of any size and Lambda environments of any size; AWS refuses each at create time,
so the first `pulumi up` would fail where the rehearsal passed. Each rule here is a small
function over the recorded resources (their inputs as the engine sends them) and cites the
AWS page it comes from. Where else moto differs: docs/moto-differences.md.

Usage::

    checks = account_limits(run.resources, account="123456789012")
    [c.name for c in checks if not c.ok]
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contract.aws_types import (
    IAM_POLICY,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    KMS_KEY,
    LAMBDA_FUNCTION,
)
from contract.naming import name_limit, names_over_limit
from provisioner.rehearsal.result import Check

__all__ = [
    "IAM_POLICY_LIMITS",
    "LAMBDA_ENVIRONMENT_BYTES",
    "RULES",
    "LimitRule",
    "account_limits",
]

_IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

# IAM: the aggregate size of all inline policies of one role is at most 10,240 characters,
# of one user 2,048; a managed policy at most 6,144; whitespace does not count (IAM User
# Guide, "IAM and AWS STS quotas").
# Per type: the input naming what the limit applies to, the limit, and how to say it.
IAM_POLICY_LIMITS: dict[str, tuple[str, int, str]] = {
    IAM_ROLE_POLICY: ("role", 10_240, "the inline policies of role"),
    IAM_USER_POLICY: ("user", 2_048, "the inline policies of user"),
    IAM_POLICY: ("name", 6_144, "managed policy"),
}

# Lambda: "the total size of all environment variables doesn't exceed 4 KB" (Lambda
# developer guide, "Lambda quotas": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LAMBDA_ENVIRONMENT_BYTES = 4 * 1024

Resource = Any  # provisioner.program.RecordedResource: .type, .name, .inputs


def _policy_size(document: Any) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    return len(re.sub(r"\s", "", text))


def policy_sizes(resources: Sequence[Resource]) -> list[str]:
    """Problems with IAM policy sizes: per role and per user in aggregate, per policy."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for resource in resources:
        if resource.type in IAM_POLICY_LIMITS:
            owner_key = IAM_POLICY_LIMITS[resource.type][0]
            owner = str(resource.inputs.get(owner_key) or resource.name)
            totals[(resource.type, owner)] += _policy_size(resource.inputs.get("policy", ""))
    problems = []
    for (type_, owner), size in sorted(totals.items()):
        _, limit, what = IAM_POLICY_LIMITS[type_]
        if size > limit:
            problems.append(
                f"{what} {owner}: {size} characters; IAM allows {limit} ({_IAM_QUOTAS})"
            )
    return problems


def lambda_environments(resources: Sequence[Resource]) -> list[str]:
    """Functions whose environment variables exceed Lambda's 4 KB."""
    problems = []
    for resource in resources:
        if resource.type != LAMBDA_FUNCTION:
            continue
        variables = (resource.inputs.get("environment") or {}).get("variables") or {}
        size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in variables.items())
        if size > LAMBDA_ENVIRONMENT_BYTES:
            problems.append(
                f"function {resource.inputs.get('name') or resource.name}: environment "
                f"variables are {size} bytes; Lambda allows {LAMBDA_ENVIRONMENT_BYTES} "
                "(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)"
            )
    return problems


def _statements(document: Any) -> list[dict[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [found] if isinstance(found, dict) else [s for s in found if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def key_policy_lockout(resources: Sequence[Resource], account: str) -> list[str]:
    """KMS keys whose policy would not let the deploying account administer them.

    KMS refuses (MalformedPolicyDocumentException) a key policy that does not allow the
    principal making the request to change the key policy later, unless the lockout safety
    check is bypassed, which this project never does (KMS API reference, CreateKey,
    BypassPolicyLockoutSafetyCheck: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html;
    KMS developer guide, "Default key policy": the account root principal enables IAM
    policies to grant access).
    """
    root = f"arn:aws:iam::{account}:root"
    admins = {root, account}
    problems = []
    for resource in resources:
        if resource.type != KMS_KEY:
            continue
        allowed = False
        for statement in _statements(resource.inputs.get("policy") or "{}"):
            principal = statement.get("Principal")
            principals = principal.get("AWS") if isinstance(principal, dict) else principal
            actions = {str(a) for a in _as_list(statement.get("Action", []))}
            if (
                statement.get("Effect") == "Allow"
                and not statement.get("Condition")
                and admins & {str(p) for p in _as_list(principals)}
                and actions & {"kms:*", "kms:PutKeyPolicy"}
            ):
                allowed = True
        if not allowed:
            problems.append(
                f"KMS key {resource.name}: its policy does not let account {account} "
                f"({root}) call kms:PutKeyPolicy without a condition; KMS refuses such a "
                "policy (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html)"
            )
    return problems


def _names(resources: Sequence[Resource]) -> list[str]:
    return [p for r in resources for p in names_over_limit(r.type, r.inputs)]


@dataclass(frozen=True)
class LimitRule:
    """One rule: its check name, what it covers, the rule in words (for `--help`), the finder."""

    name: str
    what: str
    summary: str
    find: Callable[[Sequence[Resource], str], list[str]]


_IAM_SIZES = ", ".join(
    f"{what.removeprefix('the ')} {limit:,}" for _, limit, what in IAM_POLICY_LIMITS.values()
)
RULES: tuple[LimitRule, ...] = (
    LimitRule(
        "kms-key-policy-lockout",
        "KMS keys",
        "every KMS key policy lets the deploying account administer the key",
        lambda listed, account: key_policy_lockout(listed, account),
    ),
    LimitRule(
        "name-lengths",
        "physical names",
        "every physical name within its type's AWS limit (IAM role "
        f"{name_limit('aws:iam/role:Role')}, SQS queue {name_limit('aws:sqs/queue:Queue')}, "
        "...)",
        lambda listed, _account: _names(listed),
    ),
    LimitRule(
        "iam-policy-sizes",
        "IAM policies",
        f"IAM policy sizes in characters: {_IAM_SIZES}",
        lambda listed, _account: policy_sizes(listed),
    ),
    LimitRule(
        "lambda-environment-size",
        "function environments",
        f"each function's environment variables within {LAMBDA_ENVIRONMENT_BYTES:,} bytes",
        lambda listed, _account: lambda_environments(listed),
    ),
)


def account_limits(resources: Iterable[Resource], *, account: str) -> list[Check]:
    """One check per rule: `account-limits:<rule>`, failing with every offender named."""
    listed = list(resources)
    checks = []
    for rule in RULES:
        problems = rule.find(listed, account)
        detail = (
            f"{len(problems)} problem(s): " + "; ".join(problems[:5])
            if problems
            else f"every one of the {rule.what} is within what AWS accepts"
        )
        checks.append(Check(f"account-limits:{rule.name}", not problems, detail))
    return checks
