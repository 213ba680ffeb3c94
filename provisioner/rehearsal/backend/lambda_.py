"""Lambda: functions (from zip files or bundle folders), their permissions, URLs, async
invocation configuration and SQS triggers.

Usage::

    RESOURCES[LAMBDA_FUNCTION].create(ctx, "quote-to-order-consumer", inputs)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contract import aws_types
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Outputs, Resource

__all__ = ["RESOURCES"]


def _archive(code: Any) -> Path:
    """The zip for a function's ``code``: a zip file as is, a bundle folder built by bundles.py."""
    from provisioner.bundles import build_bundle

    # The recorder decodes archives to {"archive": {"path": ...}}; the SDK's own mocks pass
    # a FileArchive object. Both name a zip file or a bundle folder.
    if isinstance(code, Mapping):
        path = (code.get("archive") or {}).get("path")
    else:
        path = getattr(code, "path", None)
    if path is None:
        raise base.CreationFailed(
            f"function code {type(code).__name__} is not a FileArchive; the rehearsal "
            "deploys zip files or bundle folders only"
        )
    source = Path(path)
    if source.is_dir():
        requirements = source / "requirements.txt"
        source = build_bundle(source, requirements=requirements if requirements.is_file() else None)
    return source


def _staged(c: Ctx, archive: Path) -> dict[str, str]:
    """CreateFunction's code as an S3 object of the emulator, uploaded once per zip.

    Every function of an integration ships one of the same two ~7 MB bundles; sent inline
    (``ZipFile``), each was base64-encoded, signed, sent and parsed again, about a quarter
    of the deploy. CreateFunction takes the same zip from S3 (Lambda API reference,
    FunctionCode: S3Bucket, S3Key); the function gets the same bytes, size and SHA-256.
    The staging bucket is the rehearsal's, not the program's: it is removed once the
    program has run (``AwsCreator.unstage``).
    """
    if not c.staging_bucket:
        c.staging_bucket = f"rehearsal-function-code-{uuid.uuid4().hex[:12]}"
        c("s3").create_bucket(
            Bucket=c.staging_bucket,
            CreateBucketConfiguration={"LocationConstraint": c.region},
        )
        c.cleanups.append(lambda: _unstage(c))
    if str(archive) not in c.staged:
        data = archive.read_bytes()
        key = f"{hashlib.sha256(data).hexdigest()}.zip"
        c("s3").put_object(Bucket=c.staging_bucket, Key=key, Body=data)
        c.staged[str(archive)] = key
    return {"S3Bucket": c.staging_bucket, "S3Key": c.staged[str(archive)]}


def _unstage(c: Ctx) -> None:
    for key in set(c.staged.values()):
        c("s3").delete_object(Bucket=c.staging_bucket, Key=key)
    c("s3").delete_bucket(Bucket=c.staging_bucket)
    c.staging_bucket, c.staged = "", {}


def _function_config(i: Inputs) -> dict[str, Any]:
    """CreateFunction's parameters other than the name, role and code."""
    logging = i.get("loggingConfig") or {}
    tracing = i.get("tracingConfig") or {}
    dead_letter = i.get("deadLetterConfig") or {}
    return base.drop_none(
        Runtime=i.get("runtime"),
        Handler=i.get("handler"),
        Description=i.get("description"),
        Timeout=base.int_or_none(i, "timeout"),
        MemorySize=base.int_or_none(i, "memorySize"),
        Publish=bool(i.get("publish", False)),
        Environment={"Variables": dict((i.get("environment") or {}).get("variables") or {})},
        KMSKeyArn=i.get("kmsKeyArn"),
        TracingConfig={"Mode": tracing["mode"]} if tracing.get("mode") else None,
        DeadLetterConfig={"TargetArn": dead_letter["targetArn"]}
        if dead_letter.get("targetArn")
        else None,
        Architectures=list(i.get("architectures") or []) or None,
        LoggingConfig=base.drop_none(
            LogFormat=logging.get("logFormat"),
            LogGroup=logging.get("logGroup"),
            ApplicationLogLevel=logging.get("applicationLogLevel"),
            SystemLogLevel=logging.get("systemLogLevel"),
        )
        or None,
        Tags=base.tags(i),
    )


