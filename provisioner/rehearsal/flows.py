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
    return []


def rotations(deployment: Deployment) -> list[Check]:
    return []
