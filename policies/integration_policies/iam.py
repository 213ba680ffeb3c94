"""Least-privilege policies over IAM documents and attachments (one resource at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract.aws_types import (
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER,
    IAM_USER_POLICY_ATTACHMENT,
    KMS_KEY,
)

from ._common import (
    DOCUMENT_TYPES,
    IDENTITY,
    RESOURCE,
    action_matches,
    as_list,
    condition_keys,
    config_list,
    documents,
    is_unknown,
    is_wildcard_resource,
    list_schema,
)
from ._declare import Report, Subject, resource_policy


def _each_statement(
    res: Subject, report: Report, kinds: tuple[str, ...], report_invalid: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, statement) for every statement of the wanted document kinds."""
    for field, kind, doc in documents(res.type, res.props):
        if isinstance(doc, str):
            if report_invalid:
                report(f"{res.who}.{field}: {doc}. Fix: emit the document with json.dumps.")
            continue
        if kind not in kinds:
            continue
        for i, statement in enumerate(as_list(doc.get("Statement"))):
            if isinstance(statement, dict):
                yield f"{res.owner_label}{res.name}.{field} Statement[{i}]", statement


# ------------------------------------------------------------------------ wildcard actions


def no_wildcard_actions(res: Subject, report: Report) -> None:
    """No `*`, service-wide (`sqs:*`) or partial (`sqs:Get*`) action and no NotAction in an Allow.

    Rationale: AWS IAM best practices, "Apply least-privilege permissions" -- grant only the
    actions a task needs; a wildcard silently grows as the service adds actions. Deny
    statements may use wildcards (the HTTPS-only queue policy denies `sqs:*`).

    Exemption: a KMS key policy statement that allows `kms:*` to the account root
    (`arn:aws:iam::<account>:root`). That is the AWS default key policy: it delegates the
    key's access control to IAM and keeps the key manageable (AWS KMS developer guide,
    "Default key policy").

    Config: none.
    """
    for where, statement in _each_statement(res, report, (IDENTITY, RESOURCE), True):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            report(f"{where} allows NotAction. Fix: list the allowed actions instead.")
        if res.type == KMS_KEY and _root_principal(statement):
            continue
        for action in as_list(statement.get("Action")):
            if (
                isinstance(action, str)
                and not is_unknown(action)
                and ("*" in action or "?" in action)
            ):
                report(
                    f"{where} allows the wildcard action {action!r}. Fix: name each action "
                    "the integration calls (e.g. sqs:ReceiveMessage, sqs:DeleteMessage)."
                )


