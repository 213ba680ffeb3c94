"""Create each Pulumi resource through the AWS API of the emulator, returning real ids and outputs.

The Pulumi mock runtime hands every resource's type, logical name and camelCase inputs (as
the engine would send them to the AWS provider) to ``AwsCreator``; ``CREATORS`` maps each
``aws:`` type the components use to one small function that makes the API calls the
provider would make and returns ``(id, outputs)``. ``FINDERS`` maps the same types to a
lookup that proves the resource is there afterwards. A type missing from the table fails
loudly with ``UnsupportedResource`` naming it: a rehearsal that silently skipped a
resource would prove nothing about it.

Usage::

    creator = AwsCreator(emulator)
    resource_id, outputs = creator.create("aws:sqs/queue:Queue", "quote-to-order-queue",
                                          {"name": "dev-quote-to-order-queue.fifo",
                                           "fifoQueue": True})
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract.alerting import CHATBOT_SERVICE, CHATBOT_TYPE
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.stage_creators import STAGE_CREATORS, STAGE_FINDERS
from provisioner.rehearsal.trail_creators import TRAIL_CREATORS, TRAIL_FINDERS

__all__ = [
    "CREATORS",
    "FINDERS",
    "AwsCreator",
    "CreatedResource",
    "UnsupportedResource",
]

Inputs = Mapping[str, Any]
Outputs = dict[str, Any]
Create = Callable[["Ctx", str, Inputs], tuple[str, Outputs]]
Find = Callable[["Ctx", str, Outputs], object]


class UnsupportedResource(Exception):
    """The rehearsal has no way to create this resource type in the emulator."""

    def __init__(self, type_: str, name: str) -> None:
        self.type = type_
        self.name = name
        super().__init__(
            f"the rehearsal cannot create resource type {type_} (logical name {name!r}); "
            "add a creator for it to CREATORS in provisioner/rehearsal/creators.py"
        )


class CreationFailed(Exception):
    """The emulator refused to create a resource; the message names it and the API error."""


@dataclass(frozen=True)
class CreatedResource:
    """One resource as it now exists in the emulator."""

    type: str
    name: str
    id: str
    outputs: Outputs


@dataclass
class Ctx:
    """What a creator function needs: clients for the emulator and the stack's coordinates."""

    aws: Emulator
    _clients: dict[str, Any] = field(default_factory=dict)
    # Resources of services moto does not have, checked and kept here (`_recorded`).
    recorded: dict[str, Outputs] = field(default_factory=dict)

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.aws.client(service)
        return self._clients[service]

    @property
    def region(self) -> str:
        return self.aws.region

    @property
    def account(self) -> str:
        return self.aws.account_id

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"


# ----------------------------------------------------------------------------- helpers


def _int(value: Any) -> int:
    # The engine's protobuf Struct carries every number as a float.
    return int(value)


def _physical(name: str, inputs: Inputs, key: str = "name") -> str:
    # Pulumi would auto-name with a random suffix; the logical name is stable and unique.
    return str(inputs.get(key) or name)


def _tags(inputs: Inputs) -> dict[str, str]:
    return {str(k): str(v) for k, v in (inputs.get("tags") or {}).items()}


def _tag_list(inputs: Inputs, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in _tags(inputs).items()]


def _drop_none(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != {} and v != []}


def _state(inputs: Inputs, **computed: Any) -> Outputs:
    """The provider's state: the inputs, what AWS computed, and ``tagsAll``."""
    return {**inputs, "tagsAll": _tags(inputs), **computed}


def _archive_bytes(code: Any) -> bytes:
    """The zip for a function's ``code``: a zip file as is, a bundle folder built by bundles.py."""
    from provisioner.bundles import build_bundle

    # The recorder decodes archives to {"archive": {"path": ...}}; the SDK's own mocks pass
    # a FileArchive object. Both name a zip file or a bundle folder.
    if isinstance(code, Mapping):
        path = (code.get("archive") or {}).get("path")
    else:
        path = getattr(code, "path", None)
    if path is None:
        raise CreationFailed(
            f"function code {type(code).__name__} is not a FileArchive; the rehearsal "
            "deploys zip files or bundle folders only"
        )
    source = Path(path)
    if source.is_dir():
        requirements = source / "requirements.txt"
        source = build_bundle(source, requirements=requirements if requirements.is_file() else None)
    return source.read_bytes()


# ----------------------------------------------------------------------------- IAM


