"""What a trail records and whether its bucket is private: pure functions, no pack import.

Read by the pack's `audit` policies over the plan and by the rehearsal over the trail and
bucket the emulator holds (through `provisioner.pack_modules`), so both judge a trail by
one definition.

Usage::

    selectors = selector_fields(trail["advancedEventSelectors"])  # pulumi or API shape
    records_invocations_of(selectors, function_arn, function_name)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

__all__ = [
    "CLOUDTRAIL",
    "bucket_policy_problems",
    "records_all_management_events",
    "records_invocations_of",
    "selector_fields",
]

CLOUDTRAIL = "cloudtrail.amazonaws.com"

# Operators of an advanced field selector: pulumi-aws input name -> CloudTrail API name
# (CloudTrail API reference, "AdvancedFieldSelector"). The first two select; the others
# narrow by exclusion or by suffix.
OPERATORS = {
    "equals": "Equals",
    "startsWiths": "StartsWith",
    "endsWiths": "EndsWith",
    "notEquals": "NotEquals",
    "notStartsWiths": "NotStartsWith",
    "notEndsWiths": "NotEndsWith",
}
_SELECTING = ("equals", "startsWiths")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def selector_fields(selectors: Any) -> list[dict[str, list[str]]]:
    """Each advanced event selector as {field: ["equals:<v>", "startsWiths:<v>", "!<op>:<v>"]}.

    Takes pulumi-aws inputs (`fieldSelectors`, `field`, `equals`...) or the CloudTrail API's
    answer (`FieldSelectors`, `Field`, `Equals`...).
    """
    found = []
    for selector in _list(selectors):
        if not isinstance(selector, dict):
            continue
        fields: dict[str, list[str]] = {}
        for fs in _list(selector.get("fieldSelectors", selector.get("FieldSelectors"))):
            name = fs.get("field", fs.get("Field")) if isinstance(fs, dict) else None
            if not isinstance(name, str):
                continue
            values = fields.setdefault(name, [])
            for op, api in OPERATORS.items():
                mark = "" if op in _SELECTING else "!"
                values += [f"{mark}{op}:{v}" for v in _list(fs.get(op, fs.get(api)))]
        found.append(fields)
    return found


def records_all_management_events(selectors: list[dict[str, list[str]]]) -> bool:
    """Some selector takes every management event: reads and writes of every service."""
    return any(
        s.get("eventCategory") == ["equals:Management"] and set(s) == {"eventCategory"}
        for s in selectors
    )


def records_invocations_of(
    selectors: list[dict[str, list[str]]], function_arn: str | None, function_name: str
) -> bool:
    """Some data selector takes every Lambda invoke event of the function.

    Before the function exists its ARN is unknown: its name is matched against the part of
    each ARN pattern after `:function:` instead.
    """
    for s in selectors:
        if s.get("eventCategory") != ["equals:Data"]:
            continue
        if s.get("resources.type") != ["equals:AWS::Lambda::Function"]:
            continue
        if set(s) - {"eventCategory", "resources.type", "resources.ARN"}:
            continue  # narrowed by readOnly, eventName...: not every invocation
        arns = s.get("resources.ARN")
        if arns is None:
            return True
        if any(v.startswith("!") for v in arns):
            continue
        for value in arns:
            op, _, pattern = value.partition(":")
            subject = function_arn
            if subject is None:
                subject, pattern = function_name, pattern.rpartition(":function:")[2]
            if (op == "equals" and pattern == subject) or (
                op == "startsWiths" and subject.startswith(pattern)
            ):
                return True
    return False


def _condition_values(statement: dict[str, Any], key: str) -> list[Any]:
    found: list[Any] = []
    condition = statement.get("Condition")
    for block in condition.values() if isinstance(condition, dict) else ():
        if isinstance(block, dict):
            for k, v in block.items():
                if k.lower() == key.lower():
                    found.extend(_list(v))
    return found


def bucket_policy_problems(document: Any) -> Iterator[str]:
    """What keeps a trail bucket's policy from admitting only CloudTrail, over TLS only.

    CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail" (bound to the trail by
    aws:SourceArn) and S3 user guide, "Enforce encryption in transit" (a Deny on
    aws:SecureTransport = false for everyone).
    """
    if not isinstance(document, dict):
        yield "has no bucket policy"
        return
    tls_denied = False
    for statement in _list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        principal = statement.get("Principal")
        if statement.get("Effect") == "Deny":
            secure = [str(v).lower() for v in _condition_values(statement, "aws:SecureTransport")]
            actions = _list(statement.get("Action"))
            if (
                principal in ("*", {"AWS": "*"})
                and "false" in secure
                and any(fnmatch.fnmatchcase("s3:GetObject", str(a)) for a in actions)
            ):
                tls_denied = True
            continue
        services = _list(principal.get("Service")) if isinstance(principal, dict) else []
        if services != [CLOUDTRAIL] or set(principal or {}) != {"Service"}:
            yield f"allows {principal} (only CloudTrail may be allowed)"
        elif not _condition_values(statement, "aws:SourceArn"):
            yield "allows CloudTrail without binding it to the trail (aws:SourceArn)"
    if not tls_denied:
        yield "does not deny requests over plain HTTP (aws:SecureTransport = false)"
