"""An integration's state table: idempotency records and batch watermarks.

A DynamoDB table (partition key `id`, TTL on `expiration`, the names the sync functions
use through aws-lambda-powertools) encrypted with the integration's key, whose resource
policy refuses data access to every principal but the integration's own role.

Usage::

    store = IdempotencyStore("quote-to-order", IdempotencyStoreArgs(
        scope=scope, kms_key_arn=key.arn))
    store.table.name
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._scope import Scope, child, policy_output
from contract.aws_types import COMPONENT_PREFIX

__all__ = ["IdempotencyStore", "IdempotencyStoreArgs"]

PARTITION_KEY = "id"  # functions/integration_sync/state.py and consumer.py
TTL_ATTRIBUTE = "expiration"  # powertools DynamoDBPersistenceLayer default expiry attribute

_DATA_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
    # PartiQL reads and writes the same items through its own actions (DynamoDB developer
    # guide, "IAM policies with PartiQL for DynamoDB"); a deny list without them is open.
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLSelect",
    "dynamodb:PartiQLUpdate",
]


@dataclass
class IdempotencyStoreArgs:
    """Inputs of an IdempotencyStore."""

    scope: Scope
    kms_key_arn: pulumi.Input[str]


class IdempotencyStore(pulumi.ComponentResource):
    """The integration's DynamoDB state table, readable and writable by its role only."""

    table: aws.dynamodb.Table

    def __init__(
        self, name: str, args: IdempotencyStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}IdempotencyStore", name, None, opts)
        scope = args.scope
        self.table = aws.dynamodb.Table(
            f"{name}-state",
            name=scope.physical("state"),
            billing_mode="PAY_PER_REQUEST",  # sync traffic is bursty; no capacity to tune
            hash_key=PARTITION_KEY,
            attributes=[{"name": PARTITION_KEY, "type": "S"}],
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.kms_key_arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=scope.protect_stateful,
            tags=scope.tags,
            opts=child(self, protect=scope.protect_stateful),
        )
        # Data access for nobody but the integration role, whatever IAM grants elsewhere
        # (DynamoDB developer guide, "Resource-based policies"). The role is named in a
        # condition, so the table can exist before the role does.
        self.policy = aws.dynamodb.ResourcePolicy(
            f"{name}-state-policy",
            resource_arn=self.table.arn,
            policy=policy_output(
                [
                    {
                        "Sid": "OnlyTheIntegrationRoleTouchesData",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": _DATA_ACTIONS,
                        "Resource": self.table.arn,
                        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": scope.role_arn()}},
                    }
                ]
            ),
            opts=child(self),
        )
        self.register_outputs({"tableName": self.table.name, "tableArn": self.table.arn})
