"""An integration's identity: one Lambda role whose policy names only its own resources.

The inline policy is generated from an explicit table of the actions each capability
needs (`CAPABILITY_ACTIONS`) and the ARNs the integration passes in, so it can never
name another integration's queue, secret, key or table. `cloudwatch:PutMetricData`,
which supports no resource, is the only `Resource: "*"`, and it carries the
`cloudwatch:namespace` condition (contracts.md, Metrics). External pushers holding an
IAM access key get an IAM user that may only send to the integration's queue, from the
roadmap's source ranges.

Usage::

    account = ServiceAccount("quote-to-order", ServiceAccountArgs(
        scope=scope,
        grants=[Grant("consume-queue", [queue.arn]), Grant("read-secret", [secret.arn])],
    ))
    account.role.arn
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import Scope, child, function_role, policy_output, send_to_queue
from contract.aws_types import COMPONENT_PREFIX
from contract.naming import WEBHOOK_INGRESS_ROLE

__all__ = ["Grant", "Pusher", "ServiceAccount", "ServiceAccountArgs"]

# Capability -> the IAM actions it needs, nothing more (Service Authorization Reference).
CAPABILITY_ACTIONS: dict[str, tuple[str, ...]] = {
    # Lambda developer guide, "Using Lambda with Amazon SQS": the event source mapping
    # needs Receive/Delete/GetQueueAttributes; ChangeMessageVisibility backs off retries.
    "consume-queue": (
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ),
    # Re-driving reconciliation gaps to the queue; Lambda's asynchronous DLQ delivery.
    "produce-to-queue": ("sqs:SendMessage",),
    "read-secret": ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"),
    # A webhook signing secret: read by the signed-webhook ingress function alone.
    "ingress-reads-signing-secret": ("secretsmanager:GetSecretValue",),
    # SQS and DynamoDB with a customer-managed key need both on the caller's behalf.
    "decrypt-with-key": ("kms:Decrypt", "kms:GenerateDataKey"),
    "read-write-state": (
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # The log group is created by the program, so no logs:CreateLogGroup.
    "write-own-logs": ("logs:CreateLogStream", "logs:PutLogEvents"),
    # Supports no resource-level permission; scoped by the namespace condition instead.
    "put-metrics": ("cloudwatch:PutMetricData",),
    # A warehouse pipeline's batch job writes its run's files under the stage's prefixes
    # (components/stage.py); it never reads, lists or deletes them.
    "write-stage": ("s3:PutObject",),
    # S3 encrypts each staged file with a data key of the integration's key (SSE-KMS), on
    # the writer's behalf: GenerateDataKey through S3 only (S3 user guide, "Using
    # server-side encryption with AWS KMS keys").
    "encrypt-stage-files": ("kms:GenerateDataKey",),
}


# The services that encrypt an integration's data with its key on the role's behalf: the
# queues, the credential secrets and the state table.
KEY_USING_SERVICES = ("dynamodb", "secretsmanager", "sqs")


@dataclass(frozen=True)
class Grant:
    """A capability on some of the integration's own resources (ARNs)."""

    capability: str
    resources: Sequence[pulumi.Input[str]] = ()


@dataclass(frozen=True)
class Pusher:
    """An external system that pushes into the integration's queue with an IAM access key."""

    credential: str
    queue_arn: pulumi.Input[str] | None  # None until phase 3: the user exists, may do nothing
    kms_key_arn: pulumi.Input[str]
    source_ranges: Sequence[str] = ()
    # The secret holding the pusher's own access key: it reads its current key from there
    # after each rotation, so the rotation never needs anyone to carry a key over.
    secret_arn: pulumi.Input[str] | None = None


@dataclass
class ServiceAccountArgs:
    """Inputs of a ServiceAccount."""

    scope: Scope
    grants: Sequence[Grant]
    permissions_boundary_arn: str | None = None
    pushers: Sequence[Pusher] = field(default_factory=tuple)


def _read_own_key(scope: Scope, pusher: Pusher, where: dict[str, Any]) -> list[dict[str, Any]]:
    """The pusher may read its own secret's AWSCURRENT version only, from its source ranges.

    ``secretsmanager:VersionStage`` limits GetSecretValue to the stage asked for (Secrets
    Manager User Guide, "Condition keys"), so neither AWSPENDING nor AWSPREVIOUS is readable;
    decrypting goes through Secrets Manager only (``kms:ViaService``).
    """
    if pusher.secret_arn is None:
        return []
    return [
        {
            "Sid": "ReadOwnCurrentKey",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [pusher.secret_arn],
            "Condition": {
                "StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"},
                **where.get("Condition", {}),
            },
        },
        {
            "Sid": "DecryptOwnKeySecret",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [pusher.kms_key_arn],
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{scope.region}.amazonaws.com"},
                **where.get("Condition", {}),
            },
        },
    ]


