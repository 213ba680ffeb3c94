"""An integration's credentials: its KMS key, one rotated secret per credential, the rotator.

One `ScopedCredential` per integration holds everything about its credentials, so that
nothing here is shared with another integration: a customer-managed KMS key (rotation
on), a Secrets Manager secret per roadmap credential encrypted with that key, a
`SecretRotation` no longer than the environment allows, and the rotation Lambda (bundle
`secrets/`) with its own role, log group and an invoke permission for Secrets Manager
from this account only.

The first secret version is a bootstrap placeholder (secrets/credential_rotation/formats.py)
whose secret fields hold material generated here as a Pulumi secret; rotation owns every
later version, so the program ignores changes to it.

Usage::

    creds = ScopedCredential("quote-to-order", ScopedCredentialArgs(
        scope=scope, credentials=[spec], rotation_code=pulumi.FileArchive(zip_path),
        max_rotation_days=30, log_retention_days=365))
    creds.key.arn, creds.secrets["salesforce-jwt"].arn
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import (
    Scope,
    child,
    function_role,
    policy_output,
    send_to_queue,
)
from components.credential_policies import SECRET_ROTATE_ACTIONS, key_policy, secret_policy
from components.function import scheduled_run
from components.spec import CredentialSpec, base_environment
from contract.aws_types import COMPONENT_PREFIX
from contract.naming import RETIRE_EVENT
from contract.runtime import ARCHITECTURE, RUNTIME

__all__ = ["ScopedCredential", "ScopedCredentialArgs"]

ROTATION_HANDLER = "credential_rotation.handler.lambda_handler"
# Rotation calls one issuer API per step; 5 minutes leaves room for slow admin endpoints
# (Secrets Manager invokes each step separately; Lambda maximum is 900 s).
ROTATION_TIMEOUT_SECONDS = 300
# The fields of each kind that are credentials (secrets/credential_rotation/formats.py,
# SECRET_FIELDS); the bootstrap version fills them with generated material.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "salesforce_jwt_bearer": ("private_key_pem",),
    "oauth_client_credentials": ("client_secret",),
    "api_key": ("api_key",),
    "iam_access_key": ("secret_access_key",),
    "netsuite_tba": ("consumer_secret", "token_secret"),
    "snowflake_key_pair": ("private_key_pem",),
    "basic_token": ("api_token",),
    "webhook_signing_secret": ("signing_secret",),
}
# Kinds whose first rotation can complete in AWS alone, or stops at a human step that the
# rotation itself prints (formats.py, "Bootstrap"); the others need the issuer's first secret
# put by hand, so rotating at once would only fail.
ROTATE_IMMEDIATELY = frozenset({"iam_access_key", "salesforce_jwt_bearer", "snowflake_key_pair"})
# A pusher's superseded access key stays active after a rotation so the pusher keeps
# working until it reads its new key; a schedule asks the rotation function to deactivate
# it once IAM reports it unused for the grace period (GetAccessKeyLastUsed, IAM API
# Reference), and the next rotation deletes it. Three days cover a pusher that reads its
# secret daily plus the hours IAM takes to report a key's last use (IAM user guide,
# "Managing access keys for IAM users": last-used information); twice a day keeps the key
# active at most half a day past its grace.
RETIRE_GRACE_SECONDS = 3 * 24 * 3600
RETIRE_SCHEDULE = "rate(12 hours)"
# KMS: waiting period before a scheduled key deletion takes effect, 7-30 days
# (KMS developer guide, "Deleting keys"); the longest gives the most time to cancel.
KEY_DELETION_WINDOW_DAYS = 30
# Secrets Manager: recovery window 7-30 days, or 0 to delete at once (DeleteSecret API
# reference, RecoveryWindowInDays / ForceDeleteWithoutRecovery). A deleted secret keeps
# its name for the whole window, so a stack whose state is not protected deletes at once:
# `pulumi destroy` then `pulumi up` (or a demotion and re-promotion) works the same day.
SECRET_RECOVERY_WINDOW_DAYS = 30


def secret_recovery_window_days(protect_stateful: bool) -> int:
    """The recovery window of the stack's secrets: kept where state is protected (prod)."""
    return SECRET_RECOVERY_WINDOW_DAYS if protect_stateful else 0


@dataclass
class ScopedCredentialArgs:
    """Inputs of a ScopedCredential."""

    scope: Scope
    credentials: Sequence[CredentialSpec]
    rotation_code: pulumi.Archive
    max_rotation_days: int
    log_retention_days: int
    # IAM users of external pushers whose access keys the rotator creates and retires.
    pusher_user_arns: Sequence[str] = ()
    # The stack's boundary applies to every role the program creates, this one included.
    permissions_boundary_arn: str | None = None
    # The principals administering the secrets (aws:PrincipalArn): the deployer and the
    # stack's secretAdministratorArns.
    administrator_arns: Sequence[str] = ()
    # The integration's functions besides the rotator (`consumer`, `batch`, `reconcile`):
    # CloudWatch Logs may use the key for exactly their log groups and the rotator's.
    function_roles: Sequence[str] = ()
    # Other principals of the integration that use the key (the stage role: components/stage.py).
    key_user_arns: Sequence[str] = ()
    # The integration has an alert topic encrypted with the key (phase >= 3): its alarms
    # and its rotation-failure rule may publish to it.
    alert_topic: bool = False