def _iam_role(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    role_name = _physical(name, i)
    role = c("iam").create_role(
        **_drop_none(
            RoleName=role_name,
            Path=i.get("path"),
            AssumeRolePolicyDocument=i["assumeRolePolicy"],
            Description=i.get("description"),
            MaxSessionDuration=_int(i["maxSessionDuration"]) if "maxSessionDuration" in i else None,
            PermissionsBoundary=i.get("permissionsBoundary"),
            Tags=_tag_list(i),
        )
    )["Role"]
    for inline in i.get("inlinePolicies") or []:
        c("iam").put_role_policy(
            RoleName=role_name, PolicyName=inline["name"], PolicyDocument=inline["policy"]
        )
    for policy_arn in i.get("managedPolicyArns") or []:
        c("iam").attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return role_name, _state(i, name=role_name, arn=role["Arn"], uniqueId=role["RoleId"])


def _iam_role_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    policy_name = _physical(name, i)
    c("iam").put_role_policy(RoleName=i["role"], PolicyName=policy_name, PolicyDocument=i["policy"])
    return f"{i['role']}:{policy_name}", _state(i, name=policy_name)


def _iam_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    policy = c("iam").create_policy(
        **_drop_none(
            PolicyName=_physical(name, i),
            Path=i.get("path"),
            PolicyDocument=i["policy"],
            Description=i.get("description"),
            Tags=_tag_list(i),
        )
    )["Policy"]
    return policy["Arn"], _state(
        i, name=policy["PolicyName"], arn=policy["Arn"], policyId=policy["PolicyId"]
    )


def _iam_role_policy_attachment(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    c("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return f"{i['role']}/{i['policyArn']}", _state(i)


def _iam_user(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    user = c("iam").create_user(
        **_drop_none(
            UserName=_physical(name, i),
            Path=i.get("path"),
            PermissionsBoundary=i.get("permissionsBoundary"),
            Tags=_tag_list(i),
        )
    )["User"]
    return user["UserName"], _state(
        i, name=user["UserName"], arn=user["Arn"], uniqueId=user["UserId"]
    )


def _iam_user_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    policy_name = _physical(name, i)
    c("iam").put_user_policy(UserName=i["user"], PolicyName=policy_name, PolicyDocument=i["policy"])
    return f"{i['user']}:{policy_name}", _state(i, name=policy_name)


def _iam_user_policy_attachment(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    c("iam").attach_user_policy(UserName=i["user"], PolicyArn=i["policyArn"])
    return f"{i['user']}/{i['policyArn']}", _state(i)


def _iam_access_key(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    key = c("iam").create_access_key(UserName=i["user"])["AccessKey"]
    status = i.get("status") or "Active"
    if status != "Active":
        c("iam").update_access_key(
            UserName=i["user"], AccessKeyId=key["AccessKeyId"], Status=status
        )
    return key["AccessKeyId"], _state(
        i, secret=key["SecretAccessKey"], status=status, createDate=str(key["CreateDate"])
    )


# ----------------------------------------------------------------------------- KMS


def _kms_key(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    meta = c("kms").create_key(
        **_drop_none(
            Description=i.get("description"),
            KeyUsage=i.get("keyUsage"),
            KeySpec=i.get("customerMasterKeySpec"),
            Policy=i.get("policy"),
            MultiRegion=i.get("multiRegion"),
            Tags=_tag_list(i, "TagKey", "TagValue"),
        )
    )["KeyMetadata"]
    if i.get("enableKeyRotation"):
        period = i.get("rotationPeriodInDays")
        c("kms").enable_key_rotation(
            **_drop_none(KeyId=meta["KeyId"], RotationPeriodInDays=_int(period) if period else None)
        )
    return meta["KeyId"], _state(i, arn=meta["Arn"], keyId=meta["KeyId"])


def _kms_alias(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    alias = _physical(name, i)
    c("kms").create_alias(AliasName=alias, TargetKeyId=i["targetKeyId"])
    key_arn = c("kms").describe_key(KeyId=i["targetKeyId"])["KeyMetadata"]["Arn"]
    return alias, _state(i, name=alias, arn=c.arn("kms", alias), targetKeyArn=key_arn)


# ----------------------------------------------------------------------------- Secrets Manager


def _secret(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    secret = c("secretsmanager").create_secret(
        **_drop_none(
            Name=_physical(name, i),
            Description=i.get("description"),
            KmsKeyId=i.get("kmsKeyId"),
            Tags=_tag_list(i),
        )
    )
    if i.get("policy"):
        c("secretsmanager").put_resource_policy(SecretId=secret["ARN"], ResourcePolicy=i["policy"])
    return secret["ARN"], _state(i, name=secret["Name"], arn=secret["ARN"])


def _secret_version(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    version = c("secretsmanager").put_secret_value(
        **_drop_none(
            SecretId=i["secretId"],
            SecretString=i.get("secretString"),
            SecretBinary=i.get("secretBinary"),
            VersionStages=list(i.get("versionStages") or []) or None,
        )
    )
    return f"{version['ARN']}|{version['VersionId']}", _state(
        i,
        arn=version["ARN"],
        versionId=version["VersionId"],
        versionStages=version.get("VersionStages", ["AWSCURRENT"]),
    )


def _secret_rotation(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    rules = i.get("rotationRules") or {}
    days = rules.get("automaticallyAfterDays")
    sm = c("secretsmanager")
    # Configure without rotating: moto cannot run the rotation function, and a rotation that
    # moto "completes" without it would leave an empty AWSCURRENT version. The rotation
    # check drives the real handler instead (provisioner.rotate.run_rotation_locally).
    sm.rotate_secret(
        SecretId=i["secretId"],
        RotationLambdaARN=i["rotationLambdaArn"],
        RotationRules=_drop_none(
            AutomaticallyAfterDays=_int(days) if days is not None else None,
            ScheduleExpression=rules.get("scheduleExpression"),
            Duration=rules.get("duration"),
        ),
        RotateImmediately=False,
    )
    # Secrets Manager's configuration test "creates an AWSPENDING version of the secret and
    # then removes it" (RotateSecret API reference, RotateImmediately); moto keeps it.
    stages = sm.describe_secret(SecretId=i["secretId"]).get("VersionIdsToStages", {})
    for version_id, labels in stages.items():
        if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
            sm.update_secret_version_stage(
                SecretId=i["secretId"], VersionStage="AWSPENDING", RemoveFromVersionId=version_id
            )
    return str(i["secretId"]), _state(i, rotationEnabled=True)


def _secret_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    c("secretsmanager").put_resource_policy(SecretId=i["secretArn"], ResourcePolicy=i["policy"])
    return str(i["secretArn"]), _state(i)


# ----------------------------------------------------------------------------- SQS

_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "deduplicationScope": "DeduplicationScope",
    "fifoThroughputLimit": "FifoThroughputLimit",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "policy": "Policy",
}


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sqs_queue(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    queue_name = _physical(name, i)
    attributes = {
        aws_name: _attribute_value(i[key])
        for key, aws_name in _QUEUE_ATTRIBUTES.items()
        if i.get(key) not in (None, "")
    }
    if not i.get("fifoQueue"):
        # SQS rejects FIFO-only attributes on standard queues, even when "false".
        attributes.pop("FifoQueue", None)
        attributes.pop("ContentBasedDeduplication", None)
    url = c("sqs").create_queue(
        **_drop_none(QueueName=queue_name, Attributes=attributes, tags=_tags(i))
    )["QueueUrl"]
    arn = c.arn("sqs", queue_name)
    return url, _state(i, name=queue_name, arn=arn, url=url)


def _set_queue_attributes(c: Ctx, url: str, attributes: dict[str, str]) -> None:
    """SetQueueAttributes that keeps the queue's access policy.

    moto 5.2.5 clears ``Policy`` on every SetQueueAttributes call that does not carry it
    (``Queue._set_attributes``), which AWS does not; re-send the current one alongside.
    """
    if "Policy" not in attributes:
        current = c("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        policy = current.get("Attributes", {}).get("Policy")
        if policy:
            attributes = {**attributes, "Policy": policy}
    c("sqs").set_queue_attributes(QueueUrl=url, Attributes=attributes)


def _sqs_queue_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    _set_queue_attributes(c, i["queueUrl"], {"Policy": i["policy"]})
    return str(i["queueUrl"]), _state(i)


def _sqs_redrive_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    _set_queue_attributes(c, i["queueUrl"], {"RedrivePolicy": i["redrivePolicy"]})
    return str(i["queueUrl"]), _state(i)


def _sqs_redrive_allow_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    _set_queue_attributes(c, i["queueUrl"], {"RedriveAllowPolicy": i["redriveAllowPolicy"]})
    return str(i["queueUrl"]), _state(i)


# ----------------------------------------------------------------------------- Lambda


def _lambda_function(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    if "code" not in i:
        raise CreationFailed(
            f"function {name} has no `code` archive (S3 or image code is not rehearsed)"
        )
    function_name = _physical(name, i)
    logging = i.get("loggingConfig") or {}
    tracing = i.get("tracingConfig") or {}
    dead_letter = i.get("deadLetterConfig") or {}
    function = c("lambda").create_function(
        **_drop_none(
            FunctionName=function_name,
            Runtime=i.get("runtime"),
            Role=i["role"],
            Handler=i.get("handler"),
            Code={"ZipFile": _archive_bytes(i["code"])},
            Description=i.get("description"),
            Timeout=_int(i["timeout"]) if "timeout" in i else None,
            MemorySize=_int(i["memorySize"]) if "memorySize" in i else None,
            Publish=bool(i.get("publish", False)),
            Environment={"Variables": dict((i.get("environment") or {}).get("variables") or {})},
            KMSKeyArn=i.get("kmsKeyArn"),
            TracingConfig={"Mode": tracing["mode"]} if tracing.get("mode") else None,
            DeadLetterConfig={"TargetArn": dead_letter["targetArn"]}
            if dead_letter.get("targetArn")
            else None,
            Architectures=list(i.get("architectures") or []) or None,
            LoggingConfig=_drop_none(
                LogFormat=logging.get("logFormat"),
                LogGroup=logging.get("logGroup"),
                ApplicationLogLevel=logging.get("applicationLogLevel"),
                SystemLogLevel=logging.get("systemLogLevel"),
            )
            or None,
            Tags=_tags(i),
        )
    )
    reserved = i.get("reservedConcurrentExecutions")
    if reserved is not None and _int(reserved) >= 0:
        c("lambda").put_function_concurrency(
            FunctionName=function_name, ReservedConcurrentExecutions=_int(reserved)
        )
    arn = function["FunctionArn"]
    return function_name, _state(
        i,
        name=function_name,
        arn=arn,
        qualifiedArn=f"{arn}:{function.get('Version', '$LATEST')}",
        invokeArn=(
            f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        version=function.get("Version", "$LATEST"),
    )


def _lambda_invoke_config(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    destinations = i.get("destinationConfig") or {}
    config = {
        key: {"Destination": destinations[field]["destination"]}
        for field, key in (("onFailure", "OnFailure"), ("onSuccess", "OnSuccess"))
        if (destinations.get(field) or {}).get("destination")
    }
    c("lambda").put_function_event_invoke_config(
        **_drop_none(
            FunctionName=i["functionName"],
            Qualifier=i.get("qualifier"),
            MaximumRetryAttempts=_int(i["maximumRetryAttempts"])
            if "maximumRetryAttempts" in i
            else None,
            MaximumEventAgeInSeconds=_int(i["maximumEventAgeInSeconds"])
            if "maximumEventAgeInSeconds" in i
            else None,
            DestinationConfig=config or None,
        )
    )
    return str(i["functionName"]), _state(i)


def _lambda_permission(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    statement_id = str(i.get("statementId") or name)
    c("lambda").add_permission(
        **_drop_none(
            FunctionName=i["function"],
            StatementId=statement_id,
            Action=i["action"],
            Principal=i["principal"],
            SourceArn=i.get("sourceArn"),
            SourceAccount=i.get("sourceAccount"),
            Qualifier=i.get("qualifier"),
            FunctionUrlAuthType=i.get("functionUrlAuthType"),
        )
    )
    return statement_id, _state(i, statementId=statement_id)


def _lambda_function_url(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    config = c("lambda").create_function_url_config(
        FunctionName=i["functionName"], AuthType=i["authorizationType"]
    )
    return str(i["functionName"]), _state(
        i, functionArn=config["FunctionArn"], functionUrl=config["FunctionUrl"]
    )


def _lambda_event_source_mapping(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    scaling = i.get("scalingConfig") or {}
    filters = (i.get("filterCriteria") or {}).get("filters") or []
    mapping = c("lambda").create_event_source_mapping(
        **_drop_none(
            EventSourceArn=i["eventSourceArn"],
            FunctionName=i["functionName"],
            Enabled=bool(i.get("enabled", True)),
            BatchSize=_int(i["batchSize"]) if "batchSize" in i else None,
            MaximumBatchingWindowInSeconds=_int(i["maximumBatchingWindowInSeconds"])
            if "maximumBatchingWindowInSeconds" in i
            else None,
            FunctionResponseTypes=list(i.get("functionResponseTypes") or []) or None,
            ScalingConfig={"MaximumConcurrency": _int(scaling["maximumConcurrency"])}
            if "maximumConcurrency" in scaling
            else None,
            FilterCriteria={"Filters": [{"Pattern": f["pattern"]} for f in filters]}
            if filters
            else None,
        )
    )
    uuid = mapping["UUID"]
    return uuid, _state(
        i,
        uuid=uuid,
        functionArn=mapping["FunctionArn"],
        state=mapping.get("State"),
        arn=c.arn("lambda", f"event-source-mapping:{uuid}"),
    )


# ----------------------------------------------------------------------------- EventBridge


def _event_rule(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    rule_name = _physical(name, i)
    state = i.get("state")
    if state is None and "isEnabled" in i:
        state = "ENABLED" if i["isEnabled"] else "DISABLED"
    bus = i.get("eventBusName")
    arn = c("events").put_rule(
        **_drop_none(
            Name=rule_name,
            ScheduleExpression=i.get("scheduleExpression"),
            EventPattern=i.get("eventPattern"),
            State=state,
            Description=i.get("description"),
            RoleArn=i.get("roleArn"),
            EventBusName=bus,
            Tags=_tag_list(i),
        )
    )["RuleArn"]
    rule_id = f"{bus}/{rule_name}" if bus and bus != "default" else rule_name
    return rule_id, _state(i, name=rule_name, arn=arn)


def _event_target(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    target_id = str(i.get("targetId") or name)
    sqs = i.get("sqsTarget") or {}
    dlq = i.get("deadLetterConfig") or {}
    retry = i.get("retryPolicy") or {}
    target = _drop_none(
        Id=target_id,
        Arn=i["arn"],
        Input=i.get("input"),
        InputPath=i.get("inputPath"),
        RoleArn=i.get("roleArn"),
        SqsParameters={"MessageGroupId": sqs["messageGroupId"]} if sqs else None,
        DeadLetterConfig={"Arn": dlq["arn"]} if dlq.get("arn") else None,
        RetryPolicy=_drop_none(
            MaximumRetryAttempts=_int(retry["maximumRetryAttempts"])
            if "maximumRetryAttempts" in retry
            else None,
            MaximumEventAgeInSeconds=_int(retry["maximumEventAgeInSeconds"])
            if "maximumEventAgeInSeconds" in retry
            else None,
        ),
    )
    response = c("events").put_targets(
        **_drop_none(Rule=i["rule"], EventBusName=i.get("eventBusName"), Targets=[target])
    )
    if response.get("FailedEntryCount"):
        raise CreationFailed(f"EventBridge refused target {target_id}: {response['FailedEntries']}")
    return f"{i['rule']}-{target_id}", _state(i, targetId=target_id)


def _schedule(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    schedule_name = _physical(name, i)
    group = i.get("groupName") or "default"
    window = i.get("flexibleTimeWindow") or {"mode": "OFF"}
    target = i["target"]
    retry = target.get("retryPolicy") or {}
    dlq = target.get("deadLetterConfig") or {}
    arn = c("scheduler").create_schedule(
        **_drop_none(
            Name=schedule_name,
            GroupName=group,
            ScheduleExpression=i["scheduleExpression"],
            ScheduleExpressionTimezone=i.get("scheduleExpressionTimezone"),
            Description=i.get("description"),
            State=i.get("state"),
            FlexibleTimeWindow=_drop_none(
                Mode=window["mode"],
                MaximumWindowInMinutes=_int(window["maximumWindowInMinutes"])
                if "maximumWindowInMinutes" in window
                else None,
            ),
            Target=_drop_none(
                Arn=target["arn"],
                RoleArn=target["roleArn"],
                Input=target.get("input"),
                RetryPolicy=_drop_none(
                    MaximumRetryAttempts=_int(retry["maximumRetryAttempts"])
                    if "maximumRetryAttempts" in retry
                    else None,
                    MaximumEventAgeInSeconds=_int(retry["maximumEventAgeInSeconds"])
                    if "maximumEventAgeInSeconds" in retry
                    else None,
                ),
                DeadLetterConfig={"Arn": dlq["arn"]} if dlq.get("arn") else None,
            ),
        )
    )["ScheduleArn"]
    return f"{group}/{schedule_name}", _state(i, name=schedule_name, arn=arn, groupName=group)


# ----------------------------------------------------------------------------- SNS


def _sns_topic(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    topic_name = _physical(name, i)
    attributes = {
        aws_name: _attribute_value(i[key])
        for key, aws_name in {
            "kmsMasterKeyId": "KmsMasterKeyId",
            "fifoTopic": "FifoTopic",
            "contentBasedDeduplication": "ContentBasedDeduplication",
            "displayName": "DisplayName",
            "policy": "Policy",
        }.items()
        if i.get(key) not in (None, "", False)
    }
    arn = c("sns").create_topic(
        **_drop_none(Name=topic_name, Attributes=attributes, Tags=_tag_list(i))
    )["TopicArn"]
    return arn, _state(i, name=topic_name, arn=arn, owner=c.account)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [] if value is None else [value]


def _chatbot_slack_channel(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    """Recorded, not created: moto has no AWS Chatbot (docs/moto-differences.md). What the
    emulator can answer is checked: the role exists and AWS Chatbot alone may assume it,
    every topic exists, each guardrail is a policy ARN, and the Slack ids have the shapes
    the Chatbot API accepts (CreateSlackChannelConfiguration API reference)."""
    problems = []
    role_name = str(i.get("iamRoleArn", "")).rsplit("/", 1)[-1]
    try:
        trust = c("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        services = [
            p
            for st in trust.get("Statement", [])
            for p in _list((st.get("Principal") or {}).get("Service"))
        ]
        if services != [CHATBOT_SERVICE]:
            problems.append(
                f"role {role_name} is trusted by {services}, not {CHATBOT_SERVICE} alone"
            )
    except ClientError as err:
        problems.append(f"role {role_name}: {err}")
    for topic in _list(i.get("snsTopicArns")):
        try:
            c("sns").get_topic_attributes(TopicArn=topic)
        except ClientError as err:
            problems.append(f"topic {topic}: {err}")
    for policy in _list(i.get("guardrailPolicyArns")):
        # moto does not load AWS managed policies; their ARN shape is what can be checked.
        if not re.fullmatch(r"arn:aws:iam::(aws|\d{12}):policy/[\w+=,.@/-]+", str(policy)):
            problems.append(f"guardrail {policy!r} is not an IAM policy ARN")
    if not re.fullmatch(r"[0-9A-Z]{1,255}", str(i.get("slackTeamId", ""))):
        problems.append(f"slackTeamId {i.get('slackTeamId')!r} is not a Slack workspace id")
    if not re.fullmatch(r"[A-Za-z0-9]{1,255}", str(i.get("slackChannelId", ""))):
        problems.append(f"slackChannelId {i.get('slackChannelId')!r} is not a Slack channel id")
    if problems:
        raise CreationFailed(f"AWS Chatbot configuration {name!r}: " + "; ".join(problems))
    config_name = _physical(name, i, "configurationName")
    arn = f"arn:aws:chatbot::{c.account}:chat-configuration/slack-channel/{config_name}"
    c.recorded[arn] = _state(i, chatConfigurationArn=arn)
    return arn, c.recorded[arn]


def _sns_subscription(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    attributes = _drop_none(
        RawMessageDelivery=_attribute_value(i["rawMessageDelivery"])
        if "rawMessageDelivery" in i
        else None,
        FilterPolicy=i.get("filterPolicy"),
    )
    arn = c("sns").subscribe(
        **_drop_none(
            TopicArn=i["topic"],
            Protocol=i["protocol"],
            Endpoint=i["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
    )["SubscriptionArn"]
    return arn, _state(i, arn=arn)


def _sns_topic_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    c("sns").set_topic_attributes(
        TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"]
    )
    return str(i["arn"]), _state(i)


# ----------------------------------------------------------------------------- CloudWatch


def _metric(query: Mapping[str, Any]) -> dict[str, Any]:
    metric = query.get("metric")
    stat = None
    if metric:
        stat = _drop_none(
            Metric=_drop_none(
                Namespace=metric.get("namespace"),
                MetricName=metric.get("metricName"),
                Dimensions=[
                    {"Name": k, "Value": v} for k, v in (metric.get("dimensions") or {}).items()
                ],
            ),
            Period=_int(metric["period"]),
            Stat=metric["stat"],
            Unit=metric.get("unit"),
        )
    return _drop_none(
        Id=query["id"],
        Expression=query.get("expression"),
        Label=query.get("label"),
        ReturnData=query.get("returnData"),
        Period=_int(query["period"]) if query.get("period") else None,
        MetricStat=stat,
    )


def _metric_alarm(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    alarm_name = _physical(name, i)
    c("cloudwatch").put_metric_alarm(
        **_drop_none(
            AlarmName=alarm_name,
            AlarmDescription=i.get("alarmDescription"),
            ActionsEnabled=i.get("actionsEnabled"),
            AlarmActions=list(i.get("alarmActions") or []),
            OKActions=list(i.get("okActions") or []),
            InsufficientDataActions=list(i.get("insufficientDataActions") or []),
            MetricName=i.get("metricName"),
            Namespace=i.get("namespace"),
            Statistic=i.get("statistic"),
            ExtendedStatistic=i.get("extendedStatistic"),
            Dimensions=[{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
            Period=_int(i["period"]) if "period" in i else None,
            Unit=i.get("unit"),
            EvaluationPeriods=_int(i["evaluationPeriods"]),
            DatapointsToAlarm=_int(i["datapointsToAlarm"]) if "datapointsToAlarm" in i else None,
            Threshold=float(i["threshold"]) if "threshold" in i else None,
            ComparisonOperator=i["comparisonOperator"],
            TreatMissingData=i.get("treatMissingData"),
            EvaluateLowSampleCountPercentile=i.get("evaluateLowSampleCountPercentile"),
            Metrics=[_metric(q) for q in i.get("metricQueries") or []],
            ThresholdMetricId=i.get("thresholdMetricId"),
            Tags=_tag_list(i),
        )
    )
    return alarm_name, _state(i, name=alarm_name, arn=c.arn("cloudwatch", f"alarm:{alarm_name}"))


def _dashboard(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    dashboard_name = _physical(name, i, "dashboardName")
    c("cloudwatch").put_dashboard(DashboardName=dashboard_name, DashboardBody=i["dashboardBody"])
    arn = c.arn("cloudwatch", f"dashboard/{dashboard_name}", region=False)
    return dashboard_name, _state(i, dashboardName=dashboard_name, dashboardArn=arn)


def _log_group(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    group = _physical(name, i)
    c("logs").create_log_group(
        **_drop_none(
            logGroupName=group,
            kmsKeyId=i.get("kmsKeyId"),
            tags=_tags(i),
            logGroupClass=i.get("logGroupClass"),
        )
    )
    if i.get("retentionInDays"):
        c("logs").put_retention_policy(
            logGroupName=group, retentionInDays=_int(i["retentionInDays"])
        )
    return group, _state(i, name=group, arn=c.arn("logs", f"log-group:{group}"))


# ----------------------------------------------------------------------------- DynamoDB


def _dynamodb_table(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    table_name = _physical(name, i)
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    billing = i.get("billingMode") or "PROVISIONED"
    sse = i.get("serverSideEncryption") or {}
    table = c("dynamodb").create_table(
        **_drop_none(
            TableName=table_name,
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]
            ],
            KeySchema=keys,
            BillingMode=billing,
            ProvisionedThroughput={
                "ReadCapacityUnits": _int(i.get("readCapacity", 1)),
                "WriteCapacityUnits": _int(i.get("writeCapacity", 1)),
            }
            if billing == "PROVISIONED"
            else None,
            SSESpecification=_drop_none(
                Enabled=True, SSEType="KMS", KMSMasterKeyId=sse.get("kmsKeyArn")
            )
            if sse.get("enabled")
            else None,
            DeletionProtectionEnabled=i.get("deletionProtectionEnabled"),
            Tags=_tag_list(i),
        )
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
    return table_name, _state(i, name=table_name, arn=table["TableArn"])


def _dynamodb_resource_policy(c: Ctx, name: str, i: Inputs) -> tuple[str, Outputs]:
    revision = c("dynamodb").put_resource_policy(ResourceArn=i["resourceArn"], Policy=i["policy"])
    return str(i["resourceArn"]), _state(i, revisionId=revision.get("RevisionId"))


# ----------------------------------------------------------------------------- the tables

CREATORS: dict[str, Create] = {
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicy:RolePolicy": _iam_role_policy,
    "aws:iam/policy:Policy": _iam_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _iam_role_policy_attachment,
    "aws:iam/user:User": _iam_user,
    "aws:iam/userPolicy:UserPolicy": _iam_user_policy,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": _iam_user_policy_attachment,
    "aws:iam/accessKey:AccessKey": _iam_access_key,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _secret_version,
    "aws:secretsmanager/secretRotation:SecretRotation": _secret_rotation,
    "aws:secretsmanager/secretPolicy:SecretPolicy": _secret_policy,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:sqs/queuePolicy:QueuePolicy": _sqs_queue_policy,
    "aws:sqs/redrivePolicy:RedrivePolicy": _sqs_redrive_policy,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _sqs_redrive_allow_policy,
    "aws:lambda/function:Function": _lambda_function,
    "aws:lambda/permission:Permission": _lambda_permission,
    "aws:lambda/functionUrl:FunctionUrl": _lambda_function_url,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _lambda_invoke_config,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _lambda_event_source_mapping,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sns/topicSubscription:TopicSubscription": _sns_subscription,
    "aws:sns/topicPolicy:TopicPolicy": _sns_topic_policy,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    CHATBOT_TYPE: _chatbot_slack_channel,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:dynamodb/table:Table": _dynamodb_table,
    "aws:dynamodb/resourcePolicy:ResourcePolicy": _dynamodb_resource_policy,
}
CREATORS.update(TRAIL_CREATORS)  # the stack's audit trail (trail_creators.py)
CREATORS.update(STAGE_CREATORS)  # a warehouse pipeline's stage (stage_creators.py)
"""Pulumi type token -> function creating it in the emulator and returning (id, outputs)."""


def _role_policy_listed(c: Ctx, rid: str, o: Outputs) -> object:
    role, policy = rid.split(":", 1)
    return c("iam").get_role_policy(RoleName=role, PolicyName=policy)


def _user_policy_listed(c: Ctx, rid: str, o: Outputs) -> object:
    user, policy = rid.split(":", 1)
    return c("iam").get_user_policy(UserName=user, PolicyName=policy)


def _attached(kind: str) -> Find:
    def find(c: Ctx, rid: str, o: Outputs) -> object:
        listing = getattr(c("iam"), f"list_attached_{kind}_policies")
        attached = listing(**{f"{kind.capitalize()}Name": o[kind]})["AttachedPolicies"]
        if o["policyArn"] not in {p["PolicyArn"] for p in attached}:
            raise LookupError(f"{o['policyArn']} is not attached to {kind} {o[kind]}")
        return attached

    return find


def _access_key_listed(c: Ctx, rid: str, o: Outputs) -> object:
    keys = c("iam").list_access_keys(UserName=o["user"])["AccessKeyMetadata"]
    if rid not in {k["AccessKeyId"] for k in keys}:
        raise LookupError(f"access key {rid} is not listed for user {o['user']}")
    return keys


def _secret_rotation_on(c: Ctx, rid: str, o: Outputs) -> object:
    secret = c("secretsmanager").describe_secret(SecretId=rid)
    if not secret.get("RotationEnabled"):
        raise LookupError(f"rotation is not enabled on {rid}")
    return secret


def _permission_listed(c: Ctx, rid: str, o: Outputs) -> object:
    policy = json.loads(c("lambda").get_policy(FunctionName=o["function"])["Policy"])
    if rid not in {s.get("Sid") for s in policy.get("Statement", [])}:
        raise LookupError(f"statement {rid} is not in {o['function']}'s resource policy")
    return policy


def _target_listed(c: Ctx, rid: str, o: Outputs) -> object:
    targets = c("events").list_targets_by_rule(Rule=o["rule"])["Targets"]
    if o["targetId"] not in {t["Id"] for t in targets}:
        raise LookupError(f"target {o['targetId']} is not on rule {o['rule']}")
    return targets


def _subscription_listed(c: Ctx, rid: str, o: Outputs) -> object:
    return c("sns").get_subscription_attributes(SubscriptionArn=rid)


def _alarm_listed(c: Ctx, rid: str, o: Outputs) -> object:
    alarms = c("cloudwatch").describe_alarms(AlarmNames=[rid])["MetricAlarms"]
    if not alarms:
        raise LookupError(f"no alarm named {rid}")
    return alarms


def _log_group_listed(c: Ctx, rid: str, o: Outputs) -> object:
    groups = c("logs").describe_log_groups(logGroupNamePrefix=rid)["logGroups"]
    if rid not in {g["logGroupName"] for g in groups}:
        raise LookupError(f"no log group named {rid}")
    return groups


def _policy_set(attribute: str) -> Find:
    def find(c: Ctx, rid: str, o: Outputs) -> object:
        got = c("sqs").get_queue_attributes(QueueUrl=rid, AttributeNames=[attribute])
        if attribute not in got.get("Attributes", {}):
            raise LookupError(f"{rid} has no {attribute}")
        return got

    return find


FINDERS: dict[str, Find] = {
    "aws:iam/role:Role": lambda c, rid, o: c("iam").get_role(RoleName=rid),
    "aws:iam/rolePolicy:RolePolicy": _role_policy_listed,
    "aws:iam/policy:Policy": lambda c, rid, o: c("iam").get_policy(PolicyArn=rid),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _attached("role"),
    "aws:iam/user:User": lambda c, rid, o: c("iam").get_user(UserName=rid),
    "aws:iam/userPolicy:UserPolicy": _user_policy_listed,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": _attached("user"),
    "aws:iam/accessKey:AccessKey": _access_key_listed,
    "aws:kms/key:Key": lambda c, rid, o: c("kms").describe_key(KeyId=rid),
    "aws:kms/alias:Alias": lambda c, rid, o: c("kms").describe_key(KeyId=rid),
    "aws:secretsmanager/secret:Secret": lambda c, rid, o: c("secretsmanager").describe_secret(
        SecretId=rid
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": lambda c, rid, o: c(
        "secretsmanager"
    ).get_secret_value(SecretId=o["secretId"], VersionId=o["versionId"]),
    "aws:secretsmanager/secretRotation:SecretRotation": _secret_rotation_on,
    "aws:secretsmanager/secretPolicy:SecretPolicy": lambda c, rid, o: c(
        "secretsmanager"
    ).get_resource_policy(SecretId=rid)["ResourcePolicy"],
    "aws:sqs/queue:Queue": lambda c, rid, o: c("sqs").get_queue_attributes(
        QueueUrl=rid, AttributeNames=["QueueArn"]
    ),
    "aws:sqs/queuePolicy:QueuePolicy": _policy_set("Policy"),
    "aws:sqs/redrivePolicy:RedrivePolicy": _policy_set("RedrivePolicy"),
    # moto 5.2.5 stores RedriveAllowPolicy but does not report it: the queue must exist.
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": lambda c, rid, o: c(
        "sqs"
    ).get_queue_attributes(QueueUrl=rid, AttributeNames=["QueueArn"]),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda c, rid, o: c(
        "lambda"
    ).get_function_event_invoke_config(FunctionName=rid),
    "aws:lambda/function:Function": lambda c, rid, o: c("lambda").get_function_configuration(
        FunctionName=rid
    ),
    "aws:lambda/permission:Permission": _permission_listed,
    "aws:lambda/functionUrl:FunctionUrl": lambda c, rid, o: c("lambda").get_function_url_config(
        FunctionName=rid
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": lambda c, rid, o: c(
        "lambda"
    ).get_event_source_mapping(UUID=rid),
    "aws:cloudwatch/eventRule:EventRule": lambda c, rid, o: c("events").describe_rule(
        Name=o["name"], **({"EventBusName": o["eventBusName"]} if o.get("eventBusName") else {})
    ),
    "aws:cloudwatch/eventTarget:EventTarget": _target_listed,
    "aws:scheduler/schedule:Schedule": lambda c, rid, o: c("scheduler").get_schedule(
        Name=o["name"], GroupName=o["groupName"]
    ),
    "aws:sns/topic:Topic": lambda c, rid, o: c("sns").get_topic_attributes(TopicArn=rid),
    "aws:sns/topicSubscription:TopicSubscription": _subscription_listed,
    "aws:sns/topicPolicy:TopicPolicy": lambda c, rid, o: c("sns").get_topic_attributes(
        TopicArn=rid
    )["Attributes"]["Policy"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm_listed,
    CHATBOT_TYPE: lambda c, rid, o: c.recorded[rid],
    "aws:cloudwatch/dashboard:Dashboard": lambda c, rid, o: c("cloudwatch").get_dashboard(
        DashboardName=rid
    ),
    "aws:cloudwatch/logGroup:LogGroup": _log_group_listed,
    "aws:dynamodb/table:Table": lambda c, rid, o: c("dynamodb").describe_table(TableName=rid),
    "aws:dynamodb/resourcePolicy:ResourcePolicy": lambda c, rid, o: c(
        "dynamodb"
    ).get_resource_policy(ResourceArn=rid),
}
FINDERS.update(TRAIL_FINDERS)
FINDERS.update(STAGE_FINDERS)
"""Pulumi type token -> lookup that raises unless the created resource is in the emulator."""

# Resources Pulumi registers that are not cloud resources: nothing to create.
_NOT_CLOUD_PREFIXES = ("pulumi:providers:", "pulumi:pulumi:")


class AwsCreator:
    """Creates each registered resource in the emulator and remembers what it created.

    Calls are serialised: the mock monitor registers resources from several threads, and a
    rehearsal gains nothing from racing a local server.
    """

    def __init__(self, aws: Emulator) -> None:
        self.ctx = Ctx(aws)
        self.created: list[CreatedResource] = []
        self.errors: list[Exception] = []
        self._lock = threading.Lock()

    def create(self, type_: str, name: str, inputs: Inputs) -> tuple[str, Outputs]:
        """Create one resource; raise UnsupportedResource or CreationFailed, and record it."""
        with self._lock:
            try:
                return self._create(type_, name, inputs)
            except Exception as err:
                # Kept: the mock runtime may swallow or rewrap an exception raised here.
                self.errors.append(err)
                raise

    def _create(self, type_: str, name: str, inputs: Inputs) -> tuple[str, Outputs]:
        if type_.startswith(_NOT_CLOUD_PREFIXES):
            return f"{name}-id", dict(inputs)
        creator = CREATORS.get(type_)
        if creator is None:
            raise UnsupportedResource(type_, name)
        try:
            resource_id, outputs = creator(self.ctx, name, inputs)
        except (UnsupportedResource, CreationFailed):
            raise
        except Exception as err:
            raise CreationFailed(
                f"creating {type_} {name!r} in the emulator failed: {type(err).__name__}: {err}"
            ) from err
        self.created.append(CreatedResource(type_, name, resource_id, outputs))
        # The recorder merges these over the inputs itself (and re-encodes them, so they
        # must be computed values only, not the decoded input archives).
        return resource_id, {k: v for k, v in outputs.items() if inputs.get(k) is not v}

    def find(self, resource: CreatedResource) -> object:
        """Look the resource up in the emulator; raise if it is not there."""
        return FINDERS[resource.type](self.ctx, resource.id, resource.outputs)
