"""KMS: each integration's log groups, function environments and topics under its own
key, and the key usable by exactly the services those need."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    KMS_KEY,
    LAMBDA_FUNCTION,
    SNS_TOPIC,
)

from .._common import as_list, is_unknown, parse_document, statements
from .._declare import stack_policy
from .._stack import Res, StackView

# Where each type names the key that encrypts it (pulumi-aws input names).
KEY_FIELDS = {
    CLOUDWATCH_LOG_GROUP: "kmsKeyId",
    LAMBDA_FUNCTION: "kmsKeyArn",
    SNS_TOPIC: "kmsMasterKeyId",
}
_WHAT = {
    CLOUDWATCH_LOG_GROUP: "log group",
    LAMBDA_FUNCTION: "function environment",
    SNS_TOPIC: "topic",
}


# ------------------------------------------------------------------ encrypted-with-own-key


def encrypted_with_own_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each log group, function environment and topic is encrypted with its integration's key.

    Rationale: AWS Foundational Security Best Practices and CIS ask for customer-managed keys
    on log data and topics (CloudWatch Logs "Encrypt log data using AWS KMS", SNS.1) and on
    function environments (Lambda developer guide, "Securing environment variables"): the
    AWS-managed key's policy lets any principal of the account decrypt through the service,
    and a shared key breaks one integration's isolation from another. The integration's own
    key policy names its own principals only.

    Config: none.
    """
    view = StackView.shared(args, report)
    for res in view.owned(*KEY_FIELDS):
        field = KEY_FIELDS[res.type]
        raw = res.props.get(field)
        if is_unknown(raw):
            continue
        what = _WHAT[res.type]
        fix = f"Fix: set {field} to the ARN of {res.integration}'s own KMS key."
        if not raw:
            report(
                f"{res.who}: the {what} is encrypted with an AWS-managed key, not "
                f"{res.integration}'s own. {fix}",
                res.urn,
            )
            continue
        key = view.find(raw, KMS_KEY)
        if key is None:
            report(f"{res.who}: the {what} names key {raw}, not this stack's. {fix}", res.urn)
        elif key.integration != res.integration:
            report(
                f"{res.who}: the {what} is encrypted with {key.integration}'s key "
                f"{key.name}. {fix}",
                res.urn,
            )


ENCRYPTED_WITH_OWN_KEY = stack_policy(
    "encrypted-with-own-key",
    "Log groups, function environments and topics use their integration's own key.",
    encrypted_with_own_key,
)


# ------------------------------------------------------------- key-grants-needed-services

_LOGS_ACTIONS = {
    "kms:decrypt",
    "kms:decrypt*",
    "kms:describe*",
    "kms:describekey",
    "kms:encrypt",
    "kms:encrypt*",
    "kms:generatedatakey",
    "kms:generatedatakey*",
    "kms:generatedatakeywithoutplaintext",
    "kms:reencrypt*",
    "kms:reencryptfrom",
    "kms:reencryptto",
}
_PUBLISHER_ACTIONS = {"kms:decrypt", "kms:generatedatakey", "kms:generatedatakey*"}
_SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn"}
_LOGS_CONTEXT = "kms:encryptioncontext:aws:logs:arn"


def _service_of(statement: dict[str, Any]) -> list[str]:
    who = statement.get("Principal")
    if isinstance(who, dict):
        return [str(s) for s in as_list(who.get("Service"))]
    return []


def _condition(statement: dict[str, Any], key: str) -> list[str] | None:
    """Values of condition `key` (any operator), or None when the statement has none."""
    found: list[str] | None = None
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            for k, v in block.items():
                if k.lower() == key:
                    found = (found or []) + [str(x) for x in as_list(v)]
    return found


def _encrypted_by(view: StackView, key: Res, *types: str) -> list[Res]:
    field_of = KEY_FIELDS
    return [
        r
        for r in view.of(key.integration or "", *types)
        if view.find(r.props.get(field_of[r.type]), KMS_KEY) is key
    ]


def _publishers(view: StackView, topics: list[Res]) -> set[str]:
    """The services that publish to these topics: alarms (cloudwatch), rules (events)."""
    ids = {i for t in topics for i in t.ids}
    found: set[str] = set()
    for alarm in view.of_type(CLOUDWATCH_METRIC_ALARM):
        actions = [*as_list(alarm.get("alarmActions")), *as_list(alarm.get("okActions"))]
        if ids & {a for a in actions if isinstance(a, str)}:
            found.add("cloudwatch.amazonaws.com")
    if any(t.get("arn") in ids for t in view.of_type(CLOUDWATCH_EVENT_TARGET)):
        found.add("events.amazonaws.com")
    return found