def _merged(grants: Sequence[Grant]) -> list[Grant]:
    """One grant per capability (IAM requires unique Sids), resources in first-seen order."""
    merged: dict[str, list[pulumi.Input[str]]] = {}
    for grant in grants:
        merged.setdefault(grant.capability, []).extend(grant.resources)
    return [Grant(capability, tuple(resources)) for capability, resources in merged.items()]


def _statement(scope: Scope, grant: Grant) -> dict[str, Any]:
    if grant.capability not in CAPABILITY_ACTIONS:
        known = ", ".join(sorted(CAPABILITY_ACTIONS))
        raise ValueError(f"unknown capability {grant.capability!r}; use one of: {known}")
    sid = "".join(part.title() for part in grant.capability.split("-"))
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(CAPABILITY_ACTIONS[grant.capability]),
    }
    if grant.capability == "decrypt-with-key":
        # Only for the services that hold the integration's data for it, never the key
        # directly (KMS developer guide, "kms:ViaService").
        statement["Condition"] = {
            "StringEquals": {
                "kms:ViaService": [
                    f"{service}.{scope.region}.amazonaws.com" for service in KEY_USING_SERVICES
                ]
            }
        }
    if grant.capability == "encrypt-stage-files":
        statement["Condition"] = {
            "StringEquals": {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}
        }
    if grant.capability == "ingress-reads-signing-secret":
        # The role is the integration's one, but only calls from the ingress function's own
        # code carry its ARN (Lambda developer guide, "Using source function ARN to control
        # function access behavior": lambda:SourceFunctionArn, identity policies only).
        # The Service Authorization Reference lists no such key per action, so linters built
        # on it (parliament) call it unknown for secretsmanager:GetSecretValue.
        statement["Condition"] = {
            "ArnEquals": {"lambda:SourceFunctionArn": scope.function_arn(WEBHOOK_INGRESS_ROLE)}
        }
    if grant.capability == "put-metrics":
        statement["Resource"] = "*"
        statement["Condition"] = {"StringEquals": {"cloudwatch:namespace": scope.metrics_namespace}}
    else:
        if not grant.resources:
            raise ValueError(f"capability {grant.capability!r} needs the resources it applies to")
        statement["Resource"] = list(grant.resources)
    return statement


class ServiceAccount(pulumi.ComponentResource):
    """The integration's role and inline policy, plus IAM users for external pushers."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    pusher_users: dict[str, aws.iam.User]

    def __init__(
        self, name: str, args: ServiceAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}ServiceAccount", name, None, opts)
        scope = args.scope
        self.role = function_role(
            self,
            f"{name}-role",
            scope,
            "role",
            f"Sync functions of {scope.integration} ({scope.environment})",
            args.permissions_boundary_arn,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=scope.physical("policy"),
            role=self.role.id,
            policy=policy_output([_statement(scope, g) for g in _merged(args.grants)]),
            opts=child(self),
        )

        self.pusher_users = {}
        self.pusher_policies: dict[str, aws.iam.UserPolicy] = {}
        for pusher in args.pushers:
            role = f"cred-{pusher.credential}"
            # Requests from anywhere else are refused even with a valid key (IAM user
            # guide, "aws:SourceIp"); no ranges in the roadmap means no such condition.
            where = (
                {"Condition": {"IpAddress": {"aws:SourceIp": list(pusher.source_ranges)}}}
                if pusher.source_ranges
                else {}
            )
            user = aws.iam.User(
                f"{name}-{role}",
                name=scope.physical(role),
                permissions_boundary=args.permissions_boundary_arn,
                tags=scope.tags,
                opts=child(self),
            )
            self.pusher_users[pusher.credential] = user
            if pusher.queue_arn is None:
                continue
            self.pusher_policies[pusher.credential] = aws.iam.UserPolicy(
                f"{name}-{role}-policy",
                name=scope.physical(f"{role}-policy"),
                user=user.name,
                policy=policy_output(
                    [
                        *send_to_queue(
                            scope,
                            ("SendToOwnQueue", "EncryptForOwnQueue"),
                            pusher.queue_arn,
                            pusher.kms_key_arn,
                            where.get("Condition"),
                        ),
                        *_read_own_key(scope, pusher, where),
                    ]
                ),
                opts=child(self),
            )

        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "pusherUserArns": {c: u.arn for c, u in self.pusher_users.items()},
            }
        )
