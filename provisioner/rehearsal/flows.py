"""Smoke checks that exercise the deployment: records end to end, DLQ and replay, rotation, alarms.

Each public function takes the rehearsal's ``Deployment`` and returns one ``Check`` per
integration (or credential) it applies to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.aws_types import (
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_METRIC_ALARM,
    IAM_ROLE,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
    SQS_QUEUE,
)
from contract.connectors import CONNECTORS
from contract.naming import WEBHOOK_INGRESS_ROLE
from contract.phases import (
    REVERSE,
    REVIEW_ALARM,
    SECRET_AGE_ALARM,
    SECRET_AGE_METRIC,
    Alarm,
    required_alarms,
)
from provisioner.rehearsal.inventory import Deployed
from provisioner.rehearsal.result import Check
from provisioner.sdk_seams import clear_powertools_providers
from roadmap.integrations import ConflictStrategy, CredentialKind

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["alarms", "end_to_end", "poison_and_replay", "rotations"]

# Records the end-to-end check sends per queued integration, in one batch.
RECORDS_PER_CHECK = 3

# ----------------------------------------------------------------------------- alarms

Metric = tuple[str, str, dict[str, str]]  # namespace, metric name, dimensions


def _main_function(d: Deployed, prefix: str = "") -> str | None:
    if prefix == f"{WEBHOOK_INGRESS_ROLE}-":
        function = d.named(WEBHOOK_INGRESS_ROLE, LAMBDA_FUNCTION)
    elif prefix:
        function = d.named(f"{prefix}consumer", LAMBDA_FUNCTION)
    else:
        function = d.named("consumer", LAMBDA_FUNCTION) or d.named("batch", LAMBDA_FUNCTION)
    return function.outputs["name"] if function else None


def _custom(d: Deployed, *names: str) -> list[Metric]:
    # contracts.md, Metrics: namespace Integrations/{integration}, dimension service.
    return [(f"Integrations/{d.name}", n, {"service": d.name}) for n in names]


def _lambda(d: Deployed, prefix: str, name: str) -> list[Metric]:
    return [("AWS/Lambda", name, {"FunctionName": _main_function(d, prefix) or "?"})]


def _sqs(resource: Any, name: str) -> list[Metric]:
    return [("AWS/SQS", name, {"QueueName": resource.outputs["name"]})] if resource else []


def _oldest(d: Deployed, prefix: str) -> list[Metric]:
    queue = d.named(f"{prefix}queue", SQS_QUEUE)
    if queue is not None:
        return _sqs(queue, "ApproximateAgeOfOldestMessage")
    return _custom(d, "SyncLagSeconds")


# Alarm kind -> the metrics it may watch, for the direction whose roles start with the
# prefix (`reverse-` for a bidirectional flow's way back, `webhook-` for a signed-webhook
# ingress). Which alarms a phase requires, and for which direction: contract.phases.
# contracts.md, Metrics.
ALARM_METRICS: dict[str, Callable[[Deployed, str], list[Metric]]] = {
    "dlq-depth": lambda d, p: _sqs(
        d.named(f"{p}dlq", SQS_QUEUE), "ApproximateNumberOfMessagesVisible"
    ),
    "oldest-message-age": _oldest,
    "errors": lambda d, p: _lambda(d, p, "Errors"),
    "throttles": lambda d, p: _lambda(d, p, "Throttles"),
    "reconciliation-gap": lambda d, p: _custom(d, "ReconciliationGap"),
    "stale-sync": lambda d, p: _custom(d, "RecordsSynced", "SyncLagSeconds"),
    "latency-p99": lambda d, p: _lambda(d, p, "Duration"),
    "api-budget": lambda d, p: _custom(d, "ApiCallsUsed"),
    REVIEW_ALARM: lambda d, p: _sqs(
        d.named("review", SQS_QUEUE), "ApproximateNumberOfMessagesVisible"
    ),
}


def _tag(resource: Any, key: str) -> str | None:
    return (resource.outputs.get("tags") or {}).get(key)


def _alarm_problems(alarm: Alarm, d: Deployed, cloudwatch: Any, topic_arn: str | None) -> list[str]:
    """One required alarm: it exists, in CloudWatch, on its metric, notifying the topic."""
    problems: list[str] = []
    kind = alarm.kind
    resource = d.named(alarm.role, CLOUDWATCH_METRIC_ALARM)
    if resource is None or _tag(resource, "alarm") != kind:
        return [f"no {kind} alarm {alarm.role}"]
    found = cloudwatch.describe_alarms(AlarmNames=[resource.id])["MetricAlarms"]
    if not found:
        return [f"{alarm.role} alarm {resource.id} is not in CloudWatch"]
    cw = found[0]
    watched = (
        cw.get("Namespace"),
        cw.get("MetricName"),
        {x["Name"]: x["Value"] for x in cw.get("Dimensions", [])},
    )
    watches = (REVERSE, WEBHOOK_INGRESS_ROLE)  # the way back, the ingress, or neither
    prefix = next((f"{w}-" for w in watches if alarm.role.startswith(f"alarm-{w}-")), "")
    if kind == SECRET_AGE_ALARM:  # the credential's own secret, by name
        cred = alarm.role.removeprefix(f"alarm-{SECRET_AGE_ALARM}-")
        secret = d.named(f"cred-{cred}", SECRETS_MANAGER_SECRET)
        dims = {"service": d.name, "secret": secret.outputs["name"] if secret else "?"}
        expected = [(f"Integrations/{d.name}", SECRET_AGE_METRIC, dims)]
    else:
        expected = ALARM_METRICS[kind](d, prefix)
    if watched not in expected:
        want = " or ".join(f"{n}/{m} {dims}" for n, m, dims in expected)
        problems.append(f"{alarm.role} watches {watched[0]}/{watched[1]} {watched[2]}, not {want}")
    if topic_arn not in cw.get("AlarmActions", []):
        problems.append(
            f"{alarm.role} notifies {cw.get('AlarmActions')}, not the alert topic {topic_arn}"
        )
    return problems


def alarms(deployment: Deployment) -> list[Check]:
    """Per integration at phase >= 3: each required alarm exists, on its metric, to its topic."""
    checks = []
    cloudwatch = deployment.aws.client("cloudwatch")
    sns = deployment.aws.client("sns")
    events = deployment.aws.client("events")
    for integration in deployment.roadmap.active(deployment.settings.environment):
        phase = integration.phase(deployment.settings.environment)
        if phase < 3:
            continue
        d = deployment.inventory[integration.name]
        problems: list[str] = []
        topic = d.topic
        topic_arn = topic.id if topic else None
        if topic_arn is None:
            problems.append("no alert topic")
        else:
            sns.get_topic_attributes(TopicArn=topic_arn)
        rule = integration.conflict_rule
        required = [
            alarm
            for alarm in required_alarms(
                phase,
                reverse=len(integration.flows(deployment.settings.environment)) > 1,
                review=rule is not None and rule.strategy is ConflictStrategy.MANUAL_REVIEW,
                manual_credentials=[
                    c.name
                    for c in integration.credentials
                    if deployment.roadmap.rotation_mode(c) == "manual"
                ],
                ingress=integration.webhook is not None and integration.pattern.queued,
            )
            if alarm.kind != "rotation-failure"  # an EventBridge rule, checked below
        ]
        for alarm in required:
            problems += _alarm_problems(alarm, d, cloudwatch, topic_arn)
        # Rotation failures are events, not metrics: an EventBridge rule targeting the topic.
        failure = next(
            (r for r in d.of_type(CLOUDWATCH_EVENT_RULE) if _tag(r, "alarm") == "rotation-failure"),
            None,
        )
        if failure is None:
            problems.append("no rotation-failure rule")
        else:
            targets = events.list_targets_by_rule(Rule=failure.outputs["name"])["Targets"]
            if topic_arn not in {t["Arn"] for t in targets}:
                problems.append(f"rotation-failure rule targets {[t['Arn'] for t in targets]}")
        name = f"alarms:{integration.name}"
        if problems:
            checks.append(Check(name, False, f"phase {phase}: " + "; ".join(problems)))
        else:
            checks.append(
                Check(
                    name,
                    True,
                    f"phase {phase}: {len(required)} alarms and the rotation-failure rule "
                    f"notify {topic_arn}",
                )
            )
    return checks


# ----------------------------------------------------------------------------- end to end


# Patterns whose consumer reads a queue (components: SyncQueue + consumer function).
QUEUED_PATTERNS = frozenset({"event_driven", "middleware", "real_time_api"})
FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


def end_to_end(deployment: Deployment) -> list[Check]:
    """Per queued integration at phase >= 3: one realistic record from queue to the target's fake.

    A Salesforce CDC event (relayed through EventBridge) or a plain JSON envelope, built from
    the roadmap's field mapping, is sent to the queue; it is received with the integration
    role's STS credentials with IAM enforced, as the Lambda poller does; the deployed consumer
    code (``integration_sync.consumer.handler``) runs in this process with the function's
    deployed environment, the role's credentials and the URL of the fake of its target's
    vendor (``provisioner/rehearsal/vendors``), so the record travels through the connector
    the roadmap chose (``TARGET_CONNECTOR``) speaking that vendor's API; the record must be
    stored there with the mapped fields, and the message be deleted. Scheduled flows run
    their batch job instead (``provisioner.rehearsal.scheduled``).
    """
    from provisioner.rehearsal.both_ways import conflict_and_echo
    from provisioner.rehearsal.scheduled import one_run
    from provisioner.rehearsal.vendors import FAKES, VendorServer
    from provisioner.rehearsal.webhooks import signed_ingress

    env = deployment.settings.environment
    checks: list[Check] = []
    with VendorServer(*(fake() for fake in FAKES.values())) as vendors:
        for integration in deployment.roadmap.active(env):
            if integration.phase(env) < 3:
                continue
            name = f"end-to-end:{integration.name}"
            try:
                if integration.pattern.value in QUEUED_PATTERNS:
                    checks.append(_one_record(name, integration, deployment, vendors))
                    if integration.webhook is not None:  # and pushed by signed webhook
                        checks.append(
                            signed_ingress(
                                f"webhook:{integration.name}", integration, deployment, vendors
                            )
                        )
                    if len(integration.flows(env)) > 1:  # and back, through its own queue
                        checks.append(
                            _one_record(
                                f"{name}:{REVERSE}", integration, deployment, vendors, REVERSE
                            )
                        )
                        checks.append(
                            conflict_and_echo(
                                f"both-ways:{integration.name}", integration, deployment, vendors
                            )
                        )
                elif integration.pattern.scheduled:
                    checks.append(one_run(name, integration, deployment, vendors))
            except Exception as err:  # one integration must not hide the others
                checks.append(Check(name, False, f"{type(err).__name__}: {err}"))
    return checks


def _value(field_name: str, n: int) -> Any:
    """A plausible value for a source field, by its name."""
    lowered = field_name.lower()
    if field_name == "Id" or lowered.endswith("id"):
        return f"0Q0{n:015d}"[:18]
    if "date" in lowered:
        return "2026-11-26"
    if any(word in lowered for word in ("price", "total", "amount", "score")):
        return 1234.5 + n
    if "email" in lowered:
        return f"buyer{n}@example.com"
    return f"rehearsal {field_name} {n}"


def _nest(fields: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        fields = fields.setdefault(part, {})
    fields[leaf] = value


def _envelope(
    source: str,
    obj: str,
    fields: dict[str, Any],
    record_id: str,
    marker: str,
    *,
    at: float | None = None,
    author: str = "005000000000001AAA",
) -> dict[str, Any]:
    """The event of the system `source` for one record; ``obj`` is its API name from the
    mapping, ``at`` when the change happened, ``author`` who made it (Salesforce)."""
    now = time.time() if at is None else at
    if source == "salesforce":
        # Custom objects' change events are `<Name>__ChangeEvent` (CDC Developer Guide,
        # "Change Event Object Support"); standard ones `<Name>ChangeEvent`.
        # Without an api_name the mapping knows only the slug; Salesforce would still send
        # its CamelCase API name (`hw-order` -> `HwOrder`), which the consumer must match.
        entity = obj if obj[0].isupper() else "".join(p.capitalize() for p in obj.split("-"))
        if entity.endswith("__c"):
            event_name = f"{entity.removesuffix('__c')}__ChangeEvent"
        else:
            event_name = f"{entity}ChangeEvent"
        header = {
            "entityName": entity,
            "recordIds": [record_id],
            "changeType": "CREATE",
            "changeOrigin": "com/salesforce/api/soap/61.0;client=rehearsal",
            "transactionKey": marker,
            "sequenceNumber": 1,
            "commitTimestamp": int(now * 1000),
            "commitNumber": int(now * 1000),
            "commitUser": author,
            "changedFields": [],
        }
        return {
            "version": "0",
            "id": marker,
            "detail-type": event_name,
            "source": "aws.partner/salesforce.com/00D000000000001/0YL000000000001",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "resources": [],
            "detail": {
                "payload": {**fields, "ChangeEventHeader": header},
                "schemaId": "rehearsal-schema",
                "id": marker,
                "replayId": 1,
            },
        }
    return {
        "object": obj,
        "event_id": marker,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "operation": "upsert",
        "id": record_id,
        "data": fields,
    }


def _one_record(
    name: str, integration: Any, deployment: Deployment, vendors: Any, direction: str = ""
) -> Check:
    """One record through one direction: the forward one, or (`reverse`) the way back of a
    bidirectional flow, from the integration's target into its source."""
    import json
    import uuid

    from provisioner.rehearsal.access import assume

    d = deployment.inventory[integration.name]
    prefix = f"{direction}-" if direction else ""
    queue, role = d.named(f"{prefix}queue", SQS_QUEUE), d.role
    consumer = d.named(f"{prefix}consumer", LAMBDA_FUNCTION)
    source = integration.target if direction else integration.source
    if queue is None or role is None or consumer is None:
        missing = [
            n for n, r in (("queue", queue), ("role", role), ("consumer", consumer)) if not r
        ]
        return Check(name, False, f"no {', '.join(missing)} deployed for a queued integration")
    function_env = _deployed_environment(deployment, consumer)
    mapping = json.loads(function_env.get("FIELD_MAPPING") or "{}")
    if not mapping:
        # The roadmap rules forbid this; if a deployed function still lacks a mapping, every
        # record would be dead-lettered, which is a failure, never a skipped pass.
        return Check(
            name,
            False,
            f"the deployed consumer maps no fields for {integration.objects}, so it would "
            "dead-letter every record as schema_mismatch; add field_mappings to the roadmap",
        )
    slug, spec = next(iter(mapping.items()))
    # Every name comes from the deployed mapping: what the source calls the object, and what
    # the target's API calls it (the slug for both unless the roadmap gives api names).
    source_object = spec.get("source_object", slug)
    obj = spec.get("target_object", slug)
    connector = function_env.get("TARGET_CONNECTOR") or "middleware"
    fake = vendors.fakes.get(connector)
    if fake is None:
        return Check(name, False, f"no fake of the {connector} API to sync through")
    marker = str(uuid.uuid4())
    # Several records in one batch, so a target with a collection endpoint must take them in
    # one call; the first one's fields are checked in full.
    first = len(fake.calls) * RECORDS_PER_CHECK + 1
    records = [_sample(spec, n) for n in range(first, first + RECORDS_PER_CHECK)]
    record_id, _, expected, external_id = records[0]
    credential = _enrol_target_credential(deployment, function_env, fake)

    admin = deployment.aws.client("sqs")
    fifo = queue.id.endswith(".fifo")
    for n, (rid, record_fields, _, _) in enumerate(records):
        tag = f"{marker}-{n}"
        body = json.dumps(_envelope(source, source_object, record_fields, rid, tag))
        send: dict[str, Any] = {"QueueUrl": queue.id, "MessageBody": body}
        if fifo:
            send |= {"MessageGroupId": rid, "MessageDeduplicationId": tag}
        admin.send_message(**send)

    creds = assume(deployment.aws, role.outputs["arn"], f"rehearsal-{integration.name}"[:64])
    poller = deployment.aws.client("sqs", creds)
    messages = _received(deployment, poller, queue.id, marker, want=RECORDS_PER_CHECK)
    if len(messages) < RECORDS_PER_CHECK:
        return Check(
            name,
            False,
            f"the role received {len(messages)} of the {RECORDS_PER_CHECK} records sent to "
            f"{queue.id}",
        )
    writes_before = len(fake.write_requests)
    queue_arn = queue.outputs["arn"]
    event = {"Records": [_lambda_record(m, queue_arn, deployment.aws.region) for m in messages]}
    response, output = _run_consumer(event, function_env, creds, deployment, fake.base_url)
    failed = _settle(deployment, poller, queue.id, messages, response)
    size = CONNECTORS[connector].collection_size
    problems = _batch_problems(fake, obj, connector, records, fake.write_requests[writes_before:])
    if failed:
        problems.append(f"the consumer reported the record failed: {output[-600:]}")
    where = f"{obj}/{spec['external_id']}/{external_id} at the {connector} fake"
    problems += _arrival_problems(fake, obj, external_id, expected, where, output)
    if _drain_for(admin, queue.id, marker, delete=True):
        problems.append("the message is still on the queue after the consumer succeeded")
    problems = _dead_lettered(admin, d.named(f"{prefix}dlq", SQS_QUEUE), marker) + problems
    origin = "Salesforce CDC event" if source == "salesforce" else "JSON envelope"
    if problems:
        return Check(name, False, f"{origin} for {obj}: " + "; ".join(problems))
    return Check(
        name,
        True,
        f"{origin} for {obj} {record_id} and {RECORDS_PER_CHECK - 1} more received with the "
        f"role's STS credentials, consumer upserted {obj}/{spec['external_id']}/{external_id} "
        f"with {sorted(expected)} through the {connector} connector at its fake "
        f"({credential} credential) "
        + (
            f"in one collection call of {RECORDS_PER_CHECK}"
            if size > 1
            else f"one call per record (the {connector} API has no collection endpoint)"
        )
        + ", messages deleted",
    )


