"""Who a resource policy's Deny statements shut out: a small evaluator for fences.

A fence is a resource policy that denies every principal but a few, named in an
`aws:PrincipalArn` condition (the secrets' policies). `denies(document, action,
principal)` answers True when a Deny statement certainly applies to that IAM principal,
False when none can, and None when one might but depends on something this evaluator does
not model (another condition key, `NotPrincipal`): callers that must prove access is shut
treat None as open, callers that must prove nobody is locked out treat it as shut.

The pack's policies and the rehearsal's checks both read deployed fences through it.

Usage::

    denies(policy, "secretsmanager:GetSecretValue", "arn:aws:iam::1:role/dev-x-role")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ADMIN_ACTIONS",
    "ROTATE_ACTIONS",
    "SECRET_ACTIONS",
    "denies",
    "left_open",
    "named_principals",
    "secret_fence_problems",
    "shut",
]

# Every Secrets Manager action that takes a secret as its resource (Service Authorization
# Reference, "Actions defined by AWS Secrets Manager":
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
# A fence must shut each of them to a principal it does not name.
SECRET_ACTIONS = (
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RestoreSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:StopReplicationToReplica",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:ValidateResourcePolicy",
)

_PRINCIPAL_KEY = "aws:principalarn"
# Condition operators on aws:PrincipalArn this evaluator decides; `IfExists` changes
# nothing because the key is always present for an IAM principal (IAM user guide, "AWS
# global condition context keys": aws:PrincipalArn is included in every signed request).
_POSITIVE = {"arnequals", "arnlike", "stringequals", "stringlike"}
_NEGATIVE = {"arnnotequals", "arnnotlike", "stringnotequals", "stringnotlike"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _action_in(patterns: Any, action: str) -> bool:
    return any(isinstance(p, str) and _glob(p, action, case=False) for p in _as_list(patterns))


def _principal_applies(statement: Mapping[str, Any], principal: str) -> bool | None:
    if "NotPrincipal" in statement:
        return None
    who = statement.get("Principal")
    if who == "*":
        return True
    if isinstance(who, Mapping):
        aws = _as_list(who.get("AWS"))
        return "*" in aws or principal in aws
    return False


def _condition_applies(
    condition: Any, principal: str, context: Mapping[str, str | None]
) -> bool | None:
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return None
    verdict: bool | None = True
    for operator, block in condition.items():
        raw = str(operator).lower()
        op, if_exists = raw.removesuffix("ifexists"), raw.endswith("ifexists")
        if not isinstance(block, Mapping):
            return None
        for key, values in block.items():
            name = str(key).lower()
            if op not in _POSITIVE | _NEGATIVE or (name != _PRINCIPAL_KEY and name not in context):
                verdict = None  # depends on something not modelled here
                continue
            value = principal if name == _PRINCIPAL_KEY else context[name]
            if value is None:
                # An absent key: a negated operator (and IfExists) matches, a positive one
                # does not (IAM user guide, "Condition operators").
                if not (if_exists or op in _NEGATIVE):
                    return False
                continue
            case = op.startswith("arn") or name != _PRINCIPAL_KEY  # String* is case-sensitive
            hit = any(isinstance(v, str) and _glob(v, value, case=case) for v in _as_list(values))
            if (op in _POSITIVE) != hit:
                return False  # one condition fails: the statement does not apply
    return verdict


def denies(
    document: Mapping[str, Any],
    action: str,
    principal: str,
    context: Mapping[str, str | None] | None = None,
) -> bool | None:
    """Whether the document's Deny statements shut `principal` out of `action`.

    The document is a resource policy of one resource, so every `Resource` in it is taken
    to mean that resource. `context` gives other condition keys of the request (None: the
    request does not carry the key), e.g. ``{"secretsmanager:VersionStage": "AWSPENDING"}``;
    a key it does not give leaves a statement undecided.
    """
    known = {k.lower(): v for k, v in (context or {}).items()}
    unsure = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        if "NotAction" in statement:
            if _action_in(statement["NotAction"], action):
                continue
        elif not _action_in(statement.get("Action"), action):
            continue
        parts = (
            _principal_applies(statement, principal),
            _condition_applies(statement.get("Condition"), principal, known),
        )
        if False in parts:
            continue
        if None in parts:
            unsure = True
            continue
        return True
    return None if unsure else False


def named_principals(document: Mapping[str, Any]) -> list[str]:
    """Every principal ARN the document's aws:PrincipalArn conditions name, in order."""
    seen: dict[str, None] = {}
    for statement in _as_list(document.get("Statement")):
        condition = statement.get("Condition") if isinstance(statement, Mapping) else None
        if not isinstance(condition, Mapping):
            continue
        for block in condition.values():
            if isinstance(block, Mapping):
                for key, values in block.items():
                    if str(key).lower() == _PRINCIPAL_KEY:
                        seen.update((str(v), None) for v in _as_list(values))
    return list(seen)


def left_open(
    document: Mapping[str, Any], principal: str, actions: Iterable[str] = SECRET_ACTIONS
) -> list[str]:
    """The actions the document does not certainly deny `principal` (should be none for a
    stranger)."""
    return [a for a in actions if denies(document, a, principal) is not True]


