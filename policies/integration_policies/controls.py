"""The security controls each resource type of an integration answers to, and how.

One table per resource type the components create: every applicable control of the AWS
Foundational Security Best Practices standard (FSBP, Security Hub control ids) and of the
CIS AWS Foundations Benchmark v1.4.0, each either met (where, and which of this pack's
policies refuses a stack that breaks it), not applicable (why), or a known gap (why).

This module is the one source: `docs/controls.md` is generated from it
(`python policies/integration_policies/controls.py > docs/controls.md`, and a test keeps
the two equal), the tests hold every `met` control to a policy the pack really runs, and
every resource type the program creates to a table here or to the resource it configures
(`ATTACHED`). It imports nothing of the pack, so other parts load it without starting it.

Usage::

    for resource_type, controls in CONTROLS.items(): ...
"""

from __future__ import annotations

from dataclasses import dataclass

from contract import aws_types as aws

__all__ = [
    "ATTACHED",
    "CONTROLS",
    "GAP",
    "MET",
    "NOT_APPLICABLE",
    "Control",
    "ResourceType",
    "markdown",
]

MET, NOT_APPLICABLE, GAP = "met", "not applicable", "gap"


@dataclass(frozen=True)
class Control:
    """One control: its id in each standard, what it asks, and how this project answers."""

    fsbp: str  # Security Hub control id ("Lambda.1"), or "" when only CIS has it
    cis: str  # CIS AWS Foundations Benchmark v1.4.0 recommendation ("1.14"), or ""
    title: str
    status: str  # MET, NOT_APPLICABLE or GAP
    how: str  # met: where; not applicable / gap: why
    enforced_by: tuple[str, ...] = ()  # the pack's policies that refuse a stack breaking it

    @property
    def ids(self) -> str:
        return " / ".join(
            part
            for part in (self.fsbp and f"FSBP {self.fsbp}", self.cis and f"CIS {self.cis}")
            if part
        )


@dataclass(frozen=True)
class ResourceType:
    """A resource type the components create, by its Pulumi type tokens."""

    title: str
    tokens: tuple[str, ...]


LAMBDA = ResourceType("Lambda function", (aws.LAMBDA_FUNCTION,))
IAM = ResourceType(
    "IAM role, user and policy",
    (aws.IAM_ROLE, aws.IAM_USER, aws.IAM_ROLE_POLICY),
)
KMS = ResourceType("KMS key", (aws.KMS_KEY,))
SECRET = ResourceType("Secrets Manager secret", (aws.SECRETS_MANAGER_SECRET,))
SQS = ResourceType("SQS queue", (aws.SQS_QUEUE,))
SNS = ResourceType("SNS topic", (aws.SNS_TOPIC,))
LOGS = ResourceType("CloudWatch log group", (aws.CLOUDWATCH_LOG_GROUP,))
ALARM = ResourceType("CloudWatch alarm", (aws.CLOUDWATCH_METRIC_ALARM,))
RULE = ResourceType("EventBridge rule", (aws.CLOUDWATCH_EVENT_RULE,))
TABLE = ResourceType("DynamoDB table", (aws.DYNAMODB_TABLE,))
TRAIL = ResourceType("CloudTrail trail (the stack's audit trail)", (aws.CLOUDTRAIL_TRAIL,))
BUCKET = ResourceType(
    "S3 bucket (the audit trail's logs, a warehouse pipeline's stage)", (aws.S3_BUCKET,)
)

