"""Whether identity (and resource) policies allow an action on a resource, judged with
moto's IAM policy evaluator one statement at a time.

Usage::

    evaluate(policies, "kms:Decrypt", key_arn, {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"})
    could_allow(documents, "sqs:ReceiveMessage", queue_arn)  # any context at all
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

__all__ = ["ArnIndex", "could_allow", "evaluate", "statements_of"]


@functools.cache
def _as_allow(statement: str, conditioned: bool) -> IAMPolicyStatement:
    """The statement (JSON) read as an Allow, with or without its condition; parsed once."""
    parsed = json.loads(statement)
    if not conditioned:
        parsed.pop("Condition", None)
    return IAMPolicyStatement({**parsed, "Effect": "Allow"})


def statements_of(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """A policy document's statements (none for no document); IAM also takes one statement
    without a list."""
    found = (document or {}).get("Statement", [])
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
        for statement in statements_of(document):
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
        for statement in statements_of(document):
            applies = _matches(statement, action, resource, context or {})
            if applies and statement.get("Effect") == "Deny":
                return False
            allowed = allowed or applies
    return allowed


# Where a Resource pattern stops being literal for moto's matcher, which reads it as a regular
# expression with `*` as `.*` (IAMPolicyStatement._match): any ARN it matches starts with the
# text before the first of these.
_NOT_LITERAL = re.compile(r"[.*?+^$()\[\]{}|\\]")


class ArnIndex:
    """The ARNs a matrix judges, sorted, so that a principal's policies are evaluated only on
    those one of its statements can name.

    A statement applies to a resource only if its ``Resource`` matches the ARN, and a pattern
    matches only ARNs that start with its literal head (``arn:aws:sqs:eu-west-1:1111:dev-q-``
    for ``...:dev-q-*``). For every other ARN no statement concerning the actions applies, so
    the evaluator could only answer "not allowed": the matrix judges it so without calling it,
    and its work grows with what each principal can name, not with every pair.

    Usage::

        index = ArnIndex(queue_arns)
        for arn in index.nameable(policies, ("sqs:SendMessage",)): ...
    """

    def __init__(self, arns: Iterable[str]) -> None:
        self._sorted = sorted(set(arns))

    def nameable(
        self, documents: Iterable[Mapping[str, Any]], actions: Iterable[str]
    ) -> Collection[str]:
        """The ARNs some statement of ``documents`` that concerns one of ``actions`` can match."""
        actions = tuple(actions)
        found: set[str] = set()
        for document in documents:
            for statement in statements_of(document):
                if not _concerns(statement, actions):
                    continue
                patterns = statement.get("Resource")
                if not patterns or "NotResource" in statement:
                    return self._sorted  # moto applies such a statement to every resource
                for pattern in [patterns] if isinstance(patterns, str) else patterns:
                    found.update(self._starting(_NOT_LITERAL.split(str(pattern), 1)[0]))
        return found

    def _starting(self, head: str) -> Iterable[str]:
        for arn in self._sorted[bisect.bisect_left(self._sorted, head) :]:
            if not arn.startswith(head):
                return
            yield arn


def _concerns(statement: Mapping[str, Any], actions: tuple[str, ...]) -> bool:
    """Whether the statement's Action (or NotAction) can concern one of ``actions``."""
    if "NotAction" in statement:
        return True
    # Without a Resource, moto's evaluator answers for the action alone.
    probe = _as_allow(json.dumps({"Action": statement.get("Action", [])}), False)
    return any(probe.is_action_permitted(a) == PermissionResult.PERMITTED for a in actions)
