"""The stack's audit trail: who invoked the integrations' functions and read their secrets.

One trail per stack (not per integration), in the stack's region: log-file validation on,
encrypted with a stack-level KMS key that only this trail may encrypt with, delivered to an
S3 bucket that only CloudTrail writes to, over TLS only, never public, versioned and
expiring. It records every management event (Secrets Manager's reads and changes are
management events: Secrets Manager user guide, "Log AWS Secrets Manager events with AWS
CloudTrail") and the Lambda invoke data events of the stack's integrations' functions,
selected by their name prefix so a function added later is covered too.

Usage::

    trail = AuditTrail("stack-audit", AuditTrailArgs(settings, account_id, ["quote-to-order"]))
    trail.trail.arn
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components._bucket import PrivateBucket
from components._scope import child, policy_document
from components.credential_policies import KEY_ADMIN_ACTIONS
from contract.aws_types import COMPONENT_PREFIX
from contract.naming import physical_name, stack_physical_name
from contract.transport import deny_insecure_transport
from roadmap.settings import StackSettings

__all__ = [
    "AuditTrail",
    "AuditTrailArgs",
    "audit_names",
    "event_selectors",
    "function_arn_prefixes",
]

# The shortest life of a log file: the account's own event history already keeps 90 days
# (CloudTrail user guide, "Working with CloudTrail event history").
MIN_RETENTION_DAYS = 90
# S3 moves objects to STANDARD_IA no sooner than 30 days after creation (S3 user guide,
# "Transitioning objects using Amazon S3 Lifecycle").
INFREQUENT_ACCESS_AFTER_DAYS = 30
NONCURRENT_VERSION_DAYS = 30
# A log file upload CloudTrail never completed is aborted after a week.
ABORT_UPLOADS_AFTER_DAYS = 7


@dataclass(frozen=True)
class AuditNames:
    """The physical names of the stack's audit resources and the trail's ARN."""

    trail: str
    trail_arn: str
    bucket: str
    key_alias: str


def audit_names(settings: StackSettings, account_id: str) -> AuditNames:
    """Names from `contract.naming`: `{prefix}-stack-audit-...`; the bucket's carries the
    account, since S3 bucket names are global."""
    trail = stack_physical_name(settings.name_prefix, "audit-trail")
    return AuditNames(
        trail=trail,
        trail_arn=f"arn:aws:cloudtrail:{settings.region}:{account_id}:trail/{trail}",
        bucket=stack_physical_name(settings.name_prefix, f"audit-{account_id}", limit=63),
        key_alias=f"alias/{stack_physical_name(settings.name_prefix, 'audit-key')}",
    )


def function_arn_prefixes(
    settings: StackSettings, account_id: str, integrations: list[str]
) -> list[str]:
    """ARN prefixes of the integrations' functions.

    Every physical name keeps its `{prefix}-{integration}-` head (contract/naming.py), so
    these prefixes cover every function of those integrations, rotators included, and
    nothing of another stack or integration.
    """
    return [
        f"arn:aws:lambda:{settings.region}:{account_id}:function:"
        + physical_name(settings.name_prefix, name, "")
        for name in sorted(integrations)
    ]


def event_selectors(
    function_prefixes: list[str],
) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgs]:
    """Advanced event selectors: all management events, and invocations of the functions."""
    selector = aws.cloudtrail.TrailAdvancedEventSelectorArgs
    field_ = aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs
    return [
        # Secrets Manager reads (GetSecretValue) and changes (PutSecretValue, rotation) are
        # management events; they cannot be narrowed by ARN, so all are recorded.
        selector(
            name="Management events, Secrets Manager's included",
            field_selectors=[field_(field="eventCategory", equals=["Management"])],
        ),
        selector(
            name="Invocations of the integrations' functions",
            field_selectors=[
                field_(field="eventCategory", equals=["Data"]),
                field_(field="resources.type", equals=["AWS::Lambda::Function"]),
                field_(field="resources.ARN", starts_withs=function_prefixes),
            ],
        ),
    ]


@dataclass
class AuditTrailArgs:
    settings: StackSettings
    account_id: str
    integrations: list[str]
    tags: dict[str, str] = field(default_factory=dict)


class AuditTrail(pulumi.ComponentResource):
    """The stack's trail, its key and its bucket."""

    key: aws.kms.Key
    bucket: aws.s3.Bucket
    trail: aws.cloudtrail.Trail

    def __init__(
        self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}AuditTrail", name, None, opts)
        settings, account = args.settings, args.account_id
        names = audit_names(settings, account)
        protect = settings.protect_stateful
        root = f"arn:aws:iam::{account}:root"
        # CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail" and "Configure AWS
        # KMS key policies": bound to this trail and this account (confused deputy).
        by_this_trail = {
            "StringEquals": {"aws:SourceArn": names.trail_arn, "aws:SourceAccount": account}
        }
        context = "kms:EncryptionContext:aws:cloudtrail:arn"

        # CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail": CloudTrail
        # encrypts bound to this trail (aws:SourceArn and the encryption context); principals
        # of this account decrypt its log files; the account administers the key.
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"audit trail of stack {settings.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                [
                    {
                        # Administration without cryptographic use, as every key's.
                        "Sid": "AccountAdministersKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": root},
                        "Action": KEY_ADMIN_ACTIONS,
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudTrailEncryptsThisTrail",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "kms:GenerateDataKey",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "aws:SourceArn": names.trail_arn,
                                "aws:SourceAccount": account,
                            },
                            "StringLike": {context: names.trail_arn},
                        },
                    },
                    {
                        "Sid": "CloudTrailDescribesKey",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "kms:DescribeKey",
                        "Resource": "*",
                        "Condition": by_this_trail,
                    },
                    {
                        "Sid": "AccountDecryptsThisTrailsLogs",
                        "Effect": "Allow",
                        "Principal": {"AWS": root},
                        "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"kms:CallerAccount": account},
                            "StringLike": {context: names.trail_arn},
                        },
                    },
                ]
            ),
            tags=args.tags,
            opts=child(self, protect=protect),
        )
        self.key_alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=names.key_alias,
            target_key_id=self.key.key_id,
            opts=child(self),
        )
        logs = PrivateBucket.create(
            self, f"{name}-logs", names.bucket, self.key.arn, args.tags, protect
        )
        self.bucket = logs.bucket
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-logs-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child(self),
        )
        retention = max(settings.log_retention_days, MIN_RETENTION_DAYS)
        self.lifecycle = logs.lifecycle(
            "audit-logs",
            retention,
            ABORT_UPLOADS_AFTER_DAYS,
            after=[self.versioning],
            transitions=[{"days": INFREQUENT_ACCESS_AFTER_DAYS, "storage_class": "STANDARD_IA"}],
            noncurrent_version_expiration={"noncurrent_days": NONCURRENT_VERSION_DAYS},
        )
        bucket_arn = f"arn:aws:s3:::{names.bucket}"
        # CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail": only CloudTrail,
        # only for this trail (aws:SourceArn), writing only under this account's AWSLogs/;
        # and S3 user guide, "Enforce encryption in transit": nobody over plain HTTP.
        self.policy = aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=self.bucket.id,
            policy=policy_document(
                [
                    {
                        "Sid": "CloudTrailChecksAcl",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": bucket_arn,
                        "Condition": by_this_trail,
                    },
                    {
                        "Sid": "CloudTrailWritesThisTrail",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"{bucket_arn}/AWSLogs/{account}/*",
                        "Condition": {
                            "StringEquals": {
                                "aws:SourceArn": names.trail_arn,
                                "aws:SourceAccount": account,
                                "s3:x-amz-acl": "bucket-owner-full-control",
                            }
                        },
                    },
                    deny_insecure_transport("s3", [bucket_arn, f"{bucket_arn}/*"]),
                ]
            ),
            opts=child(self, depends_on=[logs.public_access_block]),
        )
        prefixes = function_arn_prefixes(settings, account, args.integrations)
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=names.trail,
            s3_bucket_name=self.bucket.id,
            kms_key_id=self.key.arn,
            enable_log_file_validation=True,
            is_multi_region_trail=False,
            include_global_service_events=False,
            enable_logging=True,
            advanced_event_selectors=event_selectors(prefixes),
            tags=args.tags,
            opts=child(self, depends_on=[self.policy, logs.encryption]),
        )
        self.register_outputs({"trailArn": self.trail.arn, "bucket": self.bucket.id})