# Types that only configure another resource: the controls of the resource they configure
# apply (a secret's policy is judged under the secret, a function's invoke config under it).
ATTACHED: dict[str, ResourceType] = {
    aws.IAM_USER_POLICY: IAM,
    aws.IAM_ACCESS_KEY: IAM,
    aws.KMS_ALIAS: KMS,
    aws.SECRETS_MANAGER_SECRET_VERSION: SECRET,
    aws.SECRETS_MANAGER_SECRET_ROTATION: SECRET,
    aws.SECRETS_MANAGER_SECRET_POLICY: SECRET,
    aws.SQS_QUEUE_POLICY: SQS,
    aws.SQS_REDRIVE_ALLOW_POLICY: SQS,
    aws.SNS_TOPIC_POLICY: SNS,
    aws.SNS_TOPIC_SUBSCRIPTION: SNS,
    # Delivers the topic to Slack (judged by chatbot-channel); its role grants nothing.
    aws.CHATBOT_SLACK_CHANNEL_CONFIGURATION: SNS,
    aws.LAMBDA_PERMISSION: LAMBDA,
    aws.LAMBDA_EVENT_SOURCE_MAPPING: LAMBDA,
    aws.LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG: LAMBDA,
    aws.CLOUDWATCH_EVENT_TARGET: RULE,
    aws.CLOUDWATCH_DASHBOARD: ALARM,
    aws.DYNAMODB_RESOURCE_POLICY: TABLE,
    aws.S3_BUCKET_POLICY: BUCKET,
    aws.S3_BUCKET_PUBLIC_ACCESS_BLOCK: BUCKET,
    aws.S3_BUCKET_VERSIONING: BUCKET,
    aws.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION: (BUCKET),
    aws.S3_BUCKET_LIFECYCLE_CONFIGURATION: BUCKET,
    aws.S3_BUCKET_OWNERSHIP_CONTROLS: BUCKET,
    # Tells Snowpipe a staged file arrived (judged by stage-bucket-hardened with the bucket).
    aws.S3_BUCKET_NOTIFICATION: BUCKET,
}