def _enrol_target_credential(
    deployment: Deployment, function_env: dict[str, str], fake: Any
) -> str:
    """The consumer's target credential, issued by the vendor's fake as its administrator
    would; its kind, or "none" when the consumer has none."""
    import json

    secret_arn = function_env.get("TARGET_CREDENTIAL_SECRET_ARN", "")
    if not secret_arn:
        return "none"
    sm = deployment.aws.client("secretsmanager")
    doc = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
    if doc["kind"] != "iam_access_key":
        doc = fake.enrol(doc)
    sm.put_secret_value(
        SecretId=secret_arn, SecretString=json.dumps(doc), VersionStages=["AWSCURRENT"]
    )
    return str(doc["kind"])


def _batch_problems(
    fake: Any, obj: str, connector: str, records: list[Any], writes: list[Any]
) -> list[str]:
    """Whether every record of the batch arrived (once the first did), in one collection
    call where the connector has a collection endpoint."""
    stored = fake.stored(obj)
    missing = [ext for _, _, _, ext in records if ext not in stored]
    problems = []
    if records[0][3] in stored and missing:
        problems.append(f"records {missing} of the batch never reached the {connector} fake")
    per_call = [count for _, _, count in writes]
    size = CONNECTORS[connector].collection_size
    if size > 1 and not missing and per_call != [RECORDS_PER_CHECK]:
        problems.append(
            f"the {connector} connector has a collection endpoint ({size} records a call), but "
            f"the batch of {RECORDS_PER_CHECK} took {len(per_call)} write calls ({per_call})"
        )
    return problems