def _function(c: Ctx, name: str, i: Inputs) -> Created:
    if "code" not in i:
        raise base.CreationFailed(
            f"function {name} has no `code` archive (S3 or image code is not rehearsed)"
        )
    function_name = base.physical(name, i)
    function = c("lambda").create_function(
        FunctionName=function_name,
        Role=i["role"],
        Code=_staged(c, _archive(i["code"])),
        **_function_config(i),
    )
    reserved = base.int_or_none(i, "reservedConcurrentExecutions")
    if reserved is not None and reserved >= 0:
        c("lambda").put_function_concurrency(
            FunctionName=function_name, ReservedConcurrentExecutions=reserved
        )
    arn = function["FunctionArn"]
    version = function.get("Version", "$LATEST")
    return function_name, base.state(
        i,
        name=function_name,
        arn=arn,
        qualifiedArn=f"{arn}:{version}",
        invokeArn=(
            f"arn:aws:apigateway:{c.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        version=version,
    )


def _invoke_config(c: Ctx, name: str, i: Inputs) -> Created:
    destinations = i.get("destinationConfig") or {}
    config = {
        key: {"Destination": destinations[field]["destination"]}
        for field, key in (("onFailure", "OnFailure"), ("onSuccess", "OnSuccess"))
        if (destinations.get(field) or {}).get("destination")
    }
    c("lambda").put_function_event_invoke_config(
        **base.drop_none(
            FunctionName=i["functionName"],
            Qualifier=i.get("qualifier"),
            MaximumRetryAttempts=base.int_or_none(i, "maximumRetryAttempts"),
            MaximumEventAgeInSeconds=base.int_or_none(i, "maximumEventAgeInSeconds"),
            DestinationConfig=config or None,
        )
    )
    return str(i["functionName"]), base.state(i)


def _permission(c: Ctx, name: str, i: Inputs) -> Created:
    statement_id = str(i.get("statementId") or name)
    c("lambda").add_permission(
        **base.drop_none(
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
    return statement_id, base.state(i, statementId=statement_id)


def _permission_listed(c: Ctx, rid: str, o: Outputs) -> object:
    policy = json.loads(c("lambda").get_policy(FunctionName=o["function"])["Policy"])
    if rid not in {s.get("Sid") for s in policy.get("Statement", [])}:
        raise LookupError(f"statement {rid} is not in {o['function']}'s resource policy")
    return policy


def _function_url(c: Ctx, name: str, i: Inputs) -> Created:
    config = c("lambda").create_function_url_config(
        FunctionName=i["functionName"], AuthType=i["authorizationType"]
    )
    return str(i["functionName"]), base.state(
        i, functionArn=config["FunctionArn"], functionUrl=config["FunctionUrl"]
    )


def _event_source_mapping(c: Ctx, name: str, i: Inputs) -> Created:
    scaling = i.get("scalingConfig") or {}
    filters = (i.get("filterCriteria") or {}).get("filters") or []
    concurrency = base.int_or_none(scaling, "maximumConcurrency")
    mapping = c("lambda").create_event_source_mapping(
        **base.drop_none(
            EventSourceArn=i["eventSourceArn"],
            FunctionName=i["functionName"],
            Enabled=bool(i.get("enabled", True)),
            BatchSize=base.int_or_none(i, "batchSize"),
            MaximumBatchingWindowInSeconds=base.int_or_none(i, "maximumBatchingWindowInSeconds"),
            FunctionResponseTypes=list(i.get("functionResponseTypes") or []) or None,
            ScalingConfig={"MaximumConcurrency": concurrency} if concurrency is not None else None,
            FilterCriteria={"Filters": [{"Pattern": f["pattern"]} for f in filters]}
            if filters
            else None,
        )
    )
    uuid = mapping["UUID"]
    return uuid, base.state(
        i,
        uuid=uuid,
        functionArn=mapping["FunctionArn"],
        state=mapping.get("State"),
        arn=c.arn("lambda", f"event-source-mapping:{uuid}"),
    )


RESOURCES: dict[str, Resource] = {
    aws_types.LAMBDA_FUNCTION: base.listable(
        _function,
        "lambda",
        ("get_function_configuration", "FunctionName"),
        ("list_functions", "Functions[].FunctionName"),
    ),
    aws_types.LAMBDA_PERMISSION: Resource(_permission, _permission_listed),
    aws_types.LAMBDA_FUNCTION_URL: Resource(
        _function_url, base.described("lambda", "get_function_url_config", "FunctionName")
    ),
    aws_types.LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG: Resource(
        _invoke_config,
        base.described("lambda", "get_function_event_invoke_config", "FunctionName"),
    ),
    aws_types.LAMBDA_EVENT_SOURCE_MAPPING: base.listable(
        _event_source_mapping,
        "lambda",
        ("get_event_source_mapping", "UUID"),
        ("list_event_source_mappings", "EventSourceMappings[].UUID"),
    ),
}