CONTROLS: dict[ResourceType, tuple[Control, ...]] = {
    LAMBDA: (
        Control("Lambda.1", "", "Lambda function policies should prohibit public access", MET,
                "invoke permissions name one service and this account or the invoking rule "
                "(components/function.py, components/credential.py)",
                ("lambda-permission-scoped",)),
        Control("Lambda.2", "", "Lambda functions should use supported runtimes", MET,
                "python3.12 on arm64 for every function, set once in contract/runtime.py",
                ("lambda-supported-runtime",)),
        Control("Lambda.3", "", "Lambda functions should be in a VPC", NOT_APPLICABLE,
                "the functions call SaaS APIs (Salesforce, ERP, marketing, support) on the "
                "internet and AWS APIs only; inside a VPC they would need NAT gateways and "
                "gain no boundary. No stack setting adds VPC placement yet: a company that "
                "requires it needs one (subnets, security group, NAT) before this applies"),
        Control("Lambda.5", "", "VPC Lambda functions should operate in multiple "
                "Availability Zones", NOT_APPLICABLE, "no function runs in a VPC (Lambda.3)"),
        Control("Lambda.7", "", "Lambda functions should have AWS X-Ray active tracing "
                "enabled", GAP,
                "tracing is off: it needs xray:PutTraceSegments on `*` for every role; the "
                "functions emit metrics and structured logs to their own log groups instead"),
    ),
    IAM: (
        Control("IAM.1", "1.16", "IAM policies should not allow full \"*\" administrative "
                "privileges", MET,
                "policies are generated from a table of named actions per capability "
                "(components/service_account.py)",
                ("iam-no-wildcard-actions", "iam-no-admin-managed-policies")),
        Control("IAM.2", "1.15", "IAM users should not have IAM policies attached", GAP,
                "each external pusher's IAM user carries one inline policy allowing only "
                "sqs:SendMessage on its own queue from its source ranges; a group per user "
                "would add a resource without narrowing anything"),
        Control("IAM.3", "1.14", "IAM users' access keys should be rotated every 90 days or "
                "less", MET,
                "pushers' access keys rotate every min(roadmap, stack maxRotationDays) days",
                ("secret-rotation-within-limit",)),
        Control("IAM.21", "", "IAM customer managed policies should not allow wildcard "
                "actions for services", MET, "named actions only",
                ("iam-no-wildcard-actions",)),
    ),
    KMS: (
        Control("KMS.1", "", "IAM customer managed policies should not allow decryption "
                "actions on all KMS keys", MET, "roles name their own key's ARN",
                ("iam-resource-wildcard-scoped",)),
        Control("KMS.2", "", "IAM principals should not have IAM inline policies that allow "
                "decryption actions on all KMS keys", MET, "roles name their own key's ARN",
                ("iam-resource-wildcard-scoped",)),
        Control("KMS.3", "", "AWS KMS keys should not be deleted unintentionally",
                NOT_APPLICABLE,
                "a state of a deployed key, not a setting: the program never schedules a "
                "deletion, keys keep the longest waiting period (30 days) and are protected "
                "where the stack protects stateful resources"),
        Control("KMS.4", "3.8", "AWS KMS key rotation should be enabled", MET,
                "every integration key (components/credential.py)",
                ("kms-key-rotation-enabled",)),
        Control("KMS.5", "", "KMS keys should not be publicly accessible", MET,
                "key policies name the account root with aws:PrincipalArn conditions and "
                "services bound to the integration's resources",
                ("resource-policies-not-public", "key-grants-needed-services")),
    ),
    SECRET: (
        Control("SecretsManager.1", "", "Secrets Manager secrets should have automatic "
                "rotation enabled", MET, "a SecretRotation per credential",
                ("phase-requirements", "secret-rotation-within-limit")),
        Control("SecretsManager.2", "", "Secrets Manager secrets configured with automatic "
                "rotation should rotate successfully", MET,
                "Secrets Manager may invoke the rotator, whose fence never locks it out; the "
                "rehearsal rotates every credential end to end",
                ("rotation-function-invocation", "secret-fenced")),
        Control("SecretsManager.3", "", "Remove unused Secrets Manager secrets",
                NOT_APPLICABLE,
                "every secret is a roadmap credential the integration uses; removing the "
                "credential from the roadmap removes the secret"),
        Control("SecretsManager.4", "", "Secrets Manager secrets should be rotated within a "
                "specified number of days", MET, "at most the stack's maxRotationDays",
                ("secret-rotation-within-limit",)),
        Control("SecretsManager.5", "", "Secrets Manager secrets should be tagged", MET,
                "the contract tags (docs/contracts.md)", ("required-tags",)),
    ),
    SQS: (
        Control("SQS.1", "", "Amazon SQS queues should be encrypted at rest", MET,
                "the integration's key (components/queue.py)", ("sqs-queue-encrypted",)),
        Control("SQS.3", "", "SQS queue access policies should not allow public access", MET,
                "queue policies only deny insecure transport", ("resource-policies-not-public",)),
    ),
    SNS: (
        Control("SNS.1", "", "SNS topics should be encrypted at rest using AWS KMS", MET,
                "the integration's key (components/alarms.py)", ("encrypted-with-own-key",)),
        Control("SNS.4", "", "SNS topic access policies should not allow public access", MET,
                "only CloudWatch and EventBridge of this account publish",
                ("resource-policies-not-public",)),
    ),
    LOGS: (
        Control("CloudWatch.16", "", "CloudWatch log groups should be retained for a "
                "specified time period", MET, "the stack's logRetentionDays (prod: a year)",
                ("log-group-retention",)),
    ),
    ALARM: (
        Control("CloudWatch.17", "", "CloudWatch alarm actions should be activated", MET,
                "every alarm notifies its integration's alert topic",
                ("alarms-route-to-alert-path",)),
    ),
    RULE: (
        Control("EventBridge.3", "", "EventBridge custom event buses should have a "
                "resource-based policy attached", NOT_APPLICABLE,
                "schedules and the rotation-failure rule run on the default bus; no custom "
                "bus is created"),
        Control("EventBridge.4", "", "EventBridge global endpoints should have event "
                "replication enabled", NOT_APPLICABLE, "no global endpoint: one region per stack"),
    ),
    TABLE: (
        Control("DynamoDB.1", "", "DynamoDB tables should automatically scale capacity with "
                "demand", MET, "on-demand capacity (components/idempotency.py)",
                ("dynamodb-table-resilience",)),
        Control("DynamoDB.2", "", "DynamoDB tables should have point-in-time recovery "
                "enabled", MET, "every state table", ("dynamodb-table-resilience",)),
        Control("DynamoDB.3", "", "DynamoDB Accelerator (DAX) clusters should be encrypted "
                "at rest", NOT_APPLICABLE, "no DAX cluster"),
        Control("DynamoDB.6", "", "DynamoDB tables should have deletion protection enabled",
                MET, "where the stack protects stateful resources (protectStateful: prod)",
                ("dynamodb-table-resilience",)),
    ),
    TRAIL: (
        Control("CloudTrail.1", "3.1", "CloudTrail should be enabled and configured with at "
                "least one multi-Region trail that includes read and write management events",
                GAP, "the stack's trail records all read and write management events but in "
                "the stack's region only (a per-stack trail in every region would record "
                "every region's events once per stack); the account's or organisation's "
                "multi-Region trail answers this control, and a stack can name it instead "
                "(auditTrail: its ARN, which the rehearsal checks). What the integrations need "
                "recorded, every management event and their functions' invocations, is "
                "enforced by audit-trail-covers-stack"),
        Control("CloudTrail.2", "3.7", "CloudTrail should have encryption at-rest enabled",
                MET, "the stack's audit key, which CloudTrail may use for this trail only "
                "(components/audit.py)", ("cloudtrail-hardened",)),
        Control("CloudTrail.4", "3.2", "CloudTrail log file validation should be enabled",
                MET, "every trail the stack creates", ("cloudtrail-hardened",)),
        Control("CloudTrail.5", "3.4", "CloudTrail trails should be integrated with Amazon "
                "CloudWatch Logs", GAP,
                "the trail delivers to S3 only; `provisioner audit` answers who-did-what "
                "from CloudTrail's LookupEvents, and no metric filter reads the trail yet"),
        Control("CloudTrail.6", "3.3", "Ensure the S3 bucket used to store CloudTrail logs is "
                "not publicly accessible", MET,
                "all four public access blocks, a policy admitting CloudTrail for this trail "
                "only", ("audit-bucket-private",)),
        Control("CloudTrail.7", "3.6", "Ensure S3 bucket access logging is enabled on the "
                "CloudTrail S3 bucket", GAP,
                "no access-log bucket: reads of the logs are recorded as the trail's own "
                "management events only when the reader decrypts with the audit key (KMS)"),
    ),
    BUCKET: (
        Control("S3.1", "2.1.5", "S3 general purpose buckets should have block public access "
                "settings enabled", MET, "all four blocks on the audit and stage buckets",
                ("audit-bucket-private", "stage-bucket-hardened")),
        Control("S3.5", "2.1.2", "S3 general purpose buckets should require requests to use "
                "SSL", MET, "the bucket policy denies aws:SecureTransport = false",
                ("audit-bucket-private", "stage-bucket-hardened")),
        Control("S3.8", "", "S3 general purpose buckets should block public access", MET,
                "bucket-level public access block",
                ("audit-bucket-private", "stage-bucket-hardened")),
        Control("S3.9", "", "S3 general purpose buckets should have server access logging "
                "enabled", GAP, "no access-log bucket (CloudTrail.7)"),
        Control("S3.13", "", "S3 general purpose buckets should have Lifecycle "
                "configurations", MET,
                "audit logs move to STANDARD_IA after 30 days and expire after the stack's "
                "logRetentionDays (at least 90), old versions after 30; staged files expire "
                "after 7 days", ("audit-bucket-private", "stage-bucket-hardened")),
        Control("S3.14", "", "S3 general purpose buckets should have versioning enabled",
                GAP, "the audit bucket versions its logs; a warehouse stage does not (its "
                "files are transient copies the warehouse loads, expired after 7 days)"),
        Control("S3.17", "", "S3 general purpose buckets should be encrypted at rest with "
                "AWS KMS keys", MET, "default encryption with the stack's audit key, or "
                "the integration's own key for its stage",
                ("audit-bucket-private", "stage-bucket-hardened")),
    ),
}  # fmt: skip


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """docs/controls.md: one table per resource type."""
    lines = [
        "# Security controls per resource type",
        "",
        "Generated from `policies/integration_policies/controls.py` (do not edit by hand:",
        "`python policies/integration_policies/controls.py > docs/controls.md`). Each",
        "applicable control of the AWS Foundational Security Best Practices (FSBP) standard",
        "and of the CIS AWS Foundations Benchmark v1.4.0 for the resource types the",
        "components create: **met** (where, and the policy-pack policies that refuse a stack",
        "breaking it), **not applicable** (why) or a known **gap** (why).",
    ]
    for resource_type, controls in CONTROLS.items():
        lines += [
            "",
            f"## {resource_type.title}",
            "",
            "| control | asks | status | where / why | enforced by |",
            "|---|---|---|---|---|",
        ]
        for c in controls:
            enforced = ", ".join(f"`{p}`" for p in c.enforced_by) or "-"
            lines.append(
                f"| {c.ids} | {_cell(c.title)} | {c.status} | {_cell(c.how)} | {enforced} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