def _arrival_problems(
    fake: Any, obj: str, external_id: str, expected: dict[str, Any], where: str, output: str
) -> list[str]:
    """Whether the first record reached the target's fake, upserted with the expected values."""
    arrived = fake.stored(obj).get(external_id)
    if arrived is None:
        return [
            f"no upsert of {where} (holds: {sorted(fake.stored(obj))[-5:]}); consumer output: "
            f"{output[-600:]}"
        ]
    if any(arrived.get(fake.field(k)) != v for k, v in expected.items()):
        return [f"the target received {arrived}, expected {expected}"]
    return []


def _dead_lettered(admin: Any, dlq: Any, marker: str) -> list[str]:
    """The batch's copy in the DLQ, drained; the consumer's copy says why (contracts:
    failure-reason, failure-detail)."""
    dead = _drain_for(admin, dlq.id, marker, delete=True) if dlq is not None else []
    if not dead:
        return []
    attributes = dead[0].get("MessageAttributes", {})
    reason = attributes.get("failure-reason", {}).get("StringValue", "no failure-reason")
    why = attributes.get("failure-detail", {}).get("StringValue", "")
    return [f"the record was dead-lettered to {dlq.outputs['name']}: {reason}: {why}"]


def _received(
    deployment: Deployment, poller: Any, url: str, marker: str, *, want: int = 1
) -> list[dict[str, Any]]:
    """The messages carrying `marker`, received as the Lambda poller does (IAM enforced);
    up to `want` receives, since SQS may answer with fewer messages than it holds."""
    messages: list[dict[str, Any]] = []
    with deployment.aws.iam_enforced():
        for _ in range(want):
            got = poller.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            messages += [m for m in got if marker in m["Body"]]
            if len(messages) >= want:
                break
    return messages


