"""S3: the audit trail's and a warehouse stage's buckets and what configures them.

Every resource but the bucket configures one bucket, names it in its ``bucket`` input, and
takes the bucket's name as its id (as the provider does): each is the one API call that
sets it and the one that reads it back.

Usage::

    RESOURCES[S3_BUCKET].create(ctx, "stack-audit-bucket", {"bucket": "dev-stack-audit-1111"})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _bucket(c: Ctx, name: str, i: Inputs) -> Created:
    bucket = str(i.get("bucket") or name)
    params: dict[str, Any] = {"Bucket": bucket}
    if c.region != "us-east-1":  # S3 CreateBucket: us-east-1 takes no LocationConstraint
        params["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    c("s3").create_bucket(**params)
    if base.tag_list(i):
        c("s3").put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": base.tag_list(i)})
    return bucket, base.state(i, bucket=bucket, arn=f"arn:aws:s3:::{bucket}")


def _public_access_block(i: Inputs) -> dict[str, Any]:
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    config = {flag: bool(i.get(flag[0].lower() + flag[1:])) for flag in flags}
    return {"PublicAccessBlockConfiguration": config}


def _versioning(i: Inputs) -> dict[str, Any]:
    status = (i.get("versioningConfiguration") or {}).get("status", "Suspended")
    return {"VersioningConfiguration": {"Status": status}}


def _encryption(i: Inputs) -> dict[str, Any]:
    rules = []
    for rule in i.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        by_default = {"SSEAlgorithm": default.get("sseAlgorithm")}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append(
            {
                "ApplyServerSideEncryptionByDefault": by_default,
                "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
            }
        )
    return {"ServerSideEncryptionConfiguration": {"Rules": rules}}


# A lifecycle rule's actions: pulumi-aws input -> (API name, its one field: input, API name).
_LIFECYCLE_ACTIONS = {
    "expiration": ("Expiration", "days", "Days"),
    "noncurrentVersionExpiration": (
        "NoncurrentVersionExpiration",
        "noncurrentDays",
        "NoncurrentDays",
    ),
    "abortIncompleteMultipartUpload": (
        "AbortIncompleteMultipartUpload",
        "daysAfterInitiation",
        "DaysAfterInitiation",
    ),
}


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ID": rule.get("id"),
        "Status": rule.get("status"),
        "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")},
    }
    for key, (api, field, api_field) in _LIFECYCLE_ACTIONS.items():
        if rule.get(key):
            out[api] = {api_field: base.as_int(rule[key][field])}
    if rule.get("transitions"):
        out["Transitions"] = [
            {"Days": base.as_int(t["days"]), "StorageClass": t["storageClass"]}
            for t in rule["transitions"]
        ]
    return out


def _lifecycle(i: Inputs) -> dict[str, Any]:
    rules = [_lifecycle_rule(r) for r in i.get("rules") or []]
    return {"LifecycleConfiguration": {"Rules": rules}}


def _ownership(i: Inputs) -> dict[str, Any]:
    rule = i.get("rule") or {}
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]}}


def _queue_notification(n: int, queue: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Id": queue.get("id") or f"queue-{n}",
        "QueueArn": queue["queueArn"],
        "Events": list(queue["events"]),
    }
    if queue.get("filterPrefix"):
        rules = [{"Name": "prefix", "Value": queue["filterPrefix"]}]
        found["Filter"] = {"Key": {"FilterRules": rules}}
    return found


def _notification(i: Inputs) -> dict[str, Any]:
    queues = [_queue_notification(n, q) for n, q in enumerate(i.get("queues") or [])]
    return {
        "NotificationConfiguration": {"QueueConfigurations": queues},
        # The pipe's queue belongs to Snowflake's account: S3 cannot send it a test event
        # from this one (S3 API reference, PutBucketNotificationConfiguration:
        # SkipDestinationValidation).
        "SkipDestinationValidation": True,
    }


def _configures(
    put: str, params: Callable[[Inputs], Mapping[str, Any]], get: str, *read: str | int
) -> Resource:
    """A bucket's configuration: ``put(Bucket=..., **params(inputs))``, found by ``get``.

    ``read`` is the path in ``get``'s answer that must be there (a missing one raises).
    """

    def apply(c: Ctx, i: Inputs) -> None:
        getattr(c("s3"), put)(Bucket=i["bucket"], **params(i))

    def find(c: Ctx, rid: str, o: Mapping[str, Any]) -> object:
        found = getattr(c("s3"), get)(Bucket=rid)
        for step in read:
            found = found[step]
        return found

    return Resource(base.setting("bucket", apply), find)


RESOURCES: dict[str, Resource] = {
    aws_types.S3_BUCKET: base.listable(
        _bucket, "s3", ("head_bucket", "Bucket"), ("list_buckets", "Buckets[].Name")
    ),
    aws_types.S3_BUCKET_PUBLIC_ACCESS_BLOCK: _configures(
        "put_public_access_block", _public_access_block, "get_public_access_block"
    ),
    aws_types.S3_BUCKET_VERSIONING: _configures(
        "put_bucket_versioning", _versioning, "get_bucket_versioning", "Status"
    ),
    aws_types.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION: _configures(
        "put_bucket_encryption", _encryption, "get_bucket_encryption"
    ),
    aws_types.S3_BUCKET_LIFECYCLE_CONFIGURATION: _configures(
        "put_bucket_lifecycle_configuration", _lifecycle, "get_bucket_lifecycle_configuration"
    ),
    aws_types.S3_BUCKET_POLICY: _configures(
        "put_bucket_policy", lambda i: {"Policy": i["policy"]}, "get_bucket_policy"
    ),
    aws_types.S3_BUCKET_OWNERSHIP_CONTROLS: _configures(
        "put_bucket_ownership_controls",
        _ownership,
        "get_bucket_ownership_controls",
        *("OwnershipControls", "Rules", 0, "ObjectOwnership"),
    ),
    aws_types.S3_BUCKET_NOTIFICATION: _configures(
        "put_bucket_notification_configuration",
        _notification,
        "get_bucket_notification_configuration",
        "QueueConfigurations",
    ),
}