def _root_principal(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    arns = as_list(aws)
    return bool(arns) and all(
        isinstance(a, str) and a.startswith("arn:aws:iam::") and a.endswith(":root") for a in arns
    )


IAM_NO_WILDCARD_ACTIONS = resource_policy(
    "iam-no-wildcard-actions",
    "IAM and resource policies allow named actions only (no '*' or 'service:*').",
    no_wildcard_actions,
    *DOCUMENT_TYPES,
)


# ------------------------------------------------------------------------ Resource "*"

# Actions with no resource-level permissions (Service Authorization Reference: the
# "Resource types" column is empty), and the condition key that narrows each where one exists.
DEFAULT_ACTIONS_WITHOUT_RESOURCE = [
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
    "kms:ListAliases",
    "kms:ListKeys",
    "sqs:ListQueues",
    "sts:GetCallerIdentity",
    "ec2:DescribeNetworkInterfaces",
]
DEFAULT_CONDITION_KEYS = {"cloudwatch:PutMetricData": ["cloudwatch:namespace"]}


def resource_wildcard_scoped(res: Subject, report: Report) -> None:
    """`Resource: "*"` only for actions that support no resource, with a condition; no NotResource.

    Rationale: AWS IAM best practices and the Service Authorization Reference: when an action
    supports resource-level permissions, name the resource ARN. A few actions
    (`cloudwatch:PutMetricData`, `xray:PutTraceSegments`, `secretsmanager:GetRandomPassword`)
    accept only `*`; where a condition key exists, use it -- PutMetricData is limited to the
    integration's namespace with `StringEquals {"cloudwatch:namespace": "Integrations/<name>"}`
    (docs/contracts.md "Metrics").

    Config:
      actionsWithoutResource (list of str): actions allowed on "*"; default the list above.
      conditionKeys (object: action -> [key]): a condition on one of the keys is required for
        that action on "*"; default {"cloudwatch:PutMetricData": ["cloudwatch:namespace"]}.
    """
    config = res.config
    allowed = config_list(config, "actionsWithoutResource", DEFAULT_ACTIONS_WITHOUT_RESOURCE)
    required = dict(config.get("conditionKeys", DEFAULT_CONDITION_KEYS))
    for where, statement in _each_statement(res, report, (IDENTITY,)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotResource" in statement:
            report(f"{where} uses NotResource. Fix: list the resource ARNs instead.")
        if not any(is_wildcard_resource(r) for r in as_list(statement.get("Resource"))):
            continue
        keys = condition_keys(statement)
        for action in as_list(statement.get("Action")):
            if not isinstance(action, str) or is_unknown(action):
                continue
            if not any(action_matches(a, action) and "*" not in action for a in allowed):
                report(
                    f"{where} allows {action!r} on Resource '*'. Fix: name the ARN of the "
                    "integration's own resource (queue, secret, key, table) instead of '*'."
                )
                continue
            wanted = next((v for k, v in required.items() if action_matches(k, action)), None)
            if wanted and not keys & {str(k).lower() for k in as_list(wanted)}:
                report(
                    f"{where} allows {action!r} on '*' without a condition. Fix: add a "
                    f"condition on {', '.join(map(str, as_list(wanted)))} (e.g. StringEquals "
                    '{"cloudwatch:namespace": "Integrations/<integration>"}).'
                )


IAM_RESOURCE_WILDCARD_SCOPED = resource_policy(
    "iam-resource-wildcard-scoped",
    "Resource '*' only for actions without resource-level permissions.",
    resource_wildcard_scoped,
    *DOCUMENT_TYPES,
    config={
        "actionsWithoutResource": list_schema(DEFAULT_ACTIONS_WITHOUT_RESOURCE),
        "conditionKeys": {"type": "object", "default": DEFAULT_CONDITION_KEYS},
    },
)


# ------------------------------------------------------------------------ iam:PassRole


def passrole_scoped(res: Subject, report: Report) -> None:
    """`iam:PassRole` only on named role ARNs and only with an `iam:PassedToService` condition.

    Rationale: AWS IAM user guide, "Granting a user permissions to pass a role to an AWS
    service": PassRole on `*` lets the holder hand any role (including admin roles) to any
    service -- a privilege escalation path. Scope it to the role ARNs and the service that
    receives them (`iam:PassedToService`, e.g. lambda.amazonaws.com).

    Config: none.
    """
    for where, statement in _each_statement(res, report, (IDENTITY,)):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
        if not any(action_matches(a, "iam:PassRole") for a in actions):
            continue
        resources = as_list(statement.get("Resource"))
        if not resources or any(is_wildcard_resource(r) for r in resources):
            report(
                f"{where} allows iam:PassRole on any role. Fix: name the role ARN(s) it may pass."
            )
        if "iam:passedtoservice" not in condition_keys(statement):
            report(
                f"{where} allows iam:PassRole without an iam:PassedToService condition. "
                'Fix: add StringEquals {"iam:PassedToService": "<service>.amazonaws.com"}.'
            )


IAM_PASSROLE_SCOPED = resource_policy(
    "iam-passrole-scoped",
    "iam:PassRole names its roles and carries an iam:PassedToService condition.",
    passrole_scoped,
    *DOCUMENT_TYPES,
)


# ------------------------------------------------------------------------ managed admin policies

DEFAULT_FORBIDDEN_MANAGED = [
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
    "AdministratorAccess-Amplify",
    "AdministratorAccess-AWSElasticBeanstalk",
]
_ATTACHMENTS = {
    IAM_ROLE_POLICY_ATTACHMENT: "policyArn",
    IAM_USER_POLICY_ATTACHMENT: "policyArn",
    IAM_GROUP_POLICY_ATTACHMENT: "policyArn",
    IAM_POLICY_ATTACHMENT: "policyArn",
    IAM_ROLE: "managedPolicyArns",
    IAM_USER: "managedPolicyArns",
}


def no_admin_managed_policies(res: Subject, report: Report) -> None:
    """No AWS-managed administrator, power-user or `*FullAccess` policy attached to anything.

    Rationale: AWS IAM best practices -- AWS managed policies are written for broad use and
    "might not grant least-privilege permissions for your specific use cases"; job-function
    policies such as AdministratorAccess and PowerUserAccess grant `*` on almost everything.
    An integration's service account gets only its own inline policy.

    Config:
      forbiddenPolicies (list of str): AWS-managed policy names; default AdministratorAccess,
        PowerUserAccess, IAMFullAccess and two Administrator variants.
      forbidFullAccess (bool): also forbid every AWS-managed `*FullAccess` policy; default true.
    """
    field = _ATTACHMENTS[res.type]
    config = res.config
    forbidden = set(config_list(config, "forbiddenPolicies", DEFAULT_FORBIDDEN_MANAGED))
    full_access = config.get("forbidFullAccess", True) is not False
    for arn in as_list(res.props.get(field)):
        if not isinstance(arn, str) or ":iam::aws:policy/" not in arn:
            continue
        policy_name = arn.rsplit("/", 1)[-1]
        if policy_name in forbidden or (full_access and policy_name.endswith("FullAccess")):
            report(
                f"{res.who} attaches the AWS-managed policy {policy_name}. Fix: remove "
                "the attachment and grant the integration's own actions in its inline policy."
            )


IAM_NO_ADMIN_MANAGED_POLICIES = resource_policy(
    "iam-no-admin-managed-policies",
    "No AWS-managed admin, power-user or full-access policy is attached.",
    no_admin_managed_policies,
    *_ATTACHMENTS,
    config={
        "forbiddenPolicies": list_schema(DEFAULT_FORBIDDEN_MANAGED),
        "forbidFullAccess": {"type": "boolean", "default": True},
    },
)