def _settle(
    deployment: Deployment,
    poller: Any,
    url: str,
    messages: list[dict[str, Any]],
    response: dict[str, Any],
) -> set[str]:
    """What the Lambda poller does with the consumer's response: delete every received
    message not reported failed, with the poller's credentials; returns the failed ids.

    Until deleted, a received message stays in flight for its visibility timeout, and in a
    FIFO queue an in-flight message holds back every later message of its group
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html):
    a check that sends the same record again must settle the first batch first, or its
    next receive comes back empty.
    """
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    with deployment.aws.iam_enforced():
        for message in messages:
            if message["MessageId"] not in failed:
                poller.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return failed


def _sample(spec: dict[str, Any], n: int) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """Record ``n`` of the mapping: its id, source fields, expected target fields, external id."""
    record_id = _value("Id", n)
    fields: dict[str, Any] = {}
    for i, source_field in enumerate(spec["fields"]):
        value = record_id if source_field == "Id" else _value(source_field, n * 100 + i)
        _nest(fields, source_field, value)
    expected = {
        target: _lookup(fields, source, record_id)
        for source, target in spec["fields"].items()
        if target != spec["external_id"]
    }
    external_id = next(
        (
            str(_lookup(fields, source, record_id))
            for source, target in spec["fields"].items()
            if target == spec["external_id"]
        ),
        record_id,
    )
    return record_id, fields, expected, external_id