def key_grants_needed_services(args: StackValidationArgs, report: ReportViolation) -> None:
    """An integration key lets exactly the AWS services its encrypted resources need use it.

    Rationale: a service principal in a key policy acts for every account and resource
    unless bound (IAM user guide, "The confused deputy problem"). CloudWatch Logs may use
    the key only for the integration's own log groups, through the encryption context
    `kms:EncryptionContext:aws:logs:arn` (CloudWatch Logs user guide, "Encrypt log data
    using AWS KMS"); CloudWatch alarms and EventBridge only to publish to its encrypted
    topic, from this account (SNS developer guide, "Configure AWS KMS permissions for AWS
    services"). A service the key's resources need but the policy omits fails only in
    AWS, never in an emulator: CloudWatch Logs refuses the log group, and alarms publish to
    an encrypted topic without error but nobody is paged.

    Config: none.
    """
    view = StackView.shared(args, report)
    for key in view.owned(KMS_KEY):
        document = parse_document(key.props.get("policy"))
        if not isinstance(document, dict):
            continue
        groups = {g.get("name") for g in _encrypted_by(view, key, CLOUDWATCH_LOG_GROUP)}
        needed = _publishers(view, _encrypted_by(view, key, SNS_TOPIC)) | (
            {"logs"} if groups else set()
        )
        granted: set[str] = set()
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for service in _service_of(statement):
                granted.add(_judge_grant(key, statement, service, groups, needed, report))
        for service in sorted(needed - granted):
            shown = "CloudWatch Logs" if service == "logs" else service
            report(
                f"{key.who}: {key.integration}'s resources encrypted with the key need "
                f"{shown} to use it, and the key policy does not let it. {_KEY_FIX}",
                key.urn,
            )


_KEY_FIX = "Fix: grant services as components/credential.py does."


def _judge_grant(
    key: Res,
    statement: dict[str, Any],
    service: str,
    groups: set[Any],
    needed: set[str],
    report: ReportViolation,
) -> str:
    """Report what one Allow to a service grants beyond its need; the service's short name."""
    name = "logs" if service.startswith("logs.") else service
    actions = {str(a).lower() for a in as_list(statement.get("Action"))}
    if name == "logs":
        extra = actions - _LOGS_ACTIONS
        _judge_logs_context(key, statement, groups, report)
    elif name in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        extra = actions - _PUBLISHER_ACTIONS
        if not any(_condition(statement, k) for k in _SOURCE_KEYS):
            report(
                f"{key.who}: {service} may use the key on behalf of any account. "
                "Fix: add an aws:SourceAccount or aws:SourceArn condition.",
                key.urn,
            )
        if name not in needed:
            report(
                f"{key.who}: grants {service} although none of "
                f"{key.integration}'s encrypted topics is published to by it. "
                "Fix: remove the statement.",
                key.urn,
            )
    else:
        extra = set()
        report(
            f"{key.who}: grants {service}, which no resource of "
            f"{key.integration} needs. Fix: remove the statement.",
            key.urn,
        )
    if extra:
        report(
            f"{key.who}: grants {service} {', '.join(sorted(extra))}, more than it "
            f"needs. {_KEY_FIX}",
            key.urn,
        )
    return name


def _judge_logs_context(
    key: Res, statement: dict[str, Any], groups: set[Any], report: ReportViolation
) -> None:
    """CloudWatch Logs' grant names exactly the key's own log groups in its context."""
    context = _condition(statement, _LOGS_CONTEXT)
    named = {c.split(":log-group:", 1)[-1] for c in context or []}
    if context is None or any("*" in n for n in named):
        report(
            f"{key.who}: CloudWatch Logs may use the key for any log group. "
            f"Fix: bind it with {_LOGS_CONTEXT} to the integration's log "
            "group ARNs.",
            key.urn,
        )
    elif strangers := sorted(n for n in named if n not in groups):
        report(
            f"{key.who}: CloudWatch Logs may use the key for log groups "
            f"that are not {key.integration}'s or not encrypted with it: "
            f"{', '.join(strangers)}. {_KEY_FIX}",
            key.urn,
        )
    elif missing := sorted(str(g) for g in groups if g not in named):
        report(
            f"{key.who}: log groups {', '.join(missing)} are encrypted with "
            "the key but CloudWatch Logs may not use it for them (AWS refuses "
            f"to create them). Fix: add their ARNs to {_LOGS_CONTEXT}.",
            key.urn,
        )


KEY_GRANTS_NEEDED_SERVICES = stack_policy(
    "key-grants-needed-services",
    "Integration keys grant exactly the services their resources need, bound to them.",
    key_grants_needed_services,
)
