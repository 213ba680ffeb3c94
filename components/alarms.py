"""What pages someone about an integration: its SNS topic, alarms by phase, a dashboard.

A facade over small named factories, one per alarm kind; which alarms a phase needs is
`contract.phases.required_alarms` (phase 3: DLQ depth, oldest message, errors, throttles,
rotation failure; phase 4 adds reconciliation gap, stale sync and a dashboard; phase 5
latency and API budget). A bidirectional flow's reverse direction (`reverse`) gets its own
alarms on its queue, DLQ and consumer, and a review queue (`review_queue_name`) its depth.

Every alarm (and the rotation-failure EventBridge rule's target) notifies the topic of
the integration's alert path, subscribed as the stack's `alarmRouting` says.

Usage::

    alarms = IntegrationAlarms("quote-to-order", IntegrationAlarmsArgs(
        scope=scope, phase=3, alert_path="pagerduty:revops-oncall", endpoint=endpoint,
        function_name=consumer.function.name, function_timeout_seconds=60,
        dlq_name=queue.dlq.name, queue_name=queue.queue.name,
        secret_arns=[secret.arn], max_staleness_seconds=300, api_calls_threshold=48_000))
    alarms.alarms["dlq-depth"].arn
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components._scope import Scope, child, policy_output
from components.dashboard import dashboard_body
from contract.alerting import CHATBOT_GUARDRAILS, CHATBOT_ROLE, CHATBOT_SERVICE
from contract.aws_types import COMPONENT_PREFIX, SNS_TOPIC
from contract.metrics import (
    API_CALLS_USED,
    CREDENTIAL_AGE_DAYS,
    FUNCTION_NAME_DIMENSION,
    LAMBDA_DURATION,
    LAMBDA_ERRORS,
    LAMBDA_NAMESPACE,
    LAMBDA_THROTTLES,
    QUEUE_NAME_DIMENSION,
    QUEUE_OLDEST_MESSAGE_AGE,
    QUEUE_VISIBLE_MESSAGES,
    RECONCILIATION_GAP,
    RECORDS_SYNCED,
    SECRET_DIMENSION,
    SERVICE_DIMENSION,
    SQS_NAMESPACE,
    SYNC_LAG_SECONDS,
)
from contract.naming import WEBHOOK_INGRESS_ROLE, name_limit
from contract.phases import REVERSE, REVIEW_ALARM, SECRET_AGE_ALARM, Alarm, required_alarms

__all__ = ["DirectionWatch", "IntegrationAlarms", "IntegrationAlarmsArgs"]

# Standard-resolution alarms evaluate periods of 60 s or multiples; for periods of an
# hour or more the whole evaluation range may span up to 7 days (CloudWatch user guide,
# "Using Amazon CloudWatch alarms"). A day is the longest period used here.
MINUTE, DAY = 60, 86_400
LATENCY_SHARE_OF_TIMEOUT = 0.8  # p99 duration above 80% of the timeout: about to time out


# The function alarms that page on any count: kind -> (Lambda metric, what happened).
_FUNCTION_FAULTS = {
    "errors": (LAMBDA_ERRORS, "The sync function failed (unhandled error or timeout)."),
    "throttles": (LAMBDA_THROTTLES, "Lambda throttled the sync function: records are waiting."),
}
# How long a deployment waits for an HTTPS endpoint to confirm its subscription.
CONFIRMATION_TIMEOUT_MINUTES = 5


@dataclass
class DirectionWatch:
    """What one direction of a flow runs: its consumer, DLQ and source queue."""

    function_name: pulumi.Input[str]
    function_timeout_seconds: int
    dlq_name: pulumi.Input[str]
    queue_name: pulumi.Input[str] | None  # None for scheduled patterns


@dataclass
class IntegrationAlarmsArgs:
    """Inputs of IntegrationAlarms."""

    scope: Scope
    phase: int
    alert_path: str
    endpoint: tuple[str, pulumi.Input[str]] | None  # (protocol, endpoint) from alarmRouting
    function_name: pulumi.Input[str]
    function_timeout_seconds: int
    dlq_name: pulumi.Input[str]
    queue_name: pulumi.Input[str] | None  # None for scheduled patterns
    secret_arns: Sequence[pulumi.Input[str]]
    max_staleness_seconds: int
    # ApiCallsUsed a day above which the api-budget alarm pages (roadmap.budget)
    api_calls_threshold: int
    reconcile_function_name: pulumi.Input[str] | None = None
    # The integration's key, whose policy lets its alarms and rules publish (credential.py).
    kms_key_arn: pulumi.Input[str] | None = None
    # A bidirectional flow's target-to-source direction, watched like the forward one.
    reverse: DirectionWatch | None = None
    # Where a manual_review strategy parks contested changes.
    review_queue_name: pulumi.Input[str] | None = None
    # Credentials rotated by hand: name -> (its secret's name, rotation_days).
    manual_secrets: Mapping[str, tuple[pulumi.Input[str], int]] = field(default_factory=dict)
    # A signed-webhook ingress: its errors and throttles page like the consumer's.
    ingress: DirectionWatch | None = None
    # A `slack:` path's channel (workspace id, channel id): AWS Chatbot posts the topic there.
    slack: tuple[str, str] | None = None

    @property
    def forward(self) -> DirectionWatch:
        return DirectionWatch(
            self.function_name, self.function_timeout_seconds, self.dlq_name, self.queue_name
        )


def _display_name(integration: str, alert_path: str) -> str:
    """The topic's display name: with the alert path when it fits SNS's limit."""
    full = f"{integration} alerts ({alert_path})"
    if len(full) <= name_limit(SNS_TOPIC, "displayName"):
        return full
    return f"{integration} alerts"


def _period(seconds: int) -> int:
    """A valid alarm period covering `seconds`: a multiple of 60, at most a day."""
    return max(MINUTE, min(DAY, seconds // MINUTE * MINUTE))


class IntegrationAlarms(pulumi.ComponentResource):
    """The integration's alert topic, its alarms for the phase, and (phase >= 4) a dashboard."""

    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    rotation_failure_rule: aws.cloudwatch.EventRule
    _watch: DirectionWatch
    _current: Alarm
    _reverse: bool = False
    _ingress: bool = False
    dashboard: aws.cloudwatch.Dashboard | None

    def __init__(
        self, name: str, args: IntegrationAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}IntegrationAlarms", name, None, opts)
        self._name, self._args, scope = name, args, args.scope
        self.topic = aws.sns.Topic(
            f"{name}-alerts",
            name=scope.physical("alerts"),
            display_name=_display_name(scope.integration, args.alert_path),
            kms_master_key_id=args.kms_key_arn,
            tags=scope.tags,
            opts=child(self),
        )
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=self.topic.arn,
            policy=policy_output(
                [
                    {
                        # CloudWatch alarms and the rotation-failure rule, from this account.
                        "Sid": "AlarmsOfThisAccountPublish",
                        "Effect": "Allow",
                        "Principal": {
                            "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
                        },
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": scope.account_id}},
                    },
                ]
            ),
            opts=child(self),
        )
        self.subscription = None
        self.chatbot = self._chatbot(*args.slack) if args.slack else None
        if args.endpoint is not None:
            protocol, endpoint = args.endpoint
            # An HTTPS endpoint that confirms the subscription itself (PagerDuty's CloudWatch
            # integration does) is waited for, so a deployment whose pager never confirmed
            # fails instead of leaving alarms undelivered (SNS Developer Guide, "Fanout to
            # HTTP/S endpoints": a subscription delivers only once confirmed).
            auto_confirms = protocol == "https"
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-alerts-subscription",
                topic=self.topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                endpoint_auto_confirms=auto_confirms or None,
                confirmation_timeout_in_minutes=CONFIRMATION_TIMEOUT_MINUTES
                if auto_confirms
                else None,
                opts=child(self),
            )
        elif self.chatbot is None:
            pulumi.log.warn(
                f"{scope.integration}: alarmRouting has no endpoint for {args.alert_path!r} and "
                "no fallbackEmail; alarms fire into a topic nobody is subscribed to"
            )

        self.alarms = {}
        factories = {
            "dlq-depth": self._dlq_depth,
            "oldest-message-age": self._oldest_message_age,
            "errors": self._function_fault,
            "throttles": self._function_fault,
            "reconciliation-gap": self._reconciliation_gap,
            "stale-sync": self._stale_sync,
            "latency-p99": self._latency_p99,
            "api-budget": self._api_budget,
            REVIEW_ALARM: self._review_depth,
            SECRET_AGE_ALARM: self._secret_age,
        }
        required = required_alarms(
            args.phase,
            reverse=args.reverse is not None,
            review=args.review_queue_name is not None,
            manual_credentials=sorted(args.manual_secrets),
            ingress=args.ingress is not None,
        )
        for alarm in required:
            if alarm.kind == "rotation-failure":
                self.rotation_failure_rule = self._rotation_failure()
                continue
            # The factories read the direction they watch and the alarm's role from here.
            reverse = alarm.direction == REVERSE
            ingress = alarm.direction == WEBHOOK_INGRESS_ROLE
            self._watch = args.forward
            if reverse and args.reverse:
                self._watch = args.reverse
            elif ingress and args.ingress:
                self._watch = args.ingress
            self._current, self._reverse, self._ingress = alarm, reverse, ingress
            factories[alarm.kind]()
        self.dashboard = self._dashboard() if args.phase >= 4 else None

        self.register_outputs(
            {
                "topicArn": self.topic.arn,
                "alarmArns": {kind: a.arn for kind, a in self.alarms.items()},
            }
        )

    # ------------------------------------------------------------------ factories

    def _alarm(self, kind: str, description: str, **metric: Any) -> aws.cloudwatch.MetricAlarm:
        scope, role = self._args.scope, self._current.role
        if self._reverse:
            description = f"{description} (reverse direction: target to source)"
        if self._ingress:
            description = f"{description} (signed webhook ingress: the vendor retries, then stops)"
        metric.setdefault("evaluation_periods", 1)
        metric.setdefault("treat_missing_data", "notBreaching")
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{role}",
            name=scope.physical(role),
            alarm_description=f"{description} Runbook: {scope.tags.get('runbook', '')}",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=scope.tags_with(alarm=kind),
            opts=child(self),
            **metric,
        )
        self.alarms[role.removeprefix("alarm-")] = alarm
        return alarm

    def _custom(self, metric_name: str) -> dict[str, Any]:
        """A metric the sync functions emit (contracts.md, Metrics)."""
        scope = self._args.scope
        return {
            "namespace": scope.metrics_namespace,
            "metric_name": metric_name,
            "dimensions": {SERVICE_DIMENSION: scope.integration},
        }

    def _depth(self, kind: str, description: str, queue_name: pulumi.Input[str] | None) -> None:
        """Anything waiting in a queue nothing consumes (a DLQ, the review queue) pages."""
        self._alarm(
            kind,
            description,
            namespace=SQS_NAMESPACE,
            metric_name=QUEUE_VISIBLE_MESSAGES,
            dimensions={QUEUE_NAME_DIMENSION: queue_name},
            statistic="Maximum",
            period=MINUTE,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
        )

    def _dlq_depth(self) -> None:
        text = "A record was parked in the dead-letter queue: it failed every retry."
        self._depth("dlq-depth", text, self._watch.dlq_name)

    def _review_depth(self) -> None:
        text = "A change made on both sides at once waits for a person in the review queue."
        self._depth(REVIEW_ALARM, text, self._args.review_queue_name)

    def _secret_age(self) -> None:
        # The functions holding the credential report its age about hourly while they run;
        # an integration that does not run has nothing to report, and its other alarms
        # (stale sync) say so, so missing data is not a breach here.
        name = self._current.credential
        secret_name, days = self._args.manual_secrets[name]
        scope = self._args.scope
        self._alarm(
            SECRET_AGE_ALARM,
            f"Credential {name} is older than its rotation_days ({days}): its vendor issues "
            "the next one only by hand. Issue it in the vendor's console, then run "
            f"`provisioner rotate {scope.integration} --manual --credential {name}`.",
            namespace=scope.metrics_namespace,
            metric_name=CREDENTIAL_AGE_DAYS,
            dimensions={SERVICE_DIMENSION: scope.integration, SECRET_DIMENSION: secret_name},
            statistic="Maximum",
            period=DAY,
            comparison_operator="GreaterThanThreshold",
            threshold=days,
        )

    def _oldest_message_age(self) -> None:
        args = self._args
        text = "The oldest unsynced record is older than the staleness SLO."
        if self._watch.queue_name is not None:
            metric: dict[str, Any] = {
                "namespace": SQS_NAMESPACE,
                "metric_name": QUEUE_OLDEST_MESSAGE_AGE,
                "dimensions": {QUEUE_NAME_DIMENSION: self._watch.queue_name},
            }
        else:  # scheduled: no queue; the job reports how far behind its watermark is
            metric = self._custom(SYNC_LAG_SECONDS)
        self._alarm(
            "oldest-message-age",
            text,
            statistic="Maximum",
            period=MINUTE * 5,
            comparison_operator="GreaterThanThreshold",
            threshold=args.max_staleness_seconds,
            **metric,
        )

    def _lambda(self, metric_name: str) -> dict[str, Any]:
        return {
            "namespace": LAMBDA_NAMESPACE,
            "metric_name": metric_name,
            "dimensions": {FUNCTION_NAME_DIMENSION: self._watch.function_name},
        }

    def _function_fault(self) -> None:
        """Any error or throttle of the watched function in five minutes pages."""
        kind = self._current.kind
        metric, text = _FUNCTION_FAULTS[kind]
        self._alarm(
            kind,
            text,
            statistic="Sum",
            period=MINUTE * 5,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            **self._lambda(metric),
        )

    def _chatbot(self, workspace_id: str, channel_id: str) -> aws.chatbot.SlackChannelConfiguration:
        """AWS Chatbot posts the alert topic to the Slack channel (contract/alerting.py)."""
        scope, name = self._args.scope, self._name
        role = aws.iam.Role(
            f"{name}-{CHATBOT_ROLE}-role",
            name=scope.physical(CHATBOT_ROLE),
            description=f"AWS Chatbot relays {scope.integration}'s alerts to Slack; no permissions",
            assume_role_policy=policy_output(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": CHATBOT_SERVICE},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
            tags=scope.tags,
            opts=child(self),
        )
        return aws.chatbot.SlackChannelConfiguration(
            f"{name}-{CHATBOT_ROLE}",
            configuration_name=scope.physical(CHATBOT_ROLE),
            iam_role_arn=role.arn,
            slack_team_id=workspace_id,
            slack_channel_id=channel_id,
            sns_topic_arns=[self.topic.arn],
            guardrail_policy_arns=list(CHATBOT_GUARDRAILS),
            user_authorization_required=True,
            logging_level="ERROR",
            tags=scope.tags,
            opts=child(self),
        )

    def _rotation_failure(self) -> aws.cloudwatch.EventRule:
        """EventBridge rule on Secrets Manager's RotationFailed event for our secrets.

        Secrets Manager user guide, "Monitor Secrets Manager with EventBridge": rotation
        outcomes arrive as "AWS Service Event via CloudTrail" with eventName RotationFailed.
        """
        args, scope = self._args, self._args.scope
        pattern = pulumi.Output.all(*args.secret_arns).apply(
            lambda arns: json.dumps(
                {
                    "source": ["aws.secretsmanager"],
                    "detail-type": ["AWS Service Event via CloudTrail"],
                    "detail": {
                        "eventSource": ["secretsmanager.amazonaws.com"],
                        "eventName": ["RotationFailed"],
                        "additionalEventData": {"SecretId": sorted(arns)},
                    },
                },
                sort_keys=True,
            )
        )
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-alarm-rotation-failure",
            name=scope.physical("alarm-rotation-failure"),
            description=f"A credential of {scope.integration} failed to rotate",
            event_pattern=pattern,
            tags=scope.tags_with(alarm="rotation-failure"),
            opts=child(self),
        )
        self.rotation_failure_target = aws.cloudwatch.EventTarget(
            f"{self._name}-alarm-rotation-failure-target",
            rule=rule.name,
            arn=self.topic.arn,
            opts=child(self, depends_on=[self.topic_policy]),
        )
        return rule

    def _reconciliation_gap(self) -> None:
        self._alarm(
            "reconciliation-gap",
            "Reconciliation found records that differ between source and target.",
            statistic="Maximum",
            period=DAY // 24,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            **self._custom(RECONCILIATION_GAP),
        )

    def _stale_sync(self) -> None:
        # Nothing synced for a whole staleness window means the flow has stopped; a
        # missing metric is the same signal, so it counts as breaching.
        self._alarm(
            "stale-sync",
            "No record was synced within the staleness SLO: the flow looks stopped.",
            statistic="Sum",
            period=_period(self._args.max_staleness_seconds),
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",
            **self._custom(RECORDS_SYNCED),
        )

    def _latency_p99(self) -> None:
        self._alarm(
            "latency-p99",
            "p99 duration is above 80% of the timeout: invocations are about to time out.",
            extended_statistic="p99",
            period=MINUTE * 5,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=self._watch.function_timeout_seconds * 1000 * LATENCY_SHARE_OF_TIMEOUT,
            **self._lambda(LAMBDA_DURATION),
        )

    def _api_budget(self) -> None:
        args = self._args
        self._alarm(
            "api-budget",
            "API calls in the last day are above 80% of the integration's daily budget.",
            statistic="Sum",
            period=DAY,
            comparison_operator="GreaterThanThreshold",
            threshold=args.api_calls_threshold,
            **self._custom(API_CALLS_USED),
        )

    def _dashboard(self) -> aws.cloudwatch.Dashboard:
        args, scope = self._args, self._args.scope
        names = [args.function_name, args.dlq_name, args.queue_name, args.reconcile_function_name]
        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=scope.physical("dashboard"),
            dashboard_body=pulumi.Output.all(*names).apply(
                lambda values: dashboard_body(scope.region, scope.integration, *values)
            ),
            opts=child(self),
        )