def _deployed_environment(deployment: Deployment, function: Any) -> dict[str, str]:
    """The environment variables a deployed function got from the program."""
    configuration = deployment.aws.client("lambda").get_function_configuration(
        FunctionName=function.outputs["name"]
    )
    return dict(configuration.get("Environment", {}).get("Variables", {}))


def _lookup(fields: dict[str, Any], path: str, record_id: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return record_id if path == "Id" else value


def _lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record shape the Lambda SQS poller hands to the function (camelCase attributes)."""
    attributes = {
        k: v
        for k, v in message.get("Attributes", {}).items()
        if k
        in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
        )
    }
    message_attributes = {
        k: {
            "stringValue": v.get("StringValue"),
            "binaryValue": v.get("BinaryValue"),
            "dataType": v.get("DataType", "String"),
        }
        for k, v in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class _Context:
    """The parts of the Lambda context the consumer reads (deadline, names)."""

    function_name = "rehearsal-consumer"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:rehearsal-consumer"
    aws_request_id = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _run_consumer(
    event: dict[str, Any],
    function_env: dict[str, str],
    creds: dict[str, str],
    deployment: Deployment,
    target_url: str,
    *,
    module: str = "consumer",
    urls: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Run ``integration_sync.<module>.handler`` in-process as the Lambda would; restore after.

    ``urls`` overrides more of the environment (a scheduled job's ``SOURCE_BASE_URL``).
    Returns the handler's response and what it printed (logs and metrics), which would
    otherwise land on the rehearsal's stdout.
    """
    import contextlib
    import io
    import os
    import sys

    saved_env = dict(os.environ)
    added_path = str(FUNCTIONS_DIR) not in sys.path
    if added_path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    buffer = io.StringIO()
    try:
        os.environ.update(
            {
                **function_env,
                "TARGET_BASE_URL": target_url,
                **(urls or {}),
                "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": creds["aws_session_token"],
                "AWS_ENDPOINT_URL": deployment.aws.endpoint,
                "AWS_DEFAULT_REGION": deployment.aws.region,
                "AWS_REGION": deployment.aws.region,
                "AWS_LAMBDA_FUNCTION_NAME": _Context.function_name,
            }
        )
        with contextlib.redirect_stdout(buffer):
            import importlib

            handler_module = importlib.import_module(f"integration_sync.{module}")

            # Powertools caches its Secrets Manager client and values per process: a fresh
            # one, so the secret is read with this role's credentials.
            clear_powertools_providers()
            logger = getattr(handler_module, "logger", None)  # the webhook ingress has none
            handlers = logger.handlers if logger is not None else []
            streams = [h for h in handlers if hasattr(h, "setStream")]
            previous = [h.setStream(buffer) for h in streams]
            try:
                # Not under IAM enforcement: moto checks DynamoDB and Secrets Manager actions
                # against resource "*", so it would deny the role's table-scoped grants. The
                # access matrix evaluates those permissions; SQS (enforced) is checked here.
                response = handler_module.handler(event, _Context())
            finally:
                for h, stream in zip(streams, previous, strict=True):
                    h.setStream(stream)
                clear_powertools_providers()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        if added_path:
            sys.path.remove(str(FUNCTIONS_DIR))
    return dict(response), buffer.getvalue()


def poison_and_replay(deployment: Deployment) -> list[Check]:
    """Per queued integration: a record that never succeeds lands in the DLQ; replay returns it.

    The record is received with the integration role's credentials, as the Lambda poller
    does, and never deleted, so SQS's redrive policy must move it to the DLQ after
    ``maxReceiveCount`` receives. ``provisioner.replay.replay_dlq`` then moves it back.
    """
    import json
    import uuid

    from provisioner.rehearsal.access import assume
    from provisioner.replay import replay_dlq

    checks = []
    admin = deployment.aws.client("sqs")
    for d in deployment.inventory:
        queue, role = d.queue, d.role
        if queue is None or role is None:
            continue
        name = f"dlq-replay:{d.name}"
        attributes = admin.get_queue_attributes(QueueUrl=queue.id, AttributeNames=["All"])
        redrive = attributes["Attributes"].get("RedrivePolicy")
        if not redrive:
            checks.append(
                Check(
                    name,
                    False,
                    f"queue {queue.outputs['name']} has no redrive policy: a poison record "
                    "would be retried until it expires and never reach a DLQ",
                )
            )
            continue
        policy = json.loads(redrive)
        max_receives = int(policy["maxReceiveCount"])
        dlq_arn = policy["deadLetterTargetArn"]
        dlq_url = admin.get_queue_url(QueueName=dlq_arn.rsplit(":", 1)[-1])["QueueUrl"]
        marker = f"rehearsal-poison-{uuid.uuid4()}"
        send: dict[str, Any] = {"QueueUrl": queue.id, "MessageBody": json.dumps({"poison": marker})}
        if queue.id.endswith(".fifo"):
            send |= {"MessageGroupId": marker, "MessageDeduplicationId": marker}
        admin.send_message(**send)
        poller = deployment.aws.client("sqs", assume(deployment.aws, role.outputs["arn"]))
        receives = 0
        # One receive more than maxReceiveCount: SQS moves the message on that receive.
        for _ in range(max_receives + 1):
            got = poller.receive_message(
                QueueUrl=queue.id, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            receives += sum(1 for m in got if marker in m["Body"])
        parked = _drain_for(admin, dlq_url, marker, delete=False)
        if not parked:
            checks.append(
                Check(
                    name,
                    False,
                    f"after {receives} failed receives (maxReceiveCount {max_receives}) the "
                    f"record is not in the DLQ {dlq_arn}",
                )
            )
            continue
        # moto 5.2.5 lacks StartMessageMoveTask; copying is the path replay takes there.
        result = replay_dlq(
            dlq_url, queue.id, sqs_client=admin, use_move_task=False, wait_time_seconds=0
        )
        back = _drain_for(admin, queue.id, marker, delete=True)
        ok = bool(back) and not _drain_for(admin, dlq_url, marker, delete=False)
        checks.append(
            Check(
                name,
                ok,
                f"poison record parked in {dlq_arn.rsplit(':', 1)[-1]} after {receives} receives "
                f"(maxReceiveCount {max_receives}); replay ({result.method}) moved {result.moved} "
                + ("and it is back on the queue" if ok else "but it is not back on the queue"),
            )
        )
    return checks


def _drain_for(sqs: Any, url: str, marker: str, *, delete: bool) -> list[dict[str, Any]]:
    """Messages carrying ``marker`` in ``url`` (deleted when asked; others left visible)."""
    found = []
    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    for message in got:
        if marker in message["Body"]:
            found.append(message)
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


# ----------------------------------------------------------------------------- rotation

_STAGES = ("AWSCURRENT", "AWSPREVIOUS", "AWSPENDING")


def _stages(sm: Any, arn: str) -> dict[str, str | list[str] | None]:
    """Which version holds each staging label (AWSPENDING may, wrongly, be on several)."""
    versions = sm.describe_secret(SecretId=arn).get("VersionIdsToStages", {})
    found: dict[str, str | list[str] | None] = {}
    for stage in _STAGES:
        holders = [v for v, stages in versions.items() if stage in stages]
        found[stage] = holders[0] if len(holders) == 1 else (holders or None)
    return found


def iam_key_accepted(deployment: Deployment, doc: dict[str, Any]) -> bool:
    """The emulator's STS identifies the key as the credential's IAM user, and IAM has it
    active: AWS refuses every call signed with an inactive key (IAM user guide, "Manage
    access keys for IAM users"), moto's STS does not (docs/moto-differences.md)."""
    keys = deployment.aws.client("iam").list_access_keys(UserName=doc["user_name"])
    if not any(
        k["AccessKeyId"] == doc["access_key_id"] and k["Status"] == "Active"
        for k in keys["AccessKeyMetadata"]
    ):
        return False
    sts = deployment.aws.client(
        "sts",
        {
            "aws_access_key_id": doc["access_key_id"],
            "aws_secret_access_key": doc["secret_access_key"],
        },
    )
    with deployment.aws.iam_enforced():
        identity = str(sts.get_caller_identity()["Arn"])
    return identity.endswith(f"/{doc['user_name']}")


def rotations(deployment: Deployment) -> list[Check]:
    """Per credential of each integration at phase >= 2: one rotation completes in-process.

    The rotation Lambda's own code (``provisioner.rotate.run_rotation_locally``) runs the
    four steps against the emulator's Secrets Manager and IAM/STS, and against fake issuing
    systems on 127.0.0.1 for Salesforce, OAuth and API keys. Those kinds cannot rotate from
    the program's bootstrap placeholder without a person (formats.py, "Bootstrap"): the fake
    plays that administrator and enrols a first credential, which is put as AWSCURRENT.
    ``iam_access_key`` rotates from the bootstrap version itself, as in production.

    The rotation runs as Lambda would run it: with the integration's rotation role's
    credentials from STS AssumeRole. moto checks Secrets Manager calls (and IAM calls on
    users) against resource ``*``, not the secret's or user's ARN, so its enforcement cannot
    judge a correctly scoped role; instead every call the rotation makes, and the KMS action
    it implies on the secret's key, is evaluated against the role's policies with the access
    matrix's evaluator before it is sent (``access.EvaluatedCalls``). A denied call fails the
    rotation naming the action. The role must also hold every permission a rotation of the
    credential's kind needs (``_rotation_needs``) and be denied on other integrations' secrets.
    """
    from provisioner.rehearsal.fakes import FakeSystems

    sm = deployment.aws.client("secretsmanager")
    env = deployment.settings.environment
    checks: list[Check] = []
    with FakeSystems() as fake:
        for integration in deployment.roadmap.active(env):
            d = deployment.inventory[integration.name]
            for cred in integration.credentials:
                name = f"rotation:{integration.name}:{cred.name}"
                secret = d.named(f"cred-{cred.name}", SECRETS_MANAGER_SECRET)
                if secret is None:
                    checks.append(
                        Check(name, False, f"no secret {integration.name}-cred-{cred.name}")
                    )
                    continue
                try:
                    checks.append(_rotate_one(name, secret, d, fake, sm, deployment))
                except Exception as err:  # one credential must not hide the others
                    checks.append(Check(name, False, f"{type(err).__name__}: {err}"))

    return checks


def _rotation_dependencies(deployment: Deployment, role: Any, calls: Any) -> Any:
    """The handler's clients as the rotation Lambda has them: the rotation role's STS session."""
    import dataclasses

    from provisioner.rehearsal.access import assume
    from provisioner.rotate import _handler_module

    creds = assume(deployment.aws, role.outputs["arn"], f"rotation-{role.id}"[:64])
    session = deployment.aws.session(creds)
    deps = _handler_module().default_dependencies(session, deployment.aws.endpoint)
    calls.attach(deps.secretsmanager)
    calls.attach(deps.iam)
    # IAM propagation waits: the emulator is consistent.
    return session, dataclasses.replace(deps, sleep=lambda _seconds: None)


def _rotation_needs(
    deployment: Deployment, d: Deployed, secret: Any, kind: str, doc: dict[str, Any]
) -> list[tuple[str, str]]:
    """(action, resource) the rotation role needs for one rotation of ``secret``."""
    arn = secret.outputs["arn"]
    needs = [
        (f"secretsmanager:{a}", arn)
        for a in ("DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage")
    ]
    key_id = deployment.aws.client("secretsmanager").describe_secret(SecretId=arn).get("KmsKeyId")
    if key_id:
        key_arn = deployment.aws.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        needs += [("kms:Decrypt", key_arn), ("kms:GenerateDataKey", key_arn)]
    if kind == "iam_access_key":
        user = deployment.aws.client("iam").get_user(UserName=doc["user_name"])["User"]["Arn"]
        needs += [
            (f"iam:{a}", user)
            for a in (
                "CreateAccessKey",
                "DeleteAccessKey",
                "GetAccessKeyLastUsed",
                "ListAccessKeys",
                "UpdateAccessKey",
            )
        ]
    return needs


def _others_secrets(deployment: Deployment, d: Deployed) -> list[str]:
    return [
        s.outputs["arn"]
        for o in deployment.inventory
        if o.name != d.name
        for s in o.of_type(SECRETS_MANAGER_SECRET)
    ]


# Kinds only a person can rotate (roadmap.integrations.CredentialKind.rotates_by_api).
MANUAL_SWAP_KINDS = frozenset(k.value for k in CredentialKind if not k.rotates_by_api)


def _manual_swap_refused(
    name: str,
    arn: str,
    kind: str,
    role: Any,
    calls: Any,
    problems: list[str],
    sm: Any,
    deployment: Deployment,
) -> Check:
    """A credential rotated by hand: the scheduled rotation must refuse with the manual steps
    and leave AWSCURRENT (and no AWSPENDING) as it was."""
    from provisioner.rotate import RotationFailed, run_rotation_locally

    before = _stages(sm, arn)
    session, deps = _rotation_dependencies(deployment, role, calls)
    try:
        run_rotation_locally(
            arn, session=session, endpoint_url=deployment.aws.endpoint, dependencies=deps
        )
    except RotationFailed as err:
        refusal = str(err)
    else:
        problems.insert(0, f"the rotation of a {kind} rotated by hand completed by API")
        return Check(name, False, "; ".join(problems))
    after = _stages(sm, arn)
    if "cannot be rotated by API" not in refusal:
        problems.insert(0, f"the rotation failed for another reason: {refusal[:300]}")
    if after["AWSCURRENT"] != before["AWSCURRENT"] or after["AWSPENDING"]:
        problems.append(f"the refused rotation changed the stages: {before} -> {after}")
    if problems:
        return Check(name, False, f"{kind}: " + "; ".join(problems))
    return Check(
        name,
        True,
        f"{kind} is rotated by hand: the scheduled rotation, run as rotation role "
        f"{role.id}, refuses at createSecret naming the manual steps, and leaves AWSCURRENT "
        f"{str(after['AWSCURRENT'])[:8]} in place with no AWSPENDING",
    )


def _rotate_one(
    name: str, secret: Any, d: Deployed, fake: Any, sm: Any, deployment: Deployment
) -> Check:
    import json

    from provisioner.rehearsal.access import EvaluatedCalls, role_policies
    from provisioner.rotate import RotationFailed, run_rotation_locally

    arn = secret.id
    role = d.named("rotation-role", IAM_ROLE)
    if role is None:
        return Check(name, False, f"no rotation role {d.name}-rotation-role deployed")
    calls = EvaluatedCalls(
        deployment.aws,
        f"rotation role {role.id}",
        role_policies(deployment.aws, role.id),
        principal_arn=str(role.outputs["arn"]),
    )
    doc = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    kind = doc["kind"]
    missing = [
        f"{action} on {resource}"
        for action, resource in _rotation_needs(deployment, d, secret, kind, doc)
        if not calls.allows(action, resource)
    ]
    others = _others_secrets(deployment, d)
    overreach = [
        f"{action} on {other}"
        for other in others
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
        if calls.identity_allows(action, other)  # least privilege of its own policies
    ]
    # Reported with the rotation's own outcome, which names the first call that was denied.
    problems = [
        f"rotation role {role.id} lacks {m} (its policies and the secret's resource policy "
        "evaluated)"
        for m in missing
    ]
    problems += [f"rotation role {role.id} may {o} (policies evaluated)" for o in overreach[:3]]
    how = "from the program's bootstrap version"
    # A kind no API issues, or a credential the roadmap has a person rotate (its vendor
    # issues the next one only in its console): the scheduled rotation must refuse.
    if kind in MANUAL_SWAP_KINDS or _tag(secret, "rotation") == "manual":
        return _manual_swap_refused(name, arn, kind, role, calls, problems, sm, deployment)
    if kind != "iam_access_key":
        enrolled = fake.enrol(doc)
        sm.put_secret_value(
            SecretId=arn, SecretString=json.dumps(enrolled), VersionStages=["AWSCURRENT"]
        )
        how = (
            "from a first certificate the fake admin installed on the connected app (a human "
            "upload in production, formats.py Bootstrap)"
            if kind == "salesforce_jwt_bearer"
            else "from a first public key the fake admin set on the Snowflake user (a human "
            "ALTER USER in production, formats.py Bootstrap)"
            if kind == "snowflake_key_pair"
            else "from a first credential the fake issuer enrolled (put by hand in production)"
        )
    before = _stages(sm, arn)["AWSCURRENT"]
    session, deps = _rotation_dependencies(deployment, role, calls)
    try:
        result = run_rotation_locally(
            arn, session=session, endpoint_url=deployment.aws.endpoint, dependencies=deps
        )
    except RotationFailed as err:
        problems.insert(0, f"rotation as role {role.id} failed: {err}")
        return Check(name, False, f"{kind} {how}: " + "; ".join(problems))
    after = _stages(sm, arn)
    if after["AWSCURRENT"] != result.version_id:
        problems.append(f"AWSCURRENT is {after['AWSCURRENT']}, not the new {result.version_id}")
    if after["AWSPREVIOUS"] != before:
        problems.append(f"AWSPREVIOUS is {after['AWSPREVIOUS']}, not the old {before}")
    if after["AWSPENDING"]:
        problems.append(f"AWSPENDING still on {after['AWSPENDING']}")
    new = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    accepted = iam_key_accepted(deployment, new) if kind == "iam_access_key" else fake.accepts(new)
    if not accepted:
        problems.append("the issuing system does not accept the new credential")
    handover = ""
    if kind == "iam_access_key" and not problems:
        from provisioner.rehearsal.handover import pusher_handover

        found, handover = pusher_handover(deployment, d, arn, session, deps)
        problems += found
    if problems:
        return Check(name, False, f"{kind} {how}: " + "; ".join(problems))
    issuer = "the emulator's STS" if kind == "iam_access_key" else "the fake issuer"
    actions = sorted({action for action, _ in calls.evaluated})
    return Check(
        name,
        True,
        f"{kind} rotated {how} in {result.seconds:.1f}s as rotation role {role.id} (STS "
        f"AssumeRole): AWSCURRENT {result.version_id[:8]}, AWSPREVIOUS {str(before)[:8]}, no "
        f"AWSPENDING; {issuer} accepts the new credential. moto checks Secrets Manager/IAM "
        f"calls against resource *, so the role's policies were evaluated instead: "
        f"{len(calls.evaluated)} calls ({', '.join(actions)}) allowed on its own secret, key"
        f"{' and pusher user' if kind == 'iam_access_key' else ''}; GetSecretValue/"
        f"PutSecretValue denied on {len(others)} secrets of other integrations{handover}",
    )
