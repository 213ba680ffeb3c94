"""Closed world: a resource type without a rule, or a managed policy from outside, is refused.

The pack proves least privilege only for what it reads. A type it has no rule for (an S3
bucket, `iam.AccessKey`, `kms.Grant`, `iam.UserGroupMembership`...) could grant access the
analysis never sees, so it is a violation until a rule covers it or security allowlists it
for the stack with a reason. Likewise a managed policy attached from outside the stack
(AWS-managed or another team's) is a document the pack cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER_POLICY_ATTACHMENT,
    KMS_ALIAS,
    LAMBDA_EVENT_SOURCE_MAPPING,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
    SECRETS_MANAGER_SECRET_VERSION,
    SNS_TOPIC_SUBSCRIPTION,
)

from ._common import as_list, is_unknown, label
from ._declare import stack_policy
from ._stack import StackView
from .audit import TYPES as AUDIT_TYPES
from .audit import is_stack_resource
from .chatbot import TYPES as CHATBOT_TYPES
from .reach import TYPES as REACH_TYPES
from .stage import TYPES as STAGE_TYPES

# Types the pack's rules read, besides those of the reach analysis. A module that adds
# rules for a new type adds the type here (or exports it the way `reach.TYPES` is).
RULED_TYPES = frozenset(
    {
        *REACH_TYPES,
        KMS_ALIAS,  # integration-isolation (no shared key), required-tags
        SECRETS_MANAGER_SECRET,  # secret-customer-managed-key, rotation
        # A value of one of the stack's secrets: grants no access itself.
        SECRETS_MANAGER_SECRET_VERSION,
        SECRETS_MANAGER_SECRET_ROTATION,  # secret-rotation-within-limit
        LAMBDA_EVENT_SOURCE_MAPPING,  # sqs-trigger-settings
        CLOUDWATCH_LOG_GROUP,  # log-group-retention
        CLOUDWATCH_METRIC_ALARM,  # phase-requirements, alarms-route
        CLOUDWATCH_EVENT_RULE,  # phase-requirements (rotation failure)
        CLOUDWATCH_EVENT_TARGET,  # alarms-route, reach (runner)
        CLOUDWATCH_DASHBOARD,  # phase-requirements
        SNS_TOPIC_SUBSCRIPTION,  # alarms-route-to-alert-path
        DYNAMODB_TABLE,  # required-tags, reach (table policy target)
        *CHATBOT_TYPES,  # chatbot-channel
        *STAGE_TYPES,  # stage-bucket-hardened (an integration's buckets)
    }
)
# Not cloud resources: the program's components and the engine's own.
_NOT_RESOURCES = ("pulumi:", "provisioner:")
_ATTACHMENT_FIELDS = {
    IAM_ROLE_POLICY_ATTACHMENT: "policyArn",
    IAM_USER_POLICY_ATTACHMENT: "policyArn",
    IAM_GROUP_POLICY_ATTACHMENT: "policyArn",
    IAM_POLICY_ATTACHMENT: "policyArn",
    IAM_ROLE: "managedPolicyArns",
}


def _reasons(config: Mapping[str, Any], key: str) -> dict[str, str]:
    table = config.get(key) or {}
    return (
        {str(k): str(v) for k, v in table.items() if str(v).strip()}
        if isinstance(table, dict)
        else {}
    )


def closed_world(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every resource type has a rule in the pack; managed policies come from the stack.

    Rationale: a least-privilege proof covers only the documents it reads (IAM user guide,
    "Policy evaluation logic": any identity, resource or grant can allow). Unknown types --
    buckets and their policies, access keys, KMS grants, group memberships -- and managed
    policies the stack does not define (AWS-managed `SecretsManagerReadWrite`, job-function
    policies, another team's) would pass unseen; AWS's own managed policies are written for
    broad use ("AWS managed policies" in the IAM user guide).

    Config:
      allowedTypes (object: type -> reason): types allowed without a rule, each with the
        reason security accepted; default none.
      allowedManagedPolicies (object: policy ARN -> reason): managed policies that may be
        attached though the stack does not define them; default none.
    """
    config = args.get_config()
    allowed_types = _reasons(config, "allowedTypes")
    allowed_policies = _reasons(config, "allowedManagedPolicies")
    view = StackView.shared(args, report)
    own_policies = {i for r in view.of_type(IAM_POLICY) for i in r.ids}
    for res in view.resources:
        if res.type.startswith(_NOT_RESOURCES):
            continue
        who = label(res.integration)
        if res.type in AUDIT_TYPES and is_stack_resource(res.name):
            continue  # the stack's audit trail and bucket: audit.py's rules judge them
        if res.type not in RULED_TYPES and res.type not in allowed_types:
            report(
                f"{who}{res.name} has the type {res.type}, which no rule of this pack judges. "
                f"Fix: remove it, or add a rule for {res.type}, or allowlist it for this stack "
                f'in the pack config: {{"closed-world": {{"allowedTypes": {{"{res.type}": '
                '"<why security accepts it>"}}}}.',
                res.urn,
            )
            continue
        field = _ATTACHMENT_FIELDS.get(res.type)
        if field is None:
            continue
        for arn in as_list(res.props.get(field)):
            if not isinstance(arn, str) or is_unknown(arn) or arn in own_policies:
                continue
            if arn in allowed_policies:
                continue
            report(
                f"{who}{res.name} attaches the managed policy {arn}, which this stack does not "
                "define, so its reach cannot be checked. Fix: grant the integration's own "
                "actions in its inline policy, or allowlist the policy with a reason: "
                f'{{"closed-world": {{"allowedManagedPolicies": {{"{arn}": "<why>"}}}}}}.',
                res.urn,
            )


_REASONS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string", "minLength": 1},
    "default": {},
}

CLOSED_WORLD = stack_policy(
    "closed-world",
    "Every resource type has a rule; managed policies come from the stack.",
    closed_world,
    config={
        "allowedTypes": _REASONS_SCHEMA,
        "allowedManagedPolicies": _REASONS_SCHEMA,
    },
)

__all__ = ["CLOSED_WORLD", "RULED_TYPES"]