def shut(document: Mapping[str, Any], principal: str, actions: Iterable[str]) -> list[str]:
    """The actions the document denies, or may deny, `principal` (should be none for a
    principal that needs them)."""
    return [a for a in actions if denies(document, a, principal) is not False]


# What a rotation function does to its secret (Secrets Manager user guide, "Lambda
# rotation functions": createSecret, setSecret, testSecret, finishSecret).
ROTATE_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
# What the deployer must keep so the secret and its fence can still be changed: a policy
# that denies its own administrator PutResourcePolicy can only be lifted by the root user.
ADMIN_ACTIONS = (
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:RotateSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UpdateSecret",
)
_WRITE_ACTIONS = ("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage")


_STAGE_KEY = "secretsmanager:VersionStage"
# What a pusher may ask for, and what it may not (None: a request naming no stage).
_CURRENT = "AWSCURRENT"
_NOT_CURRENT = ("AWSPREVIOUS", "AWSPENDING", None)


def _pusher_problems(
    document: Mapping[str, Any], pusher: str | None, own_roles: set[str], rotator: str | None
) -> list[tuple[str, str]]:
    """A pusher's key secret: the pusher reads AWSCURRENT only, the sync role never."""
    if pusher is None:
        return []
    problems: list[tuple[str, str]] = []
    read = "secretsmanager:GetSecretValue"
    for role in sorted(own_roles - {rotator or ""}):
        if denies(document, read, role) is not True:
            problems.append(
                (
                    f"{role} may read the access key of the external pusher {pusher}",
                    "leave it out of the readers; only the pusher and the rotation role read it",
                )
            )
    if denies(document, read, pusher, {_STAGE_KEY: _CURRENT}) is True:
        problems.append(
            (
                f"the pusher {pusher} cannot read its current key, so after a rotation it "
                "keeps the old key until that is retired, and then stops",
                f"exempt it from the Deny of GetSecretValue for {_STAGE_KEY} {_CURRENT}",
            )
        )
    if opened := [
        str(stage)
        for stage in _NOT_CURRENT
        if denies(document, read, pusher, {_STAGE_KEY: stage}) is not True
    ]:
        problems.append(
            (
                f"the pusher {pusher} may read versions other than {_CURRENT} "
                f"({', '.join(opened)}), the pending key included",
                f'deny it GetSecretValue with StringNotEquals {{"{_STAGE_KEY}": "{_CURRENT}"}}',
            )
        )
    return problems


def secret_fence_problems(
    document: Mapping[str, Any],
    *,
    integration: str,
    account: str,
    own_roles: Iterable[str],
    rotator: str | None,
    pusher: str | None = None,
) -> list[tuple[str, str]]:
    """(problem, fix) for a credential secret's resource policy; none when it is a fence.

    A fence shuts every principal it does not name out of every secret action, lets the
    rotation role do its four steps, lets none of the integration's other roles write, and
    keeps at least one administrator (a named principal neither role) who may change the
    secret and its policy but never read the value. Any other principal it names is denied
    the value, except `pusher`, the external system whose IAM access key the secret holds:
    it reads the AWSCURRENT version only, and the integration's sync role none.
    """
    problems: list[tuple[str, str]] = []
    stranger = f"arn:aws:iam::{account}:role/not-{integration}-probe"
    if opened := left_open(document, stranger):
        problems.append(
            (
                f"its resource policy leaves {len(opened)} action(s) open to principals it "
                f"does not name ({', '.join(opened[:4])})",
                "deny every principal but the integration's role, its rotation role and the "
                "deploying principal",
            )
        )
    if rotator and (blocked := shut(document, rotator, ROTATE_ACTIONS)):
        problems.append(
            (
                f"its resource policy denies the rotation role {rotator} "
                f"{', '.join(blocked)}, so rotation fails",
                "exempt the rotation role from those Deny statements",
            )
        )
    roles = set(own_roles)
    for principal in sorted(roles - {rotator or ""}):
        if writes := left_open(document, principal, _WRITE_ACTIONS):
            problems.append(
                (
                    f"{principal} may {', '.join(writes)}; only the rotation role writes "
                    "credentials",
                    "deny it those actions in the resource policy",
                )
            )
    admins = [p for p in named_principals(document) if p not in roles and p != rotator]
    keepers = [a for a in admins if not shut(document, a, ADMIN_ACTIONS)]
    if not keepers:
        problems.append(
            (
                "its resource policy lets nobody administer the secret, so only the root user "
                "could ever change it again",
                "exempt the stack's deploying principal from the Deny on administrative actions",
            )
        )
    for admin in keepers:
        if denies(document, "secretsmanager:GetSecretValue", admin) is not True:
            problems.append(
                (
                    f"the administrator {admin} may read the credential",
                    "deny it GetSecretValue; only the integration and its rotator read",
                )
            )
    for other in admins:
        if other in keepers or other == pusher:
            continue
        if denies(document, "secretsmanager:GetSecretValue", other) is not True:
            problems.append(
                (
                    f"{other} may read the credential",
                    "deny it GetSecretValue; only the integration, its rotator and (for an "
                    "access key) the pusher it belongs to read",
                )
            )
    problems += _pusher_problems(document, pusher, roles, rotator)
    return problems
