"""Smoke checks that exercise the deployment: records end to end, DLQ and replay, rotation, alarms.

Each public function takes the rehearsal's ``Deployment`` and returns one ``Check`` per
integration (or credential) it applies to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from provisioner.rehearsal.inventory import ALARM, FUNCTION, RULE, Deployed
from provisioner.rehearsal.result import Check

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["alarms", "end_to_end", "poison_and_replay", "rotations"]

# ----------------------------------------------------------------------------- alarms

Metric = tuple[str, str, dict[str, str]]  # namespace, metric name, dimensions


def _main_function(d: Deployed) -> str | None:
    function = d.named("consumer", FUNCTION) or d.named("batch", FUNCTION)
    return function.outputs["name"] if function else None


def _custom(d: Deployed, *names: str) -> list[Metric]:
    # contracts.md, Metrics: namespace Integrations/{integration}, dimension service.
    return [(f"Integrations/{d.name}", n, {"service": d.name}) for n in names]


def _lambda(d: Deployed, name: str) -> list[Metric]:
    return [("AWS/Lambda", name, {"FunctionName": _main_function(d) or "?"})]


def _sqs(resource: Any, name: str) -> list[Metric]:
    return [("AWS/SQS", name, {"QueueName": resource.outputs["name"]})] if resource else []


# Alarm kind -> (first phase that requires it, the metrics it may watch). contracts.md.
ALARM_KINDS: dict[str, tuple[int, Callable[[Deployed], list[Metric]]]] = {
    "dlq-depth": (3, lambda d: _sqs(d.dlq, "ApproximateNumberOfMessagesVisible")),
    "oldest-message-age": (
        3,
        lambda d: (
            _sqs(d.queue, "ApproximateAgeOfOldestMessage")
            if d.queue
            else _custom(d, "SyncLagSeconds")
        ),
    ),
    "errors": (3, lambda d: _lambda(d, "Errors")),
    "throttles": (3, lambda d: _lambda(d, "Throttles")),
    "reconciliation-gap": (4, lambda d: _custom(d, "ReconciliationGap")),
    "stale-sync": (4, lambda d: _custom(d, "RecordsSynced", "SyncLagSeconds")),
    "latency-p99": (5, lambda d: _lambda(d, "Duration")),
    "api-budget": (5, lambda d: _custom(d, "ApiCallsUsed")),
}


def _tag(resource: Any, key: str) -> str | None:
    return (resource.outputs.get("tags") or {}).get(key)


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
        by_kind = {_tag(r, "alarm"): r for r in d.of_type(ALARM)}
        required = [k for k, (first, _) in ALARM_KINDS.items() if phase >= first]
        for kind in required:
            resource = by_kind.get(kind)
            if resource is None:
                problems.append(f"no {kind} alarm")
                continue
            found = cloudwatch.describe_alarms(AlarmNames=[resource.id])["MetricAlarms"]
            if not found:
                problems.append(f"{kind} alarm {resource.id} is not in CloudWatch")
                continue
            alarm = found[0]
            watched = (
                alarm.get("Namespace"),
                alarm.get("MetricName"),
                {x["Name"]: x["Value"] for x in alarm.get("Dimensions", [])},
            )
            expected = ALARM_KINDS[kind][1](d)
            if watched not in expected:
                want = " or ".join(f"{n}/{m} {dims}" for n, m, dims in expected)
                problems.append(
                    f"{kind} watches {watched[0]}/{watched[1]} {watched[2]}, not {want}"
                )
            if topic_arn not in alarm.get("AlarmActions", []):
                problems.append(
                    f"{kind} notifies {alarm.get('AlarmActions')}, not the alert topic {topic_arn}"
                )
        # Rotation failures are events, not metrics: an EventBridge rule targeting the topic.
        rule = next((r for r in d.of_type(RULE) if _tag(r, "alarm") == "rotation-failure"), None)
        if rule is None:
            problems.append("no rotation-failure rule")
        else:
            targets = events.list_targets_by_rule(Rule=rule.outputs["name"])["Targets"]
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


# ----------------------------------------------------------------------------- stubs


def end_to_end(deployment: Deployment) -> list[Check]:
    return []


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
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    ).get("Messages", [])
    for message in got:
        if marker in message["Body"]:
            found.append(message)
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def rotations(deployment: Deployment) -> list[Check]:
    return []
