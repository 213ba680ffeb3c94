"""DynamoDB: an integration's idempotency (state) table and its resource policy.

Usage::

    RESOURCES[DYNAMODB_TABLE].create(ctx, "quote-to-order-state", inputs)
"""

from __future__ import annotations

from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _table_params(i: Inputs) -> dict[str, Any]:
    """CreateTable's parameters other than the name and tags."""
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    billing = i.get("billingMode") or "PROVISIONED"
    sse = i.get("serverSideEncryption") or {}
    return base.drop_none(
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]
        ],
        KeySchema=keys,
        BillingMode=billing,
        ProvisionedThroughput={
            "ReadCapacityUnits": base.as_int(i.get("readCapacity", 1)),
            "WriteCapacityUnits": base.as_int(i.get("writeCapacity", 1)),
        }
        if billing == "PROVISIONED"
        else None,
        SSESpecification=base.drop_none(
            Enabled=True, SSEType="KMS", KMSMasterKeyId=sse.get("kmsKeyArn")
        )
        if sse.get("enabled")
        else None,
        DeletionProtectionEnabled=i.get("deletionProtectionEnabled"),
    )


def _table(c: Ctx, name: str, i: Inputs) -> Created:
    table_name = base.physical(name, i)
    table = c("dynamodb").create_table(
        TableName=table_name, **_table_params(i), **base.drop_none(Tags=base.tag_list(i))
    )["TableDescription"]
    ttl = i.get("ttl") or {}
    if ttl.get("enabled"):
        c("dynamodb").update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
        )
    if (i.get("pointInTimeRecovery") or {}).get("enabled"):
        c("dynamodb").update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return table_name, base.state(i, name=table_name, arn=table["TableArn"])


def _resource_policy(c: Ctx, name: str, i: Inputs) -> Created:
    revision = c("dynamodb").put_resource_policy(ResourceArn=i["resourceArn"], Policy=i["policy"])
    return str(i["resourceArn"]), base.state(i, revisionId=revision.get("RevisionId"))


RESOURCES: dict[str, Resource] = {
    aws_types.DYNAMODB_TABLE: base.listable(
        _table, "dynamodb", ("describe_table", "TableName"), ("list_tables", "TableNames[]")
    ),
    aws_types.DYNAMODB_RESOURCE_POLICY: Resource(
        _resource_policy,
        base.described("dynamodb", "get_resource_policy", "ResourceArn"),
    ),
}