def _material() -> str:
    """Placeholder secret material: 32 random bytes, never printed (a Pulumi secret)."""
    return "bootstrap-" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class ScopedCredential(pulumi.ComponentResource):
    """KMS key, rotated secrets and the rotation function of one integration."""

    key: aws.kms.Key
    secrets: dict[str, aws.secretsmanager.Secret]
    rotation_function: aws.lambda_.Function
    rotation_role: aws.iam.Role

    def __init__(
        self, name: str, args: ScopedCredentialArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}ScopedCredential", name, None, opts)
        scope = args.scope
        self._scope, self._name = scope, name
        self._pushers = [c.name for c in args.credentials if c.kind == "iam_access_key"]
        stateful = scope.protect_stateful
        rotation_role_arn = scope.role_arn("rotation")

        # The key policy names principals only in conditions on the account root, so it
        # does not need the roles to exist first (KMS rejects unknown principals), and the
        # integration role can be created after the resources its policy names.
        users = sorted(
            {scope.role_arn(), rotation_role_arn, *args.pusher_user_arns, *args.key_user_arns}
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{scope.integration} ({scope.environment}): secrets, queues, state, "
            "logs, function environments, alerts",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=key_policy(scope, users, args.function_roles, alert_topic=args.alert_topic),
            tags=scope.tags,
            opts=child(self, protect=stateful),
        )
        self.key_alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{scope.physical('key')}",
            target_key_id=self.key.key_id,
            opts=child(self),
        )

        self.secrets = {}
        for cred in args.credentials:
            self.secrets[cred.name] = aws.secretsmanager.Secret(
                f"{name}-cred-{cred.name}",
                name=scope.physical(f"cred-{cred.name}"),
                description=f"{cred.kind} credential of {scope.integration}; rotated by "
                f"{scope.physical('rotation')}",
                kms_key_id=self.key.arn,
                recovery_window_in_days=secret_recovery_window_days(stateful),
                tags=scope.tags_with(rotation="manual") if cred.manual else scope.tags,
                opts=child(self, protect=stateful),
            )
        self.secret_policies: dict[str, aws.secretsmanager.SecretPolicy] = {}
        kinds = {cred.name: cred.kind for cred in args.credentials}
        for cred_name, secret in self.secrets.items():
            pusher = kinds[cred_name] == "iam_access_key"
            self.secret_policies[cred_name] = aws.secretsmanager.SecretPolicy(
                f"{name}-cred-{cred_name}-resource-policy",
                secret_arn=secret.arn,
                policy=secret_policy(
                    # A pusher's access key is the external system's: never the sync role's;
                    # the pusher's own user reads its current key, its rotator everything.
                    readers=[] if pusher else [scope.role_arn()],
                    rotator=rotation_role_arn,
                    administrators=args.administrator_arns,
                    current_reader=scope.user_arn(f"cred-{cred_name}") if pusher else None,
                ),
                # Secrets Manager refuses a policy that would make the secret public.
                block_public_policy=True,
                opts=child(self),
            )

        self.rotation_role = function_role(
            self,
            f"{name}-rotation-role",
            scope,
            "rotation",
            f"Rotates the credentials of {scope.integration} only",
            args.permissions_boundary_arn,
        )
        statements: list[Any] = [
            {
                "Sid": "RotateOwnSecrets",
                "Effect": "Allow",
                "Action": list(SECRET_ROTATE_ACTIONS),
                "Resource": [s.arn for s in self.secrets.values()],
            },
            {
                # Only through Secrets Manager, the one service rotation uses the key in.
                "Sid": "UseOwnKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [self.key.arn],
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{scope.region}.amazonaws.com"
                    }
                },
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [scope.log_streams_arn("rotation")],
            },
        ]
        if args.pusher_user_arns:
            statements.append(
                {
                    "Sid": "RekeyOwnPushers",
                    "Effect": "Allow",
                    "Action": [
                        "iam:CreateAccessKey",
                        "iam:DeleteAccessKey",
                        "iam:GetAccessKeyLastUsed",
                        "iam:ListAccessKeys",
                        "iam:UpdateAccessKey",
                    ],
                    "Resource": sorted(args.pusher_user_arns),
                }
            )
        self.rotation_policy = aws.iam.RolePolicy(
            f"{name}-rotation-policy",
            name=scope.physical("rotation"),
            role=self.rotation_role.id,
            policy=policy_output(statements),
            opts=child(self),
        )
        self.rotation_logs = aws.cloudwatch.LogGroup(
            f"{name}-rotation-logs",
            name=scope.log_group_name("rotation"),
            retention_in_days=args.log_retention_days,
            kms_key_id=self.key.arn,
            tags=scope.tags,
            opts=child(self),
        )
        self.rotation_function = aws.lambda_.Function(
            f"{name}-rotation",
            name=scope.physical("rotation"),
            description=f"Rotates the secrets of {scope.integration}",
            role=self.rotation_role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=ROTATION_HANDLER,
            code=args.rotation_code,
            timeout=ROTATION_TIMEOUT_SECONDS,
            memory_size=256,
            environment={"variables": base_environment(scope.integration, scope.environment)},
            kms_key_arn=self.key.arn,
            tags=scope.tags,
            opts=child(self, depends_on=[self.rotation_logs, self.rotation_policy]),
        )
        # Only Secrets Manager, and only on behalf of this account, may invoke the rotator
        # (Secrets Manager user guide, "Lambda rotation functions": confused-deputy guard).
        self.rotation_permission = aws.lambda_.Permission(
            f"{name}-rotation-invoke",
            action="lambda:InvokeFunction",
            function=self.rotation_function.name,
            principal="secretsmanager.amazonaws.com",
            source_account=scope.account_id,
            opts=child(self),
        )

        self.versions: dict[str, aws.secretsmanager.SecretVersion] = {}
        self.rotations: dict[str, aws.secretsmanager.SecretRotation] = {}
        for cred in args.credentials:
            secret = self.secrets[cred.name]
            document = {
                **cred.bootstrap,
                "kind": cred.kind,
                "bootstrap": True,
                **{field: _material() for field in SECRET_FIELDS[cred.kind]},
            }
            self.versions[cred.name] = aws.secretsmanager.SecretVersion(
                f"{name}-cred-{cred.name}-version",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(json.dumps(document, sort_keys=True)),
                # Rotation owns every later version; never roll it back to the bootstrap.
                opts=child(self, ignore_changes=["secretString", "versionStages"]),
            )
            days = min(cred.rotation_days, args.max_rotation_days)
            self.rotations[cred.name] = aws.secretsmanager.SecretRotation(
                f"{name}-cred-{cred.name}-rotation",
                secret_id=secret.id,
                rotation_lambda_arn=self.rotation_function.arn,
                rotation_rules={"automatically_after_days": days},
                rotate_immediately=cred.kind in ROTATE_IMMEDIATELY,
                opts=child(self, depends_on=[self.rotation_permission, self.versions[cred.name]]),
            )

        self.register_outputs(
            {
                "keyArn": self.key.arn,
                "secretArns": {n: s.arn for n, s in self.secrets.items()},
                "rotationFunctionArn": self.rotation_function.arn,
            }
        )

    def retire_superseded_keys(self, failures: aws.sqs.Queue) -> None:
        """Ask the rotation function, twice a day, to retire pushers' unused previous keys.

        Called once the integration's DLQ exists (phase >= 3, when a pusher may use its
        key at all). The event names the pushers' secrets and the grace period
        (handler.RETIRE); only this rule may invoke the function besides Secrets Manager,
        and a run that fails its retries (as the scheduled sync jobs': components/function.py)
        lands in `failures`, whose depth alarm pages the
        owner. Lambda sends that record with the function's execution role (Lambda
        developer guide, "Capturing records of Lambda asynchronous invocations"), so the
        rotation role may send to that queue, and use the key through SQS, and nothing more.
        """
        scope, name = self._scope, self._name
        secret_arns = [self.secrets[c].arn for c in self._pushers]
        if not secret_arns:
            return
        policy = aws.iam.RolePolicy(
            f"{name}-rotation-retire-policy",
            name=scope.physical("rotation-retire"),
            role=self.rotation_role.id,
            policy=policy_output(
                send_to_queue(
                    scope,
                    ("ReportFailedRetirement", "EncryptFailedRetirement"),
                    failures.arn,
                    self.key.arn,
                )
            ),
            opts=child(self),
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-rotation-schedule",
            name=scope.physical("rotation"),
            description=f"Retires superseded pusher access keys of {scope.integration}",
            schedule_expression=RETIRE_SCHEDULE,
            tags=scope.tags,
            opts=child(self),
        )
        self.retire_schedule = rule
        target_input = pulumi.Output.all(*secret_arns).apply(
            lambda arns: json.dumps(
                {RETIRE_EVENT: {"SecretIds": sorted(arns), "GraceSeconds": RETIRE_GRACE_SECONDS}},
                sort_keys=True,
            )
        )
        self.retire_invoke_config, _, self.retire_target = scheduled_run(
            self,
            f"{name}-rotation",
            self.rotation_function,
            rule,
            failures.arn,
            # `{name}-rotation-invoke` is Secrets Manager's permission.
            permission_name=f"{name}-rotation-schedule-invoke",
            target_input=target_input,
            after=[policy],
        )
