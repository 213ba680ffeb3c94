"""Whether identity (and resource) policies allow an action on a resource, judged with
moto's IAM policy evaluator one statement at a time.

Usage::

    evaluate(policies, "kms:Decrypt", key_arn, {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"})
    could_allow(documents, "sqs:ReceiveMessage", queue_arn)  # any context at all
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

__all__ = ["could_allow", "evaluate"]


@functools.cache
def _as_allow(statement: str, conditioned: bool) -> IAMPolicyStatement:
    """The statement (JSON) read as an Allow, with or without its condition; parsed once."""
    parsed = json.loads(statement)
    if not conditioned:
        parsed.pop("Condition", None)
    return IAMPolicyStatement({**parsed, "Effect": "Allow"})


def _statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _matches(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> bool:
    """Whether the statement, read as an Allow, applies to ``action`` on ``resource``; with
    no context, whatever its condition says."""
    probe = _as_allow(json.dumps(statement, sort_keys=True), context is not None)
    permitted = probe.is_action_permitted(
        action, resource, incoming_condition_values=dict(context or {})
    )
    return bool(permitted == PermissionResult.PERMITTED)


def could_allow(documents: Iterable[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Whether any context could let these policies allow `action` on `resource`.

    An Allow counts whatever its condition says, and only an unconditional Deny takes it
    back: the sound direction for proving a denial. (moto's own evaluator cannot be used
    for that: it ignores condition operators it does not know, such as Bool, and answers
    DENIED for an Allow whose condition fails; docs/moto-differences.md.)
    """
    allowed = False
    for document in documents:
        for statement in _statements_of(document):
            if not _matches(statement, action, resource):
                continue
            if statement.get("Effect") != "Deny":
                allowed = True
            elif "Condition" not in statement:
                return False
    return allowed


def evaluate(
    policies: Iterable[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> bool:
    """True when the identity policies allow ``action`` on ``resource`` (explicit deny wins).

    Each statement is judged on its own: moto answers DENIED for a statement whose action
    matches but whose condition does not, Allow or Deny alike, where IAM just does not
    apply it (IAM user guide, "Policy evaluation logic"), so two Allows of one action under
    different conditions (KMS through SQS in one, through Secrets Manager in the other)
    would deny each other. A statement applies when, read as an Allow, moto permits.
    """
    allowed = False
    for document in policies:
        for statement in _statements_of(document):
            applies = _matches(statement, action, resource, context or {})
            if applies and statement.get("Effect") == "Deny":
                return False
            allowed = allowed or applies
    return allowed
