"""A warehouse pipeline's S3 stage: files the batch job writes and the warehouse loads.

Experts do not push rows into a warehouse one statement at a time: the sync job writes each
run's records as files into a stage bucket, and the warehouse loads them itself (Snowflake:
COPY INTO, or Snowpipe auto-ingest on the bucket's event notification). From phase 3 a
`warehouse_pipeline` integration gets:

- the bucket `{prefix}-{integration}-stage-{account}` (contract.naming `stage_bucket_name`),
  encrypted with the integration's own KMS key (SSE-KMS, bucket key on), public access fully
  blocked, ACLs off (BucketOwnerEnforced), plain HTTP refused by its policy, staged files
  expired after `EXPIRE_AFTER_DAYS` and incomplete uploads aborted;
- for a Snowflake target, the role `stage-role` that Snowflake's storage integration
  assumes: trusted by Snowflake's IAM user only with the storage integration's
  `sts:ExternalId`, allowed to read the staged objects' prefixes and list them, and to
  decrypt them through S3 only; and, when the pipe's queue is known, an `s3:ObjectCreated:*`
  notification to it (else Snowpipe is not wired and the loads run by COPY).

The sync role's own grant (put files under the same prefixes) is `stage_grants`.

Usage::

    stage = Stage("warehouse-export", StageArgs(scope, key_arn, ["account"], snowflake))
    stage.bucket.bucket  # 'dev-warehouse-export-stage-111111111111'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._bucket import PrivateBucket
from components._scope import Scope, child, policy_document, policy_output
from contract.aws_types import COMPONENT_PREFIX
from contract.naming import STAGE_ROLE, stage_bucket_name
from contract.transport import deny_insecure_transport
from roadmap.settings import SnowflakeStage

__all__ = ["EXPIRE_AFTER_DAYS", "Stage", "StageArgs", "stage_prefixes"]

# Staged files are loaded within the run's staleness window; a week keeps a failed load
# re-runnable over a weekend, then the files go (the warehouse holds the data).
EXPIRE_AFTER_DAYS = 7
# A multipart upload left by a killed run is billed until aborted (S3 user guide,
# "Configuring a bucket lifecycle configuration to delete incomplete multipart uploads").
ABORT_UPLOADS_AFTER_DAYS = 1
STAGE_ROLE_NAME = f"{STAGE_ROLE}-role"


def stage_prefixes(objects: Sequence[str]) -> list[str]:
    """The key prefixes of the staged files: one per roadmap object, `{object}/`."""
    return [f"{name}/" for name in objects]


@dataclass
class StageArgs:
    """Inputs of a Stage: the integration's scope and key, its objects, and Snowflake's values
    (None for a warehouse that needs no storage-integration role)."""

    scope: Scope
    kms_key_arn: pulumi.Input[str]
    objects: Sequence[str]
    snowflake: SnowflakeStage | None = None
    # The stack's boundary applies to every role the program creates, this one included.
    permissions_boundary_arn: str | None = None


class Stage(pulumi.ComponentResource):
    """The stage bucket of one warehouse pipeline, and its warehouse's way in."""

    bucket: aws.s3.Bucket
    role: aws.iam.Role | None
    notification: aws.s3.BucketNotification | None
    bucket_name: str
    object_arns: list[str]

    def __init__(
        self, name: str, args: StageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}Stage", name, None, opts)
        scope = args.scope
        protect = scope.protect_stateful
        self.bucket_name = stage_bucket_name(scope.name_prefix, scope.integration, scope.account_id)
        bucket_arn = f"arn:aws:s3:::{self.bucket_name}"
        prefixes = stage_prefixes(args.objects)
        self.object_arns = [f"{bucket_arn}/{p}*" for p in prefixes]
        stage = PrivateBucket.create(
            self, f"{name}-{STAGE_ROLE}", self.bucket_name, args.kms_key_arn, scope.tags, protect
        )
        self.bucket = stage.bucket
        # ACLs disabled: the bucket owner owns every object (S3 user guide, "Controlling
        # ownership of objects and disabling ACLs for your bucket").
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-{STAGE_ROLE}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child(self),
        )
        self.lifecycle = stage.lifecycle(
            "expire-staged-files", EXPIRE_AFTER_DAYS, ABORT_UPLOADS_AFTER_DAYS
        )
        # Nobody over plain HTTP.
        self.policy = aws.s3.BucketPolicy(
            f"{name}-{STAGE_ROLE}-policy",
            bucket=self.bucket.id,
            policy=policy_document(
                [deny_insecure_transport("s3", [bucket_arn, f"{bucket_arn}/*"])]
            ),
            opts=child(self, depends_on=[stage.public_access_block]),
        )
        self.role = self.notification = None
        if args.snowflake is not None:
            self._snowflake(name, scope, args, bucket_arn, prefixes)
        self.register_outputs(
            {
                "bucket": self.bucket.id,
                "roleArn": self.role.arn if self.role is not None else None,
            }
        )

    def _snowflake(
        self, name: str, scope: Scope, args: StageArgs, bucket_arn: str, prefixes: list[str]
    ) -> None:
        """Snowflake docs, "Configuring a Snowflake storage integration to access Amazon S3":
        the role trusts STORAGE_AWS_IAM_USER_ARN with sts:ExternalId STORAGE_AWS_EXTERNAL_ID,
        and may get the objects and list the bucket under the stage's prefixes."""
        snowflake = args.snowflake
        assert snowflake is not None
        self.role = aws.iam.Role(
            f"{name}-{STAGE_ROLE_NAME}",
            name=scope.physical(STAGE_ROLE_NAME),
            description=f"Snowflake loads the stage of {scope.integration} ({scope.environment})",
            assume_role_policy=policy_document(
                [
                    {
                        "Sid": "SnowflakeStorageIntegration",
                        "Effect": "Allow",
                        "Principal": {"AWS": snowflake.storage_aws_iam_user_arn},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"sts:ExternalId": snowflake.storage_aws_external_id}
                        },
                    }
                ]
            ),
            permissions_boundary=args.permissions_boundary_arn,
            tags=scope.tags,
            opts=child(self),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-{STAGE_ROLE_NAME}-policy",
            name=scope.physical(f"{STAGE_ROLE_NAME}-policy"),
            role=self.role.id,
            policy=policy_output(
                [
                    {
                        "Sid": "ReadStagedFiles",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                        "Resource": self.object_arns,
                    },
                    {
                        "Sid": "ListStagedFiles",
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": bucket_arn,
                        "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
                    },
                    {
                        # SSE-KMS objects are decrypted for the reader, through S3 only.
                        "Sid": "DecryptStagedFilesThroughS3",
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": args.kms_key_arn,
                        "Condition": {
                            "StringEquals": {"kms:ViaService": f"s3.{scope.region}.amazonaws.com"}
                        },
                    },
                ]
            ),
            opts=child(self),
        )
        channel = snowflake.pipe_notification_channel_arn
        if channel is None:
            pulumi.log.info(
                f"{scope.integration}: no snowflake.pipeNotificationChannelArn, so the stage "
                "sends no event notification; Snowpipe auto-ingest is off until SHOW PIPES' "
                "notification_channel is set (loads run by COPY INTO meanwhile)",
                self,
            )
            return
        # Snowflake docs, "Automating Snowpipe for Amazon S3": object-created events to the
        # pipe's SQS queue, which Snowflake's account owns and lets S3 send to.
        self.notification = aws.s3.BucketNotification(
            f"{name}-{STAGE_ROLE}-notification",
            bucket=self.bucket.id,
            queues=[
                {
                    "id": f"snowpipe-{p.rstrip('/')}",
                    "queue_arn": channel,
                    "events": ["s3:ObjectCreated:*"],
                    "filter_prefix": p,
                }
                for p in prefixes
            ],
            opts=child(self),
        )
