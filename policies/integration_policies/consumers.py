"""Stack policies over queue/consumer pairs: visibility timeout, concurrency, DLQ retention."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import LAMBDA_EVENT_SOURCE_MAPPING, LAMBDA_FUNCTION, SQS_QUEUE

from ._common import as_int, config_int, label, parse_document
from ._declare import stack_policy
from ._stack import Res, StackView

SQS_DEFAULT_VISIBILITY = 30  # SQS CreateQueue default VisibilityTimeout
SQS_DEFAULT_RETENTION = 345_600  # SQS CreateQueue default MessageRetentionPeriod (4 days)
LAMBDA_DEFAULT_TIMEOUT = 3  # Lambda CreateFunction default Timeout


def sqs_pairs(view: StackView) -> list[tuple[Res, Res, Res]]:
    """(trigger, queue, function) for every SQS event source mapping whose ends are known."""
    pairs = []
    for esm in view.of_type(LAMBDA_EVENT_SOURCE_MAPPING):
        queue = view.find(esm.get("eventSourceArn"), SQS_QUEUE)
        function = view.find(esm.get("functionName"), LAMBDA_FUNCTION)
        if queue is not None and function is not None:
            pairs.append((esm, queue, function))
    return pairs


def visibility_timeout(args: StackValidationArgs, report: ReportViolation) -> None:
    """A queue's visibility timeout is at least 6x the timeout of the function consuming it,
    plus the trigger's batching window.

    Rationale: Lambda developer guide "Using Lambda with Amazon SQS": set the source queue's
    visibility timeout to at least six times the function's timeout plus
    MaximumBatchingWindowInSeconds; otherwise a record still being gathered, processed (or
    retried after throttling) becomes visible again and is synced twice. Contract: consumer
    60 s -> queue 360 s, plus the window a standard queue's batch is gathered in.

    Config:
      multiplier (integer): default 6.
    """
    view = StackView.shared(args, report)
    factor = config_int(args.get_config(), "multiplier", 6)
    for trigger, queue, function in sqs_pairs(view):
        visibility = as_int(queue.props.get("visibilityTimeoutSeconds", SQS_DEFAULT_VISIBILITY))
        timeout = as_int(function.props.get("timeout", LAMBDA_DEFAULT_TIMEOUT))
        window = as_int(trigger.props.get("maximumBatchingWindowInSeconds") or 0)
        if visibility is None or timeout is None or window is None:
            continue
        needed = factor * timeout + window
        if visibility >= needed:
            continue
        report(
            f"{queue.who} visibility timeout {visibility}s is below "
            f"{factor}x the {function.name} timeout ({timeout}s) plus its batching window "
            f"({window}s). Fix: set visibility_timeout_seconds >= {needed}.",
            queue.urn,
        )


SQS_VISIBILITY_TIMEOUT = stack_policy(
    "sqs-visibility-timeout",
    "Queue visibility timeout >= 6x the consuming function's timeout.",
    visibility_timeout,
    config={"multiplier": {"type": "integer", "minimum": 1, "default": 6}},
)


def consumer_concurrency(args: StackValidationArgs, report: ReportViolation) -> None:
    """SQS consumers are capped by the trigger's MaximumConcurrency, not reserved concurrency.

    Rationale: Lambda developer guide "Configuring maximum concurrency for Amazon SQS event
    sources": reserved concurrency below the poller's scale makes Lambda throttle receives,
    and throttled receives count toward maxReceiveCount -- valid records end in the DLQ.
    MaximumConcurrency caps calls to the target API without that side effect.

    Config: none.
    """
    view = StackView.shared(args, report)
    for _, _, function in sqs_pairs(view):
        reserved = as_int(function.props.get("reservedConcurrentExecutions"))
        if reserved is not None and reserved >= 0:
            report(
                f"{function.who} reserves {reserved} concurrent "
                "executions. Fix: remove reserved_concurrent_executions and cap the trigger's "
                "scaling_config.maximum_concurrency instead.",
                function.urn,
            )


SQS_CONSUMER_CONCURRENCY = stack_policy(
    "sqs-consumer-concurrency",
    "SQS consumers use MaximumConcurrency, not reserved concurrency.",
    consumer_concurrency,
)


def dlq_outlives_source(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each source queue's DLQ exists in the stack and keeps messages longer than the source.

    Rationale: AWS SQS developer guide "Using dead-letter queues": a message's retention clock
    is not reset when it moves to a standard DLQ (it keeps its original enqueue timestamp),
    so "the retention period of a dead-letter queue should always be longer than the retention
    period of the original queue" -- otherwise failed records expire before anyone reads them.

    Config: none.
    """
    view = StackView.shared(args, report)
    for queue in view.of_type(SQS_QUEUE):
        redrive = parse_document(queue.props.get("redrivePolicy"))
        if not isinstance(redrive, dict) or not redrive.get("deadLetterTargetArn"):
            continue  # sqs-dead-letter-queue reports queues without a redrive policy
        target = str(redrive["deadLetterTargetArn"])
        dlq = view.find(target, SQS_QUEUE)
        who = label(queue.integration)
        if dlq is None:
            report(
                f"{who}{queue.name} redrives to {target}, which is not in the stack. Fix: add "
                f"the integration's DLQ ({queue.integration}-dlq) and point redrive_policy at it.",
                queue.urn,
            )
            continue
        source = as_int(queue.props.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION))
        kept = as_int(dlq.props.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION))
        if source is not None and kept is not None and kept <= source:
            report(
                f"{who}{dlq.name} keeps messages {kept}s, not longer than {queue.name} "
                f"({source}s). Fix: set the DLQ's message_retention_seconds above {source} "
                "(e.g. 1209600, 14 days).",
                dlq.urn,
            )
        if dlq.integration and queue.integration and dlq.integration != queue.integration:
            report(
                f"{who}{queue.name} redrives to {dlq.integration}'s DLQ {dlq.name}. Fix: use "
                f"{queue.integration}'s own DLQ.",
                queue.urn,
            )


SQS_DLQ_RETENTION = stack_policy(
    "sqs-dlq-retention",
    "A queue's DLQ exists and retains messages longer than the queue.",
    dlq_outlives_source,
)
