"""Ids and ARNs in the shapes AWS returns, invented from each resource's URN (plan, check).

The `ResourceBackend` of every offline command that needs no emulator: each registered
resource gets an id and the computed outputs AWS would give it (`arn`, `url`, ...),
deterministically, in the account the stack would deploy into. The rehearsal's backend
creates each resource in moto instead.

Usage::

    run = run_program("dev", backend=AwsShapedBackend)
    run.find("quote-to-order-dlq").outputs["arn"]
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from contract.aws_types import (
    CLOUDTRAIL_TRAIL,
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_RESOURCE_POLICY,
    DYNAMODB_TABLE,
    GET_CALLER_IDENTITY,
    GET_REGION,
    GET_SESSION_CONTEXT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER,
    IAM_USER_POLICY,
    KMS_ALIAS,
    KMS_KEY,
    LAMBDA_EVENT_SOURCE_MAPPING,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_URL,
    LAMBDA_PERMISSION,
    S3_BUCKET,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
    SECRETS_MANAGER_SECRET_VERSION,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SNS_TOPIC_SUBSCRIPTION,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    SQS_REDRIVE_ALLOW_POLICY,
)
from provisioner.records import ProgramError, ResourceRequest
from roadmap.settings import StackSettings

__all__ = ["EXAMPLE_ACCOUNT", "AwsShapedBackend", "stand_in_account"]


# What `aws.get_caller_identity()` answers under the mock runtime when the stack allows no
# particular account: the example account of the AWS documentation (and moto's default).
EXAMPLE_ACCOUNT = "123456789012"


def stand_in_account(settings: StackSettings) -> str:
    """The account a plan or rehearsal of the stack runs as: its first allowed account."""
    return settings.allowed_account_ids[0] if settings.allowed_account_ids else EXAMPLE_ACCOUNT


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


_Made = tuple[str, dict[str, Any]]  # a resource's id and its outputs


class AwsShapedBackend:
    """Invents ids and ARNs in the shapes AWS returns, deterministically from the URN."""

    def __init__(self, settings: StackSettings) -> None:
        self.region = settings.region
        self.account = stand_in_account(settings)

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        if not request.custom:  # components have no id of their own
            return "", {}
        inputs, t = request.inputs, request.type
        name = str(inputs.get("name") or inputs.get("dashboardName") or request.name)
        h = _short_hash(request.urn)
        service = t.split(":")[1].split("/")[0] if t.startswith("aws:") else "unknown"
        shape = _SHAPES.get(service)
        made = shape(self, request, name, h) if shape is not None else None
        if made is not None:
            return made
        # Anything else: a stable id; an ARN when the type is an AWS one we do not model.
        return f"{name}-{h}", {"arn": self._arn(service, f"{name}-{h}")}

    def _uuid(self, request: ResourceRequest) -> str:
        return str(uuid.UUID(hashlib.md5(request.urn.encode()).hexdigest()))

    # One method per AWS service, as AWS (and moto) organise them: the resource's id and
    # outputs, or None for a type of the service it does not model.

    def _sqs(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == SQS_QUEUE:
            url = f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
            return url, {"arn": self._arn("sqs", name), "url": url, "name": name}
        if request.type in (
            SQS_QUEUE_POLICY,
            SQS_REDRIVE_ALLOW_POLICY,
        ):
            return str(request.inputs.get("queueUrl")), {}
        return None

    def _iam(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == IAM_ROLE:
            out = {"arn": f"arn:aws:iam::{self.account}:role/{name}", "name": name}
            out["uniqueId"] = "AROA" + _short_hash(request.urn, length=16).upper()
            return name, out
        if t == IAM_USER:
            return name, {"arn": f"arn:aws:iam::{self.account}:user/{name}", "name": name}
        if t in (IAM_ROLE_POLICY, IAM_USER_POLICY):
            owner = inputs.get("role") or inputs.get("user")
            return f"{owner}:{name}", {"name": name}
        return None

    def _kms(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == KMS_KEY:
            key_id = self._uuid(request)
            return key_id, {"arn": self._arn("kms", f"key/{key_id}"), "keyId": key_id}
        if request.type == KMS_ALIAS:
            return name, {"arn": self._arn("kms", name)}
        return None

    def _secretsmanager(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == SECRETS_MANAGER_SECRET:
            arn = self._arn("secretsmanager", f"secret:{name}-{h[:6]}")
            return arn, {"arn": arn, "name": name}
        if t == SECRETS_MANAGER_SECRET_VERSION:
            version = self._uuid(request)
            return f"{inputs.get('secretId')}|{version}", {
                "arn": inputs.get("secretId"),
                "versionId": version,
                "versionStages": ["AWSCURRENT"],
            }
        if t == SECRETS_MANAGER_SECRET_ROTATION:
            return str(inputs.get("secretId")), {"rotationEnabled": True}
        return None

    def _lambda(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t, inputs = request.type, request.inputs
        if t == LAMBDA_FUNCTION:
            return name, {
                "arn": self._arn("lambda", f"function:{name}"),
                "invokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/"
                f"functions/{self._arn('lambda', f'function:{name}')}/invocations",
                "qualifiedArn": self._arn("lambda", f"function:{name}:$LATEST"),
                "version": "$LATEST",
                "name": name,
            }
        if t == LAMBDA_PERMISSION:
            return f"{inputs.get('function')}:{h}", {"statementId": f"terraform-{h}"}
        if t == LAMBDA_FUNCTION_URL:
            # Lambda developer guide, "Creating and managing Lambda function URLs": the URL's
            # host is a generated id under lambda-url.<region>.on.aws.
            function = str(inputs.get("functionName"))
            return function, {
                "functionArn": self._arn("lambda", f"function:{function}"),
                "functionUrl": f"https://{_short_hash(request.urn, length=32)}.lambda-url."
                f"{self.region}.on.aws/",
                "urlId": h,
            }
        if t == LAMBDA_EVENT_SOURCE_MAPPING:
            esm = self._uuid(request)
            return esm, {
                "uuid": esm,
                "arn": self._arn("lambda", f"event-source-mapping:{esm}"),
                "state": "Enabled" if inputs.get("enabled", True) else "Disabled",
            }
        return None

    def _cloudwatch(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        t = request.type
        if t == CLOUDWATCH_LOG_GROUP:
            return name, {"arn": self._arn("logs", f"log-group:{name}")}
        if t == CLOUDWATCH_METRIC_ALARM:
            return name, {"arn": self._arn("cloudwatch", f"alarm:{name}")}
        if t == CLOUDWATCH_EVENT_RULE:
            return name, {"arn": self._arn("events", f"rule/{name}")}
        if t == CLOUDWATCH_EVENT_TARGET:
            return f"{request.inputs.get('rule')}-{h}", {"targetId": h}
        if t == CLOUDWATCH_DASHBOARD:
            return name, {"dashboardArn": f"arn:aws:cloudwatch::{self.account}:dashboard/{name}"}
        return None

    def _sns(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == SNS_TOPIC:
            arn = self._arn("sns", name)
            return arn, {"arn": arn, "name": name}
        if request.type == SNS_TOPIC_SUBSCRIPTION:
            arn = f"{request.inputs.get('topic')}:{self._uuid(request)}"
            return arn, {"arn": arn}
        if request.type == SNS_TOPIC_POLICY:
            return str(request.inputs.get("arn")), {}
        return None

    def _dynamodb(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == DYNAMODB_TABLE:
            return name, {"arn": self._arn("dynamodb", f"table/{name}"), "streamArn": ""}
        if request.type == DYNAMODB_RESOURCE_POLICY:
            return str(request.inputs.get("resourceArn")), {"revisionId": h}
        return None

    def _s3(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        inputs = request.inputs
        if request.type == S3_BUCKET:
            bucket = str(inputs.get("bucket") or name)
            return bucket, {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}
        if request.type.startswith("aws:s3/bucket") and inputs.get("bucket"):
            return str(inputs["bucket"]), {}  # a bucket's configuration
        return None

    def _cloudtrail(self, request: ResourceRequest, name: str, h: str) -> _Made | None:
        if request.type == CLOUDTRAIL_TRAIL:
            arn = self._arn("cloudtrail", f"trail/{name}")
            return arn, {"arn": arn, "homeRegion": self.region}
        return None

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == GET_CALLER_IDENTITY:
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/deployer",
                "userId": "AIDADEPLOYER",
            }
        if token == GET_REGION:
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == GET_SESSION_CONTEXT:
            return _session_context(str(args.get("arn", "")))
        raise ProgramError(f"the program made a provider call the mocks do not know: {token}")


# The service part of a type token (aws:<service>/...) -> the backend's method for it.
_SHAPES: dict[str, Callable[[AwsShapedBackend, ResourceRequest, str, str], _Made | None]] = {
    "sqs": AwsShapedBackend._sqs,
    "iam": AwsShapedBackend._iam,
    "kms": AwsShapedBackend._kms,
    "secretsmanager": AwsShapedBackend._secretsmanager,
    "lambda": AwsShapedBackend._lambda,
    "cloudwatch": AwsShapedBackend._cloudwatch,
    "sns": AwsShapedBackend._sns,
    "dynamodb": AwsShapedBackend._dynamodb,
    "s3": AwsShapedBackend._s3,
    "cloudtrail": AwsShapedBackend._cloudtrail,
}


def _session_context(arn: str) -> dict[str, Any]:
    """What `aws.iam.get_session_context` answers: a role session's role, else the ARN.

    The mocks cannot look up a role's path, so the role ARN they give has none.
    """
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        _, role, session = parts[5].split("/", 2)
        issuer = f"arn:aws:iam::{parts[4]}:role/{role}"
        return {"arn": arn, "issuerArn": issuer, "issuerName": role, "sessionName": session}
    return {"arn": arn, "issuerArn": arn, "issuerName": arn.rsplit("/", 1)[-1]}
