"""What every component of one integration shares: names, tags, ARNs and policy documents.

Private to `components/`: the public surface is the component classes and their Args.
Names and tags follow docs/contracts.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from contract.metrics import namespace
from contract.naming import logical_name, physical_name


@dataclass(frozen=True)
class Scope:
    """One integration in one stack: where its resources live and how they are tagged.

    `environment` picks the rules (dev, staging, prod); `name_prefix` is the stack's own
    prefix of every physical name, so two stacks of one environment never collide.
    `account_id` is the account the engine deploys into (`aws.get_caller_identity()`).

    Usage::

        scope = Scope("dev", "dev-alice", "quote-to-order", account, "eu-west-1", tags)
        scope.physical("dlq")  # 'dev-alice-quote-to-order-dlq'
    """

    environment: str
    name_prefix: str
    integration: str
    account_id: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    protect_stateful: bool = False

    def physical(self, role: str) -> str:
        """AWS name `{prefix}-{integration}-{role}` within AWS's limits (`contract.naming`)."""
        return physical_name(self.name_prefix, self.integration, role)

    def logical(self, role: str) -> str:
        """Pulumi name `{integration}-{role}` (`contract.naming`)."""
        return logical_name(self.integration, role)

    def tags_with(self, **extra: str) -> dict[str, str]:
        return {**self.tags, **extra}

    @property
    def metrics_namespace(self) -> str:
        return namespace(self.integration)

    # ARNs that are fully determined by a name. They are used only inside policy
    # *conditions* and log-stream scopes, where IAM does not require the principal or
    # resource to exist yet, so no creation-order cycle arises (see ScopedCredential).
    def role_arn(self, role: str = "role") -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.physical(role)}"

    def user_arn(self, role: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.physical(role)}"

    def log_group_name(self, function_role: str) -> str:
        """Lambda's default log group for a function (Lambda developer guide, "Logging")."""
        return f"/aws/lambda/{self.physical(function_role)}"

    def log_group_arn(self, function_role: str) -> str:
        """The log group's ARN as CloudWatch Logs puts it in the KMS encryption context."""
        return self._regional_arn("logs", f"log-group:{self.log_group_name(function_role)}")

    def log_streams_arn(self, function_role: str) -> str:
        return f"{self.log_group_arn(function_role)}:*"

    def alarm_arn(self, kind: str) -> str:
        return self._regional_arn("cloudwatch", f"alarm:{self.physical(kind)}")

    def function_arn(self, role: str) -> str:
        return self._regional_arn("lambda", f"function:{self.physical(role)}")

    def rule_arn(self, role: str) -> str:
        return self._regional_arn("events", f"rule/{self.physical(role)}")

    def _regional_arn(self, service: str, resource: str) -> str:
        """`arn:aws:<service>:<region>:<account>:<resource>` (IAM user guide, "IAM ARNs")."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    @property
    def account_root(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"


def child(
    parent: pulumi.Resource, *, protect: bool = False, **kwargs: Any
) -> pulumi.ResourceOptions:
    """Options for a component's child: always parented, optionally protected."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, **kwargs)


def function_role(
    parent: pulumi.Resource,
    logical: str,
    scope: Scope,
    role: str,
    description: str,
    permissions_boundary_arn: str | None,
) -> aws.iam.Role:
    """An IAM role only Lambda may assume (`LAMBDA_TRUST_POLICY`), named for `role`, under
    the stack's permissions boundary."""
    return aws.iam.Role(
        logical,
        name=scope.physical(role),
        description=description,
        assume_role_policy=LAMBDA_TRUST_POLICY,
        permissions_boundary=permissions_boundary_arn,
        tags=scope.tags,
        opts=child(parent),
    )


def policy_document(statements: list[dict[str, Any]]) -> str:
    """An IAM policy document with stable key order (diffs stay quiet between runs)."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def send_to_queue(
    scope: Scope,
    sids: tuple[str, str],
    queue_arn: pulumi.Input[str],
    key_arn: pulumi.Input[str],
    condition: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Statements to send to one of the integration's encrypted queues: `sqs:SendMessage`
    on it, and the key's data key through SQS only (SQS developer guide, "Key management":
    a queue encrypted with a customer-managed key needs both); `condition` narrows both."""
    narrowed = {"Condition": condition} if condition else {}
    return [
        {"Sid": sids[0], "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [queue_arn]}
        | narrowed,
        {
            "Sid": sids[1],
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
            "Condition": {
                "StringEquals": {"kms:ViaService": f"sqs.{scope.region}.amazonaws.com"},
                **(condition or {}),
            },
        },
    ]


# The trust policy of every function role: only the Lambda service may assume it
# (Lambda developer guide, "Defining Lambda function permissions with an execution role").
LAMBDA_TRUST_POLICY = policy_document(
    [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
)


def _outputs_in(value: Any) -> list[pulumi.Output[Any]]:
    """The Outputs inside a JSON-shaped value, depth first."""
    if isinstance(value, pulumi.Output):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [found for item in value for found in _outputs_in(item)]
    return []


def _filled(value: Any, known: Iterator[Any]) -> Any:
    """The value with its Outputs replaced, in `_outputs_in` order, by what they resolved to."""
    if isinstance(value, pulumi.Output):
        return next(known)
    if isinstance(value, dict):
        return {key: _filled(item, known) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(item, known) for item in value]
    return value


def policy_output(statements: list[dict[str, Any]]) -> pulumi.Input[str]:
    """The same from statements that may contain Outputs (ARNs of resources not created yet).

    One Output over just those Outputs, which the document waits for and depends on; a
    plain document when there are none. (`Output.from_input` over the whole document made
    an Output of every string in it, about 60 per policy.)
    """
    outputs = _outputs_in(statements)
    if not outputs:
        return policy_document(statements)
    return pulumi.Output.all(*outputs).apply(
        lambda values: policy_document(_filled(statements, iter(values)))
    )
