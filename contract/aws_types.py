"""The Pulumi type token of every resource the project registers, reads or judges.

One place for the strings the components register under, the policy pack judges, the
rehearsal creates in the emulator, the plan prices and the report counts; a reader
imports the constant instead of spelling the token again. Tokens are pulumi-aws's
(``<package>:<module>/<resource>:<Resource>``).

Usage::

    if resource.type == SQS_QUEUE: ...
"""

from __future__ import annotations

__all__ = [
    "CHATBOT_SLACK_CHANNEL_CONFIGURATION",
    "CLOUDTRAIL_TRAIL",
    "CLOUDWATCH_COMPOSITE_ALARM",
    "CLOUDWATCH_DASHBOARD",
    "CLOUDWATCH_EVENT_BUS",
    "CLOUDWATCH_EVENT_RULE",
    "CLOUDWATCH_EVENT_TARGET",
    "CLOUDWATCH_LOG_GROUP",
    "CLOUDWATCH_METRIC_ALARM",
    "COMPONENT_PREFIX",
    "DYNAMODB_RESOURCE_POLICY",
    "DYNAMODB_TABLE",
    "EC2_INSTANCE",
    "GET_CALLER_IDENTITY",
    "GET_REGION",
    "GET_SESSION_CONTEXT",
    "IAM_ACCESS_KEY",
    "IAM_GROUP",
    "IAM_GROUP_POLICY",
    "IAM_GROUP_POLICY_ATTACHMENT",
    "IAM_POLICY",
    "IAM_POLICY_ATTACHMENT",
    "IAM_ROLE",
    "IAM_ROLE_POLICY",
    "IAM_ROLE_POLICY_ATTACHMENT",
    "IAM_USER",
    "IAM_USER_GROUP_MEMBERSHIP",
    "IAM_USER_POLICY",
    "IAM_USER_POLICY_ATTACHMENT",
    "INTEGRATION",
    "KMS_ALIAS",
    "KMS_GRANT",
    "KMS_KEY",
    "KMS_KEY_POLICY",
    "LAMBDA_EVENT_SOURCE_MAPPING",
    "LAMBDA_FUNCTION",
    "LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG",
    "LAMBDA_FUNCTION_URL",
    "LAMBDA_PERMISSION",
    "S3_ACCESS_POINT",
    "S3_BUCKET",
    "S3_BUCKET_LIFECYCLE_CONFIGURATION",
    "S3_BUCKET_NOTIFICATION",
    "S3_BUCKET_OWNERSHIP_CONTROLS",
    "S3_BUCKET_POLICY",
    "S3_BUCKET_PUBLIC_ACCESS_BLOCK",
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION",
    "S3_BUCKET_VERSIONING",
    "SCHEDULER_SCHEDULE",
    "SCHEDULER_SCHEDULE_GROUP",
    "SECRETS_MANAGER_SECRET",
    "SECRETS_MANAGER_SECRET_POLICY",
    "SECRETS_MANAGER_SECRET_ROTATION",
    "SECRETS_MANAGER_SECRET_VERSION",
    "SFN_STATE_MACHINE",
    "SNS_TOPIC",
    "SNS_TOPIC_POLICY",
    "SNS_TOPIC_SUBSCRIPTION",
    "SQS_QUEUE",
    "SQS_QUEUE_POLICY",
    "SQS_REDRIVE_ALLOW_POLICY",
    "SQS_REDRIVE_POLICY",
    "STACK",
]

CHATBOT_SLACK_CHANNEL_CONFIGURATION = (
    "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
)

CLOUDTRAIL_TRAIL = "aws:cloudtrail/trail:Trail"

CLOUDWATCH_COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
CLOUDWATCH_DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
CLOUDWATCH_EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
CLOUDWATCH_EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
CLOUDWATCH_EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
CLOUDWATCH_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLOUDWATCH_METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

DYNAMODB_RESOURCE_POLICY = "aws:dynamodb/resourcePolicy:ResourcePolicy"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"

EC2_INSTANCE = "aws:ec2/instance:Instance"

IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
IAM_GROUP = "aws:iam/group:Group"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_USER = "aws:iam/user:User"
IAM_USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"

KMS_ALIAS = "aws:kms/alias:Alias"
KMS_GRANT = "aws:kms/grant:Grant"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"

LAMBDA_EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG = (
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
)
LAMBDA_FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"

S3_ACCESS_POINT = "aws:s3/accessPoint:AccessPoint"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_LIFECYCLE_CONFIGURATION = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
)
S3_BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
S3_BUCKET_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
S3_BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"

SCHEDULER_SCHEDULE = "aws:scheduler/schedule:Schedule"
SCHEDULER_SCHEDULE_GROUP = "aws:scheduler/scheduleGroup:ScheduleGroup"

SECRETS_MANAGER_SECRET = "aws:secretsmanager/secret:Secret"
SECRETS_MANAGER_SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
SECRETS_MANAGER_SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SECRETS_MANAGER_SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"

SFN_STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"

SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SQS_REDRIVE_ALLOW_POLICY = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
SQS_REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"

# The provider functions (invoke tokens) the mocks answer offline: the account the program
# deploys into (the emulator's STS answers it in a rehearsal), the stack's region, and the
# role behind the deploying session (`components/deployer.py`).
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
GET_REGION = "aws:index/getRegion:getRegion"
GET_SESSION_CONTEXT = "aws:iam/getSessionContext:getSessionContext"

# The stack itself and the project's own component resource.
STACK = "pulumi:pulumi:Stack"
COMPONENT_PREFIX = "provisioner:index:"
INTEGRATION = f"{COMPONENT_PREFIX}Integration"
