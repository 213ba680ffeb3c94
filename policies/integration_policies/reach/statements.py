"""What one statement allows: its actions expanded, the action sets the rules name, and
the records a check reads (`Doc`, `Grant`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.ownership import Reach

from .._catalogue import ACTIONS, expand
from .._common import as_list, condition_values
from .._stack import Res

# KMS "cryptographic operations" (KMS developer guide, "AWS KMS cryptographic operations").
KMS_CRYPTO = expand(
    [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
        "kms:Sign",
        "kms:Verify*",
        "kms:GenerateMac",
        "kms:DeriveSharedSecret",
    ]
)
# The deployer writes a secret's bootstrap version through Secrets Manager; it can never
# read it back (no Decrypt).
KMS_WRITE_THROUGH_SERVICE = expand(["kms:Encrypt", "kms:GenerateDataKey"])
# Record-level deletes are the sync function's job (a consumed message, an expired
# idempotency record); everything else named Delete/Purge/... destroys state.
_RECORD_DELETES = expand(
    ["sqs:DeleteMessage", "sqs:DeleteMessageBatch", "dynamodb:DeleteItem", "dynamodb:PartiQLDelete"]
)
_DESTRUCTIVE = re.compile(
    r":(delete|purge|schedule\w*deletion|disable|remove|terminate|detach|deregister|cancel)"
)
SECRET_READS = expand(["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"])
# Every action that reads or writes a table's items, PartiQL included (DynamoDB developer
# guide, "IAM policies with PartiQL for DynamoDB").
TABLE_DATA = expand(["dynamodb:*Item", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQL*"])
# Actions that mint access besides the catalogue's "Permissions management" level.
_MINTING_EXTRA = expand(["sts:AssumeRole*", "sts:GetFederationToken", "sts:GetSessionToken"])
DEFAULT_JOB_ACTIONS = {
    # Secrets Manager rotation of IAM access keys (components/credential.py, RekeyOwnPushers).
    "rotation": ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
}


def mints_access(action: str) -> bool:
    known = ACTIONS.get(action)
    return (known is not None and known.level == "Permissions management") or (
        action in _MINTING_EXTRA
    )


def destroys(action: str) -> bool:
    return _DESTRUCTIVE.search(action) is not None and action not in _RECORD_DELETES


def writes_credentials(action: str) -> bool:
    known = ACTIONS.get(action)
    return action.startswith("secretsmanager:") and (
        known is None or known.level in ("Write", "Permissions management")
    )


def spelled(actions: frozenset[str] | set[str], limit: int = 4) -> str:
    names = sorted(ACTIONS[a].name if a in ACTIONS else a for a in actions)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def condition(statement: dict[str, Any], key: str) -> list[str]:
    """Values of a condition key under any operator (key compared case-insensitively)."""
    return [str(value) for value in condition_values(statement, key)]


def bound_keys(statement: dict[str, Any]) -> set[str]:
    condition = statement.get("Condition")
    keys: set[str] = set()
    if isinstance(condition, dict):
        for operator, block in condition.items():
            # IfExists and ForAnyValue variants do not bind when the key is absent.
            if isinstance(block, dict) and "ifexists" not in str(operator).lower():
                keys.update(k.lower() for k in block)
    return keys


def statement_actions(statement: dict[str, Any]) -> frozenset[str]:
    if "NotAction" in statement:
        return expand([str(a) for a in as_list(statement["NotAction"])], negated=True)
    return expand([str(a) for a in as_list(statement.get("Action"))])


@dataclass
class Doc:
    where: str  # `name.field`, for messages
    carrier: Res
    document: dict[str, Any]


# What a sync role may never do, and why, as the message ends.
SYNC_FORBIDS: tuple[tuple[Callable[[str], bool], str], ...] = (
    (destroys, ", which destroys state. Fix: remove them; deleting is the deployer's."),
    (
        writes_credentials,
        " on secrets. Fix: only the integration's rotation role writes its credentials.",
    ),
)


@dataclass(frozen=True)
class Grant:
    """One Allow statement of an identity policy, as the checks of a principal read it."""

    own: str | None  # the principal's integration
    job: str | None  # its job (sync, rotation, pusher, ...)
    who: str
    at: str  # where the statement is, for messages
    statement: dict[str, Any]
    actions: frozenset[str]
    patterns: list[str]  # its resource patterns
    reaches: dict[str, Reach]  # whose resources each pattern reaches
    doc: Doc
