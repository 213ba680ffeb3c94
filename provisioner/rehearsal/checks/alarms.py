"""The alarms each phase requires, read back from the emulator: kind, metric and topic.

Per integration at phase >= 3, every alarm ``contract.phases.required_alarms`` names (the
way back's, the review queue's, the webhook ingress's and the manual credentials' too)
must exist in CloudWatch, on the metric its kind watches, notifying the integration's alert
topic; rotation failures, which are events and not metrics, need an EventBridge rule
targeting that topic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contract import metrics
from contract.aws_types import (
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_METRIC_ALARM,
    LAMBDA_FUNCTION,
    SECRETS_MANAGER_SECRET,
    SQS_QUEUE,
)
from contract.naming import WEBHOOK_INGRESS_ROLE
from contract.phases import REVIEW_ALARM, SECRET_AGE_ALARM, Alarm, required_alarms
from provisioner.rehearsal.inventory import Deployed
from provisioner.rehearsal.result import Check
from roadmap.integrations import ConflictStrategy

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = ["alarms"]

Metric = tuple[str, str, dict[str, str]]  # namespace, metric name, dimensions


def _named(d: Deployed, direction: str, role: str, type_token: str) -> Any:
    """The direction's own resource of ``role`` (``reverse-queue`` for the way back's queue)."""
    return d.named(f"{direction}-{role}" if direction else role, type_token)


def _main_function(d: Deployed, direction: str) -> str | None:
    if direction == WEBHOOK_INGRESS_ROLE:
        function = d.named(WEBHOOK_INGRESS_ROLE, LAMBDA_FUNCTION)
    elif direction:
        function = _named(d, direction, "consumer", LAMBDA_FUNCTION)
    else:
        function = d.named("consumer", LAMBDA_FUNCTION) or d.named("batch", LAMBDA_FUNCTION)
    return function.outputs["name"] if function else None


def _custom(d: Deployed, *names: str, **dimensions: str) -> list[Metric]:
    dims = {metrics.SERVICE_DIMENSION: d.name, **dimensions}
    return [(metrics.namespace(d.name), n, dims) for n in names]


def _lambda(d: Deployed, alarm: Alarm, name: str) -> list[Metric]:
    function = _main_function(d, alarm.direction) or "?"
    return [(metrics.LAMBDA_NAMESPACE, name, {metrics.FUNCTION_NAME_DIMENSION: function})]


def _sqs(resource: Any, name: str) -> list[Metric]:
    if not resource:
        return []
    return [(metrics.SQS_NAMESPACE, name, {metrics.QUEUE_NAME_DIMENSION: resource.outputs["name"]})]


def _oldest(d: Deployed, alarm: Alarm) -> list[Metric]:
    queue = _named(d, alarm.direction, "queue", SQS_QUEUE)
    if queue is not None:
        return _sqs(queue, metrics.QUEUE_OLDEST_MESSAGE_AGE)
    return _custom(d, metrics.SYNC_LAG_SECONDS)  # a scheduled flow has no queue


def _secret_age(d: Deployed, alarm: Alarm) -> list[Metric]:
    """The credential's own secret, by name."""
    secret = d.named(f"cred-{alarm.credential}", SECRETS_MANAGER_SECRET)
    name = secret.outputs["name"] if secret else "?"
    return _custom(d, metrics.CREDENTIAL_AGE_DAYS, **{metrics.SECRET_DIMENSION: name})


# Alarm kind -> the metrics it may watch, of the direction (or credential) the required
# alarm names. Which alarms a phase requires: contract.phases; the metrics' names:
# contract.metrics.
ALARM_METRICS: dict[str, Callable[[Deployed, Alarm], list[Metric]]] = {
    "dlq-depth": lambda d, a: _sqs(
        _named(d, a.direction, "dlq", SQS_QUEUE), metrics.QUEUE_VISIBLE_MESSAGES
    ),
    "oldest-message-age": _oldest,
    "errors": lambda d, a: _lambda(d, a, metrics.LAMBDA_ERRORS),
    "throttles": lambda d, a: _lambda(d, a, metrics.LAMBDA_THROTTLES),
    "reconciliation-gap": lambda d, a: _custom(d, metrics.RECONCILIATION_GAP),
    "stale-sync": lambda d, a: _custom(d, metrics.RECORDS_SYNCED, metrics.SYNC_LAG_SECONDS),
    "latency-p99": lambda d, a: _lambda(d, a, metrics.LAMBDA_DURATION),
    "api-budget": lambda d, a: _custom(d, metrics.API_CALLS_USED),
    REVIEW_ALARM: lambda d, a: _sqs(d.named("review", SQS_QUEUE), metrics.QUEUE_VISIBLE_MESSAGES),
    SECRET_AGE_ALARM: _secret_age,
}


def _tag(resource: Any, key: str) -> str | None:
    return (resource.outputs.get("tags") or {}).get(key)


def _in_cloudwatch(cloudwatch: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """The metric alarms of these names CloudWatch holds, by name; one call per 100 names
    (DescribeAlarms takes at most 100: CloudWatch API reference, DescribeAlarms)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), 100):
        described = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
        found |= {a["AlarmName"]: a for a in described["MetricAlarms"]}
    return found


def _alarm_problems(
    alarm: Alarm, d: Deployed, in_cloudwatch: dict[str, dict[str, Any]], topic_arn: str | None
) -> list[str]:
    """One required alarm: it exists, in CloudWatch, on its metric, notifying the topic."""
    problems: list[str] = []
    kind = alarm.kind
    resource = d.named(alarm.role, CLOUDWATCH_METRIC_ALARM)
    if resource is None or _tag(resource, "alarm") != kind:
        return [f"no {kind} alarm {alarm.role}"]
    cw = in_cloudwatch.get(resource.id)
    if cw is None:
        return [f"{alarm.role} alarm {resource.id} is not in CloudWatch"]
    watched = (
        cw.get("Namespace"),
        cw.get("MetricName"),
        {x["Name"]: x["Value"] for x in cw.get("Dimensions", [])},
    )
    expected = ALARM_METRICS[kind](d, alarm)
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
    cloudwatch = deployment.aws.admin("cloudwatch")
    sns = deployment.aws.admin("sns")
    events = deployment.aws.admin("events")
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
        alarm_names = [r.id for r in d.of_type(CLOUDWATCH_METRIC_ALARM)]
        in_cloudwatch = _in_cloudwatch(cloudwatch, alarm_names)
        for alarm in required:
            problems += _alarm_problems(alarm, d, in_cloudwatch, topic_arn)
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
