"""Creators and finders for the stack's audit trail: its S3 bucket (and the resources that
configure it) and the CloudTrail trail, registered into `creators.CREATORS` and `FINDERS`.

Usage::

    from provisioner.rehearsal.trail_creators import TRAIL_CREATORS, TRAIL_FINDERS
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.rehearsal.creators import Ctx

__all__ = ["TRAIL_CREATORS", "TRAIL_FINDERS"]

Inputs = Mapping[str, Any]
Outputs = dict[str, Any]

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TRAIL = "aws:cloudtrail/trail:Trail"


def _state(inputs: Inputs, **computed: Any) -> Outputs:
    tags = {str(k): str(v) for k, v in (inputs.get("tags") or {}).items()}
    return {**inputs, "tagsAll": tags, **computed}


def _bucket(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    bucket = str(i.get("bucket") or name)
    params: dict[str, Any] = {"Bucket": bucket}
    if c.region != "us-east-1":  # S3 CreateBucket: us-east-1 takes no LocationConstraint
        params["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    c("s3").create_bucket(**params)
    tags = [{"Key": str(k), "Value": str(v)} for k, v in (i.get("tags") or {}).items()]
    if tags:
        c("s3").put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    return bucket, _state(i, bucket=bucket, arn=f"arn:aws:s3:::{bucket}")


def _public_access_block(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    config = {flag: bool(i.get(flag[0].lower() + flag[1:])) for flag in flags}
    c("s3").put_public_access_block(Bucket=i["bucket"], PublicAccessBlockConfiguration=config)
    return str(i["bucket"]), _state(i)


def _versioning(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    status = (i.get("versioningConfiguration") or {}).get("status", "Suspended")
    c("s3").put_bucket_versioning(Bucket=i["bucket"], VersioningConfiguration={"Status": status})
    return str(i["bucket"]), _state(i)


def _encryption(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
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
    c("s3").put_bucket_encryption(
        Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
    )
    return str(i["bucket"]), _state(i)


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ID": rule.get("id"),
        "Status": rule.get("status"),
        "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")},
    }
    if rule.get("expiration"):
        out["Expiration"] = {"Days": int(rule["expiration"]["days"])}
    if rule.get("transitions"):
        out["Transitions"] = [
            {"Days": int(t["days"]), "StorageClass": t["storageClass"]} for t in rule["transitions"]
        ]
    if rule.get("noncurrentVersionExpiration"):
        days = rule["noncurrentVersionExpiration"]["noncurrentDays"]
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(days)}
    if rule.get("abortIncompleteMultipartUpload"):
        days = rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
    return out


def _lifecycle(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    rules = [_lifecycle_rule(r) for r in i.get("rules") or []]
    c("s3").put_bucket_lifecycle_configuration(
        Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules}
    )
    return str(i["bucket"]), _state(i)


def _bucket_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    c("s3").put_bucket_policy(Bucket=i["bucket"], Policy=i["policy"])
    return str(i["bucket"]), _state(i)


_FIELD_KEYS = {
    "equals": "Equals",
    "startsWiths": "StartsWith",
    "endsWiths": "EndsWith",
    "notEquals": "NotEquals",
    "notStartsWiths": "NotStartsWith",
    "notEndsWiths": "NotEndsWith",
}


def advanced_selectors(inputs: Inputs) -> list[dict[str, Any]]:
    """pulumi-aws's `advancedEventSelectors` in the shape of the CloudTrail API."""
    selectors = []
    for selector in inputs.get("advancedEventSelectors") or []:
        fields = []
        for fs in selector.get("fieldSelectors") or []:
            field: dict[str, Any] = {"Field": fs["field"]}
            for key, api in _FIELD_KEYS.items():
                if fs.get(key):
                    field[api] = list(fs[key])
            fields.append(field)
        selectors.append({"Name": selector.get("name", ""), "FieldSelectors": fields})
    return selectors


def _trail(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    trail_name = str(i.get("name") or name)
    tags = [{"Key": str(k), "Value": str(v)} for k, v in (i.get("tags") or {}).items()]
    trail = c("cloudtrail").create_trail(
        Name=trail_name,
        S3BucketName=i["s3BucketName"],
        IsMultiRegionTrail=bool(i.get("isMultiRegionTrail")),
        IncludeGlobalServiceEvents=bool(i.get("includeGlobalServiceEvents", True)),
        EnableLogFileValidation=bool(i.get("enableLogFileValidation")),
        **({"KmsKeyId": i["kmsKeyId"]} if i.get("kmsKeyId") else {}),
        **({"TagsList": tags} if tags else {}),
    )
    selectors = advanced_selectors(i)
    if selectors:
        c("cloudtrail").put_event_selectors(TrailName=trail_name, AdvancedEventSelectors=selectors)
    if i.get("enableLogging", True):
        c("cloudtrail").start_logging(Name=trail_name)
    arn = trail["TrailARN"]
    return arn, _state(i, arn=arn, name=trail_name, homeRegion=c.region)


TRAIL_CREATORS: dict[str, Callable[[Ctx, str, Inputs], tuple[str, Outputs]]] = {
    BUCKET: _bucket,
    PUBLIC_ACCESS_BLOCK: _public_access_block,
    VERSIONING: _versioning,
    ENCRYPTION: _encryption,
    LIFECYCLE: _lifecycle,
    BUCKET_POLICY: _bucket_policy,
    TRAIL: _trail,
}

TRAIL_FINDERS: dict[str, Callable[[Ctx, str, Outputs], object]] = {
    BUCKET: lambda c, rid, o: c("s3").head_bucket(Bucket=rid),
    PUBLIC_ACCESS_BLOCK: lambda c, rid, o: c("s3").get_public_access_block(Bucket=rid),
    VERSIONING: lambda c, rid, o: c("s3").get_bucket_versioning(Bucket=rid)["Status"],
    ENCRYPTION: lambda c, rid, o: c("s3").get_bucket_encryption(Bucket=rid),
    LIFECYCLE: lambda c, rid, o: c("s3").get_bucket_lifecycle_configuration(Bucket=rid),
    BUCKET_POLICY: lambda c, rid, o: c("s3").get_bucket_policy(Bucket=rid),
    TRAIL: lambda c, rid, o: c("cloudtrail").get_trail(Name=rid),
}
