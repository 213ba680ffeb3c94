"""A sync Lambda from `functions/` with its log group and its trigger.

Four kinds share one shape: the event-driven `consumer` on the integration's queue
(`ReportBatchItemFailures`, `MaximumConcurrency` from the API budget, never reserved
concurrency), the scheduled `batch` job and the `reconcile` job, both on an EventBridge
schedule, and the signed-webhook ingress `webhook` behind a public function URL (the
handler verifies the vendor's signature, so the URL itself takes no AWS authentication)
with reserved concurrency, its share of the account and its ceiling.
The trigger's enabled flag is the kill switch: turning it off stops new work without
deleting anything, which is how an integration is rolled back (an ingress keeps taking
deliveries into the queue, which holds them until the consumer runs again).

Usage::

    consumer = SyncFunction("quote-to-order-consumer", SyncFunctionArgs(
        scope=scope, kind="consumer", role_arn=role.arn, code=archive,
        environment={"INTEGRATION": "quote-to-order"}, log_retention_days=30,
        queue_arn=queue.arn, maximum_concurrency=2))
    consumer.function.arn

Scheduled jobs send a failed run, after `ASYNC_RETRY_ATTEMPTS` retries, to their
on-failure destination with the error attached (Lambda developer guide, "Capturing
records of asynchronous invocations"); the log group and environment variables are
encrypted with the integration's key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components._scope import Scope, child
from components.spec import MAX_CONCURRENCY, MIN_CONCURRENCY, TIMEOUT_SECONDS, Kind
from contract.aws_types import COMPONENT_PREFIX
from contract.runtime import ARCHITECTURE, RUNTIME
from roadmap.budget import Batching

__all__ = ["SyncFunction", "SyncFunctionArgs"]

# Handlers fixed by docs/contracts.md (Sync function environment variables); timeouts in spec.
HANDLERS: dict[str, str] = {
    "consumer": "integration_sync.consumer.handler",
    "batch": "integration_sync.batch.handler",
    "reconcile": "integration_sync.reconcile.handler",
    "webhook": "integration_sync.webhook.handler",
}
MEMORY_MB = 256
# Scheduled jobs are invoked asynchronously by EventBridge. One retry covers a transient
# failure of the source or target; more would overlap the next run, which picks up from
# the watermark anyway. An event older than an hour describes a run the next one replaces.
# Lambda allows 0-2 retries and 60-21600 s (Lambda API reference, PutFunctionEventInvokeConfig:
# https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html).
ASYNC_RETRY_ATTEMPTS = 1
ASYNC_MAX_EVENT_AGE_SECONDS = 3600
# EventBridge's own delivery retries to the function (a missed run is picked up by the next).
SCHEDULE_RETRY_POLICY: aws.cloudwatch.EventTargetRetryPolicyArgsDict = {
    "maximum_retry_attempts": 2,
    "maximum_event_age_in_seconds": 3600,
}


def scheduled_run(
    parent: pulumi.Resource,
    name: str,
    function: aws.lambda_.Function,
    rule: aws.cloudwatch.EventRule,
    on_failure_arn: pulumi.Input[str],
    *,
    permission_name: str | None = None,
    target_input: pulumi.Input[str] | None = None,
    after: Sequence[pulumi.Resource] = (),
) -> tuple[
    aws.lambda_.FunctionEventInvokeConfig, aws.lambda_.Permission, aws.cloudwatch.EventTarget
]:
    """What a function run by an EventBridge schedule needs besides the rule.

    Deliberate retries with failed runs kept in `on_failure_arn` (an alarmed queue), an
    invoke permission for this rule alone, and the rule's target (`{name}-async`,
    `permission_name` or `{name}-invoke`, `{name}-target`); `after` are resources the
    on-failure destination needs first (the role's permission to send there).
    """
    invoke_config = aws.lambda_.FunctionEventInvokeConfig(
        f"{name}-async",
        function_name=function.name,
        maximum_retry_attempts=ASYNC_RETRY_ATTEMPTS,
        maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                destination=on_failure_arn
            )
        ),
        opts=child(parent, depends_on=list(after)),
    )
    permission = aws.lambda_.Permission(
        permission_name or f"{name}-invoke",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=child(parent),
    )
    target = aws.cloudwatch.EventTarget(
        f"{name}-target",
        rule=rule.name,
        arn=function.arn,
        input=target_input,
        # A missed run is picked up by the next one (watermarks); do not pile up.
        retry_policy=SCHEDULE_RETRY_POLICY,
        opts=child(parent, depends_on=[permission, invoke_config]),
    )
    return invoke_config, permission, target


@dataclass
class SyncFunctionArgs:
    """Inputs of a SyncFunction."""

    scope: Scope
    kind: Kind
    role_arn: pulumi.Input[str]
    code: pulumi.Archive
    environment: Mapping[str, pulumi.Input[str]]
    log_retention_days: int
    enabled: bool = True  # the kill switch: False disables the trigger, nothing is deleted
    queue_arn: pulumi.Input[str] | None = None  # consumer
    maximum_concurrency: int = MIN_CONCURRENCY  # consumer
    # consumer: records per invocation and how long Lambda gathers them (roadmap.budget)
    batching: Batching = field(default_factory=lambda: Batching(10, 0))
    schedule: str | None = None  # batch and reconcile
    # webhook: the concurrency reserved behind its public URL, also its ceiling
    # (roadmap.concurrency), so a flood there cannot starve the account's other functions
    reserved_concurrency: int | None = None
    # Where a failed asynchronous invocation goes (the integration's DLQ, alarmed on by
    # its depth); required for scheduled jobs, which nothing else would retry or report.
    on_failure_arn: pulumi.Input[str] | None = None
    # The integration's key: it encrypts the log group and the environment variables.
    kms_key_arn: pulumi.Input[str] | None = None
    # The role part of its names when not the kind: a bidirectional flow's second consumer
    # is `reverse-consumer` (contract.phases.REVERSE).
    role: str | None = None


class SyncFunction(pulumi.ComponentResource):
    """One sync Lambda, its log group with retention, and its queue or schedule trigger."""

    function: aws.lambda_.Function
    log_group: aws.cloudwatch.LogGroup
    trigger: aws.lambda_.EventSourceMapping | aws.cloudwatch.EventRule | aws.lambda_.FunctionUrl

    def __init__(
        self, name: str, args: SyncFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{COMPONENT_PREFIX}SyncFunction", name, None, opts)
        scope, kind = args.scope, args.kind
        role = args.role or kind
        if kind == "consumer" and args.queue_arn is None:
            raise ValueError(f"{name}: a consumer needs queue_arn")
        if kind in ("batch", "reconcile") and not args.schedule:
            raise ValueError(f"{name}: a {kind} job needs a schedule")
        if kind == "webhook" and not (args.reserved_concurrency or 0) > 0:
            raise ValueError(f"{name}: a public function URL needs reserved_concurrency > 0")
        if not MIN_CONCURRENCY <= args.maximum_concurrency <= MAX_CONCURRENCY:
            raise ValueError(
                f"{name}: maximum_concurrency {args.maximum_concurrency} is outside "
                f"{MIN_CONCURRENCY}-{MAX_CONCURRENCY} (Lambda ScalingConfig)"
            )

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=scope.log_group_name(role),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=scope.tags,
            opts=child(self),
        )
        self.function = aws.lambda_.Function(
            name,
            name=scope.physical(role),
            description=f"{role} of {scope.integration} ({scope.environment})",
            role=args.role_arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLERS[kind],
            code=args.code,
            timeout=TIMEOUT_SECONDS[kind],
            memory_size=MEMORY_MB,
            environment={"variables": dict(args.environment)},
            kms_key_arn=args.kms_key_arn,
            reserved_concurrent_executions=args.reserved_concurrency,
            tags=scope.tags,
            opts=child(self, depends_on=[self.log_group]),
        )

        self.trigger: (
            aws.lambda_.EventSourceMapping | aws.cloudwatch.EventRule | aws.lambda_.FunctionUrl
        )
        if kind == "webhook":
            # The vendor cannot sign AWS requests: the URL is public and the handler answers
            # 401 to anything its signature check refuses (Lambda developer guide, "Control
            # access to Lambda function URLs": auth type NONE needs this permission for "*").
            self.trigger = aws.lambda_.FunctionUrl(
                f"{name}-url",
                function_name=self.function.name,
                authorization_type="NONE",
                opts=child(self),
            )
            self.permission = aws.lambda_.Permission(
                f"{name}-url-invoke",
                action="lambda:InvokeFunctionUrl",
                function=self.function.name,
                principal="*",
                function_url_auth_type="NONE",
                opts=child(self),
            )
        elif kind == "consumer":
            self.trigger = aws.lambda_.EventSourceMapping(
                f"{name}-trigger",
                event_source_arn=args.queue_arn,
                function_name=self.function.arn,
                enabled=args.enabled,
                batch_size=args.batching.size,
                # Unset unless gathering: FIFO queues support no window at all.
                maximum_batching_window_in_seconds=args.batching.window_seconds or None,
                # Retry only the failed records of a batch (Lambda developer guide,
                # "Handling errors for an SQS event source").
                function_response_types=["ReportBatchItemFailures"],
                # Caps pollers' invocations without reserving account concurrency.
                scaling_config={"maximum_concurrency": args.maximum_concurrency},
                tags=scope.tags,
                opts=child(self),
            )
        else:
            rule = aws.cloudwatch.EventRule(
                f"{name}-schedule",
                name=scope.physical(kind),
                description=f"Runs the {kind} job of {scope.integration}",
                schedule_expression=args.schedule,
                state="ENABLED" if args.enabled else "DISABLED",
                tags=scope.tags,
                opts=child(self),
            )
            self.trigger = rule
            if args.on_failure_arn is None:
                raise ValueError(f"{name}: a {kind} job needs on_failure_arn for failed runs")
            run = scheduled_run(self, name, self.function, rule, args.on_failure_arn)
            self.invoke_config, self.permission, self.target = run

        self.register_outputs(
            {"functionArn": self.function.arn, "functionName": self.function.name}
        )
