"""Resource policies of keys, queues, topics and secrets: none open to every account."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from .._common import RESOURCE, as_list, condition_values, documents, statements
from .._declare import stack_policy
from .._stack import StackView

_ACCOUNT_KEYS = {
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:sourceorgid",
}


def _public(statement: dict[str, Any]) -> bool:
    """An Allow to everyone (`*` or AWS `*`) that no account-binding condition narrows."""
    if statement.get("Effect") != "Allow":
        return False
    who = statement.get("Principal")
    everyone = who == "*" or (isinstance(who, dict) and "*" in as_list(who.get("AWS")))
    return everyone and not any(condition_values(statement, key) for key in _ACCOUNT_KEYS)


def resource_policies_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    """No resource policy (key, queue, topic, secret) allows everyone.

    Rationale: AWS Foundational Security Best Practices KMS.5, SQS.3 and SNS.4: an Allow
    whose principal is `*` without a condition binding it to an account or organisation
    (aws:SourceAccount, aws:PrincipalAccount, aws:PrincipalOrgID...) opens the resource to
    every AWS account (IAM user guide, "AWS JSON policy elements: Principal").

    Config: none.
    """
    view = StackView.shared(args, report)
    for res in view.resources:
        for field, kind, document in documents(res.type, res.props):
            if kind != RESOURCE or not isinstance(document, dict):
                continue
            for statement in statements(document):
                if _public(statement):
                    report(
                        f"{res.who}: {field} allows {statement.get('Action')} to every AWS "
                        "account. Fix: name the principals, or bind `*` to this account with "
                        "an aws:SourceAccount or aws:PrincipalAccount condition.",
                        res.urn,
                    )


RESOURCE_POLICIES_NOT_PUBLIC = stack_policy(
    "resource-policies-not-public",
    "Key, queue, topic and secret policies allow nobody outside the account.",
    resource_policies_not_public,
)
