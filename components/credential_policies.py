"""The policy documents of an integration's credentials: its key's and its secrets'.

The key policy names the integration's principals only in conditions on the account root
(KMS rejects principals that do not exist yet) and lets AWS services use the key only for
the integration's own log groups, alarms and rules; each secret's resource policy denies
every principal but the integration's role, its rotator and the deployer (contracts.md,
"IAM principals per integration"). `components.credential.ScopedCredential` attaches them.

Usage::

    key_policy(scope, users=[scope.role_arn()], function_roles=["consumer"], alert_topic=True)
    secret_policy([scope.role_arn()], scope.role_arn("rotation"), [deployer_arn])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components._scope import Scope, policy_document

__all__ = [
    "KEY_ADMIN_ACTIONS",
    "SECRET_ROTATE_ACTIONS",
    "key_policy",
    "secret_policy",
]

# Administrative KMS actions the account (through IAM) keeps; no data-plane action and no
# kms:DisableKeyRotation, so rotation stays on. kms:CreateGrant/DescribeKey let DynamoDB
# set up table encryption for the deployer (DynamoDB developer guide, "Encryption at rest").
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
_KEY_USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
# Services that encrypt for the deployer while it creates the integration's resources:
# Secrets Manager the bootstrap version, Lambda the functions' environment variables
# (Lambda developer guide, "Securing Lambda environment variables": creating or updating
# a function with a customer managed key needs kms:Encrypt).
_DEPLOYER_VIA_SERVICES = ("secretsmanager", "lambda")
# What CloudWatch Logs does with a log group's key (CloudWatch Logs user guide, "Encrypt
# log data in CloudWatch Logs using AWS KMS":
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
_LOGS_KEY_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
# What a service publishing to an encrypted SNS topic needs on its key (SNS developer
# guide, "Configure AWS KMS permissions for AWS services":
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
_PUBLISHER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]

# The four steps of a rotation function (Secrets Manager user guide, "Lambda rotation
# functions"): denying any of them to the rotation role stops rotation for good.
SECRET_ROTATE_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)


def secret_policy(
    readers: Sequence[str],
    rotator: str,
    administrators: Sequence[str],
    *,
    current_reader: str | None = None,
) -> str:
    """The resource policy of a credential secret: every principal but these is denied.

    `readers` may read the value, `rotator` may also write new versions, and
    `administrators` (the deployer and the stack's secretAdministratorArns) may do
    everything but read the value (writing the bootstrap version included); nobody else may
    do anything, whatever identity policies in the account grant. `current_reader` (the
    external pusher whose access key the secret holds) may read the AWSCURRENT version
    only, asked for by its label: a request naming another stage, or none, is denied
    (Secrets Manager user guide, "Condition keys": `secretsmanager:VersionStage`; IAM user
    guide, "Condition operators": a negated operator matches when the key is absent).
    Deny statements keyed on `aws:PrincipalArn` name principals that need not exist yet (IAM
    user guide, "AWS global condition context keys"), and none of them denies the rotator
    its four steps or the administrator the policy itself, so neither can be locked out
    (Secrets Manager user guide, "Resource-based policies": a policy that denies its own
    administrator can only be removed by the account's root user).
    """
    admins = sorted({a for a in administrators if a})
    if not admins:
        raise ValueError(
            "a secret policy needs the deploying principal's ARN; without one nobody could "
            "ever change the policy again"
        )
    writers = sorted({rotator, *admins})
    everyone = sorted({*readers, rotator, *admins})
    value_readers = sorted({*readers, rotator, *([current_reader] if current_reader else [])})
    pusher_reads_current_only = [
        {
            "Sid": "ThePusherReadsOnlyItsCurrentKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {
                "ArnEquals": {"aws:PrincipalArn": current_reader},
                "StringNotEquals": {"secretsmanager:VersionStage": "AWSCURRENT"},
            },
        }
    ]
    return policy_document(
        [
            {
                "Sid": "OnlyTheIntegrationAndItsRotatorRead",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",  # in a resource policy "*" means this secret
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": value_readers}},
            },
            *(pusher_reads_current_only if current_reader else []),
            {
                # The deployer writes the bootstrap version, the rotator every later one.
                "Sid": "OnlyTheRotatorAndDeployerWrite",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writers}},
            },
            {
                "Sid": "OnlyTheseDescribe",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:DescribeSecret",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": everyone}},
            },
            {
                "Sid": "OnlyTheDeployerAdministers",
                "Effect": "Deny",
                "Principal": "*",
                "NotAction": list(SECRET_ROTATE_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": admins}},
            },
        ]
    )


def _service_statements(
    scope: Scope, function_roles: Sequence[str], alert_topic: bool
) -> list[dict[str, Any]]:
    """The AWS services that use the key for the integration, each bound to its resources."""
    log_groups = [scope.log_group_arn(role) for role in ("rotation", *function_roles)]
    found: list[dict[str, Any]] = [
        {
            "Sid": "LogsEncryptOwnLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{scope.region}.amazonaws.com"},
            "Action": _LOGS_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": sorted(log_groups)}},
        }
    ]
    # CloudWatch user guide, "Using Amazon CloudWatch alarms" (encrypted topics), and
    # EventBridge user guide, "Authorizing EventBridge to use a customer managed key": each
    # bound to this account and to the integration's own alarms or rotation-failure rule.
    publishers = [
        ("OwnAlarms", "cloudwatch", "ArnLike", scope.alarm_arn("alarm-*")),
        ("RotationFailureRule", "events", "ArnEquals", scope.rule_arn("alarm-rotation-failure")),
    ]
    for sid, service, operator, source in publishers if alert_topic else []:
        found.append(
            {
                "Sid": f"{sid}PublishToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": f"{service}.amazonaws.com"},
                "Action": _PUBLISHER_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": scope.account_id},
                    operator: {"aws:SourceArn": source},
                },
            }
        )
    return found


def key_policy(
    scope: Scope, users: Sequence[str], function_roles: Sequence[str], *, alert_topic: bool
) -> str:
    """The integration key's policy: the account administers it, `users` use it, the
    deployer encrypts through Secrets Manager and Lambda, and the services that encrypt the
    integration's logs (`function_roles`' and the rotator's) and alerts use it for those."""
    return policy_document(
        [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": scope.account_root},
                "Action": KEY_ADMIN_ACTIONS,
                "Resource": "*",  # in a key policy "*" means this key
            },
            {
                "Sid": "IntegrationRolesUseKey",
                "Effect": "Allow",
                "Principal": {"AWS": scope.account_root},
                "Action": _KEY_USE_ACTIONS,
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": users}},
            },
            {
                # The deployer writes the bootstrap version and function environments
                # but can never read them.
                "Sid": "AccountEncryptsThroughSecretsManagerAndLambda",
                "Effect": "Allow",
                "Principal": {"AWS": scope.account_root},
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"{service}.{scope.region}.amazonaws.com"
                            for service in _DEPLOYER_VIA_SERVICES
                        ],
                        "kms:CallerAccount": scope.account_id,
                    }
                },
            },
            *_service_statements(scope, function_roles, alert_topic),
        ]
    )
