"""`provisioner replay`: move an integration's dead-lettered messages back to its queue."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from provisioner.deployed import DeployedIntegration, add_target_arguments
from provisioner.errors import EXIT_FAILED, EXIT_OK, UsageError

NAME = "replay"
ORDER = 75
HELP = "move an integration's DLQ messages back to its source queue"
DESCRIPTION = """\
Move every message in INTEGRATION's dead-letter queue in the deployed STACK back to its
source queue, after the cause has been fixed. Uses SQS StartMessageMoveTask where AWS
supports it (standard queues); otherwise receives, sends, and deletes from the DLQ only
what the send confirmed, so a message is never lost, also when interrupted (re-run it).
Duplicates from an interrupted run are absorbed by the sync function's idempotency.
Each run moves a message at most once and ends with the counts moved, re-parked (the
consumer rejected it again during this run; it stays in the DLQ) and skipped.

Batch integrations have no source queue: their parked records are re-read from the
source by rewinding the batch watermark to the earliest one, and only then removed from
the DLQ; --from-watermark TIME rewinds every mapped object to TIME instead. The batch
job's next scheduled run re-reads from there, skipping what it already wrote.

Needs AWS credentials for the stack's account, or --endpoint-url (default:
$AWS_ENDPOINT_URL) for an emulator; the caller's account (STS GetCallerIdentity) must be
the stack's before anything else is called.
Exit 0 when the DLQ was drained, 1 when some messages stayed behind, 2 for usage errors.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import positive_int

    add_target_arguments(parser)
    parser.add_argument(
        "--max-messages",
        type=positive_int,
        default=None,
        metavar="N",
        help="move at most N (default: all; queued integrations)",
    )
    parser.add_argument(
        "--from-watermark",
        type=_utc_time,
        default=None,
        metavar="TIME",
        help="batch integrations: re-run from TIME (ISO 8601 with zone, e.g. 2024-05-02T10:00:00Z)",
    )


def _utc_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time; e.g. 2024-05-02T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no time zone; add Z for UTC")
    # The batch job's watermark format (functions/integration_sync/batch.py).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    target = DeployedIntegration.from_args(args, min_phase=3)
    queued = target.integration.pattern.queued
    if queued and args.from_watermark is not None:
        raise UsageError(
            f"{args.integration} is queued ({target.integration.pattern.value}): it has no batch "
            "watermark; drop --from-watermark to move its DLQ messages back"
        )
    if not queued and args.max_messages is not None:
        raise UsageError(
            f"{args.integration} is a scheduled integration: its parked records are re-read "
            "from the source all at once; drop --max-messages"
        )
    if queued:
        summary = _replay_queued(target, args.max_messages)
    else:
        summary = _replay_batch(target, args.from_watermark)
    lines = summary.pop("lines")
    summary = {"stack": args.stack, "integration": args.integration, **summary}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print("\n".join(lines))
    return EXIT_OK if summary["complete"] else EXIT_FAILED


def _replay_queued(target: DeployedIntegration, max_messages: int | None) -> dict[str, Any]:
    from provisioner.replay import replay_dlq

    sqs = target.client("sqs")
    dlq, source = (_queue_url(target, sqs, role) for role in ("dlq", "queue"))
    result = replay_dlq(dlq, source, sqs_client=sqs, max_messages=max_messages)
    reparked = "not counted by SQS" if result.reparked is None else result.reparked
    lines = [
        f"{target.queue_name('dlq')} -> {target.queue_name('queue')} ({result.method}): "
        f"moved {result.moved}, re-parked {reparked}, skipped {result.skipped}"
    ]
    if result.reparked:
        lines.append(
            f"{result.reparked} message(s) came back to the DLQ during this run: the consumer "
            "still rejects them (see their failure-reason); fix that, then re-run"
        )
    if not result.complete:
        lines.append(
            f"{result.send_failures} send and {result.delete_failures} delete failure(s); "
            "the messages are still in the DLQ or both queues: re-run replay"
        )
    return {
        "method": result.method,
        "moved": result.moved,
        "reparked": result.reparked,
        "skipped": result.skipped,
        "send_failures": result.send_failures,
        "delete_failures": result.delete_failures,
        "complete": result.complete,
        "lines": lines,
    }


def _replay_batch(target: DeployedIntegration, from_watermark: str | None) -> dict[str, Any]:
    from provisioner.replay import ReplayResult, replay_batch_dlq, rewind_watermarks

    dynamodb = target.client("dynamodb")
    table = target.physical("state")
    objects = sorted({m.object for m in target.integration.field_mappings})
    try:
        if from_watermark is not None:
            since = dict.fromkeys(objects, from_watermark)
            result = ReplayResult(method="rewind", reparked=None)
            result.rewound = rewind_watermarks(table, since, dynamodb_client=dynamodb)
        else:
            sqs = target.client("sqs")
            dlq = _queue_url(target, sqs, "dlq")
            result = replay_batch_dlq(dlq, table, sqs_client=sqs, dynamodb_client=dynamodb)
    except _aws_errors() as err:
        raise UsageError(
            f"cannot rewind the batch watermarks in {table}: {err}. Is the "
            f"{target.context.stack} stack deployed here?"
        ) from None
    lines = [
        f"{target.queue_name('dlq')}: {result.moved} parked record(s) handed back to the "
        f"batch job, skipped {result.skipped} message(s) of another shape"
    ]
    lines += [
        f"watermark#{obj} is now {since}: the next batch run re-reads from there"
        for obj, since in result.rewound.items()
    ]
    if result.delete_failures:
        lines.append(
            f"{result.delete_failures} parked message(s) could not be deleted; they will be "
            "re-read and written once more, which changes nothing: re-run replay"
        )
    return {
        "method": result.method,
        "moved": result.moved,
        "reparked": None,
        "skipped": result.skipped,
        "rewound": result.rewound,
        "delete_failures": result.delete_failures,
        "complete": result.delete_failures == 0,
        "lines": lines,
    }


def _queue_url(target: DeployedIntegration, sqs: Any, role: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=target.queue_name(role))["QueueUrl"])
    except _aws_errors() as err:
        raise UsageError(
            f"cannot find {target.queue_name(role)} in {target.context.settings.region}: "
            f"{err}. Is the {target.context.stack} stack deployed here?"
        ) from None


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
