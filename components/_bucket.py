"""A private S3 bucket encrypted with a customer-managed key: the audit trail's log bucket and
a warehouse pipeline's stage are both built from here, then configured for their own use.

Private to `components/`.

Usage::

    private = PrivateBucket.create(self, f"{name}-stage", bucket_name, key_arn, tags, protect)
    private.bucket, private.public_access_block, private.encryption
    private.lifecycle("expire-staged-files", expire_after_days=7, abort_uploads_after_days=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components._scope import child


@dataclass(frozen=True)
class PrivateBucket:
    """A bucket with every public-access block on and SSE-KMS by default (bucket key on)."""

    parent: pulumi.Resource
    logical: str
    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration

    def lifecycle(
        self,
        rule_id: str,
        expire_after_days: int,
        abort_uploads_after_days: int,
        *,
        after: Sequence[pulumi.Resource] = (),
        **rule: Any,
    ) -> aws.s3.BucketLifecycleConfiguration:
        """One rule over the whole bucket: objects expire after `expire_after_days`, and
        multipart uploads nobody completed are aborted (S3 user guide, "Managing the
        lifecycle of objects"); `rule` adds to it, `after` are resources it waits for."""
        whole_bucket = {
            "id": rule_id,
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": expire_after_days},
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": abort_uploads_after_days
            },
            **rule,
        }
        return aws.s3.BucketLifecycleConfiguration(
            f"{self.logical}-lifecycle",
            bucket=self.bucket.id,
            rules=[cast(aws.s3.BucketLifecycleConfigurationRuleArgsDict, whole_bucket)],
            opts=child(self.parent, depends_on=list(after)),
        )

    @classmethod
    def create(
        cls,
        parent: pulumi.Resource,
        logical: str,
        bucket_name: str,
        kms_key_arn: pulumi.Input[str],
        tags: dict[str, str],
        protect: bool,
    ) -> PrivateBucket:
        bucket = aws.s3.Bucket(
            logical,
            bucket=bucket_name,
            force_destroy=not protect,
            tags=tags,
            opts=child(parent, protect=protect),
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{logical}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(parent),
        )
        # SSE-KMS with the caller's key; the bucket key cuts KMS requests (S3 user guide,
        # "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys").
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{logical}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": kms_key_arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child(parent),
        )
        return cls(parent, logical, bucket, public_access_block, encryption)
