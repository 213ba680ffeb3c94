"""Stack policy: an alert path's AWS Chatbot Slack channel relays its own alerts and can change
nothing (contract/alerting.py)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.alerting import CHATBOT_GUARDRAILS, CHATBOT_ROLE, CHATBOT_SERVICE
from contract.aws_types import (
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    SNS_TOPIC,
)

from ._common import as_list, is_unknown, parse_document
from ._declare import stack_policy
from ._stack import Res, StackView

__all__ = ["CHATBOT_CHANNEL", "TYPES", "chatbot_only_roles"]

# Whatever can give a role permissions (identity documents and attachments).
_GRANTING = (
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_POLICY_ATTACHMENT,
)
TYPES = frozenset({CHATBOT_SLACK_CHANNEL_CONFIGURATION})


def _granted(view: StackView, role: Res) -> list[str]:
    """What gives `role` permissions: its own inline or managed policies, or attachments."""
    found = [f"{role.name}.{k}" for k in ("inlinePolicies", "managedPolicyArns") if role.get(k)]
    for res in view.of_type(*_GRANTING):
        names = [res.get("role"), *as_list(res.get("roles"))]
        if any(view.find(n, IAM_ROLE) is role for n in names if isinstance(n, str)):
            found.append(res.name)
    return found


def chatbot_only_roles(view: StackView) -> set[str]:
    """URNs of roles that only AWS Chatbot configurations use and that are granted nothing:
    they relay notifications, and are no service account."""
    users: dict[str, tuple[Res, set[str]]] = {}
    for res in view.resources:
        for key in ("role", "iamRoleArn", "roleArn"):
            role = view.find(res.get(key), IAM_ROLE) if isinstance(res.get(key), str) else None
            if role is not None:
                users.setdefault(role.urn, (role, set()))[1].add(res.type)
    return {
        urn
        for urn, (role, types) in users.items()
        if types == {CHATBOT_SLACK_CHANNEL_CONFIGURATION} and not _granted(view, role)
    }


def chatbot_channel(args: StackValidationArgs, report: ReportViolation) -> None:
    """A Slack channel configuration relays only its integration's alert topic, as a role
    granted nothing, behind a read-only guardrail, with each member's own IAM identity.

    Rationale: AWS Chatbot administrator guide ("Understanding permissions", "Guardrail
    policies", "User roles"): without guardrails Chatbot applies AdministratorAccess, and a
    channel role with permissions lets anyone in the Slack channel run AWS commands with
    them. Relaying SNS notifications needs no permission, so the channel role has none,
    the guardrail is read-only (contract.alerting.CHATBOT_GUARDRAILS), and
    `user_authorization_required` makes members use their own identities.

    Config: none.
    """
    view = StackView.shared(args, report)
    for config in view.of_type(CHATBOT_SLACK_CHANNEL_CONFIGURATION):
        integ, who = config.integration, f"{config.who}"
        topics = as_list(config.props.get("snsTopicArns"))
        if not any(is_unknown(t) for t in topics):
            found = [view.find(t, SNS_TOPIC) for t in topics]
            if not found or any(t is None or t.integration != integ for t in found):
                report(
                    f"{who} relays {topics or 'no topic'}, not {integ}'s alert topic alone. Fix: "
                    "sns_topic_arns=[the integration's alerts topic].",
                    config.urn,
                )
        guardrails = config.props.get("guardrailPolicyArns")
        if not is_unknown(guardrails) and (
            not as_list(guardrails) or not set(as_list(guardrails)) <= set(CHATBOT_GUARDRAILS)
        ):
            report(
                f"{who} has guardrails {as_list(guardrails) or 'none (AdministratorAccess)'}. "
                f"Fix: guardrail_policy_arns={list(CHATBOT_GUARDRAILS)}.",
                config.urn,
            )
        if config.props.get("userAuthorizationRequired") is not True:
            report(
                f"{who} lets channel members act as its role. Fix: "
                "user_authorization_required=True.",
                config.urn,
            )
        ref = config.props.get("iamRoleArn")
        if is_unknown(ref):
            continue
        role = view.find(ref, IAM_ROLE)
        if role is None or role.integration != integ or not role.is_role(CHATBOT_ROLE):
            report(
                f"{who} runs as {ref}, not {integ}'s own {CHATBOT_ROLE} role. Fix: give it the "
                "integration's Chatbot role.",
                config.urn,
            )
            continue
        if granted := _granted(view, role):
            report(
                f"{who}: its role {role.name} is granted permissions ({', '.join(granted)}); "
                "relaying notifications needs none. Fix: remove them.",
                role.urn,
            )
        trust = parse_document(role.props.get("assumeRolePolicy"))
        principals = [
            p
            for s in (trust.get("Statement", []) if isinstance(trust, dict) else [])
            for p in as_list((s.get("Principal") or {}).get("Service"))
        ]
        if isinstance(trust, dict) and principals != [CHATBOT_SERVICE]:
            report(
                f"{who}: its role {role.name} is trusted by {principals or 'no service'}. Fix: "
                f"trust {CHATBOT_SERVICE} alone.",
                role.urn,
            )


CHATBOT_CHANNEL = stack_policy(
    "chatbot-channel",
    "Slack channels relay their integration's alerts only and can change nothing.",
    chatbot_channel,
)
