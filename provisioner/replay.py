"""Move dead-lettered messages back to their source queue, losing none.

``replay_dlq`` prefers SQS's own redrive (``StartMessageMoveTask``), which AWS supports
for standard queues whose DLQ it is (SQS API Reference, "StartMessageMoveTask"). Elsewhere
(FIFO queues, emulators without the API, a role without the permission) it copies:
receive a batch from the DLQ, ``SendMessageBatch`` it to the source queue, and delete from
the DLQ only the entries the send confirmed. A message is therefore always in at least one
queue; an interruption between send and delete leaves it in both, and the next run sends it
again.

Each run moves a message at most once, and ends. It remembers the ids of the copies it sent:
a DLQ message that is one of them (SQS redrove it after ``maxReceiveCount``) or names one as
its ``source-message-id`` (the consumer rejected it again) was *re-parked* during this run
and stays in the DLQ; a DLQ message received a second time (its delete failed) is
*skipped*. Both are made visible again at the end for the next run, after a fix.

How such a repeat is absorbed:

* FIFO source queues: each copy carries ``MessageDeduplicationId`` derived from the DLQ
  message id (stable across receives), so SQS drops a repeat sent within the 5-minute
  deduplication interval (SQS developer guide, "Exactly-once processing").
* Otherwise (standard queues, or a re-run after more than 5 minutes): the consumer writes
  each change through an idempotency record keyed by the event's own id (CDC transaction
  key and sequence number, platform-event uuid, or the JSON ``event_id``), kept for 14 days,
  so the repeated delivery is skipped and counted as ``DuplicatesSkipped``; the write itself
  is an upsert by external id, which is idempotent too.

Example::

    import boto3
    from provisioner.replay import replay_dlq

    result = replay_dlq(dlq_url, queue_url, sqs_client=boto3.client("sqs"))
    print(result.moved, result.method)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract.dead_letters import DIAGNOSIS_ATTRIBUTES, FAILURE_REASON

__all__ = [
    "ReplayResult",
    "replay_batch_dlq",
    "replay_deduplication_id",
    "replay_dlq",
    "rewind_watermarks",
]

# SQS batches hold at most 10 entries (SQS API Reference, "SendMessageBatch").
SQS_BATCH_LIMIT = 10
# Statuses after which a move task moves nothing more (SQS API Reference, "ListMessageMoveTasks").
_MOVE_TASK_TERMINAL = ("COMPLETED", "CANCELLED", "FAILED")


@dataclass
class ReplayResult:
    """What a replay did: how many messages moved back, how, and what stayed behind."""

    method: str
    moved: int = 0
    # Back in the DLQ during this run (rejected again); None when SQS's move task did the
    # moving, which does not say.
    reparked: int | None = 0
    skipped: int = 0
    send_failures: int = 0
    delete_failures: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    task_handle: str | None = None
    task_status: str | None = None
    fallback_reason: str | None = None
    # Batch integrations: the watermark each object was rewound to.
    rewound: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when nothing was left in the DLQ because of a failed send or delete."""
        return (
            self.send_failures == 0
            and self.delete_failures == 0
            and self.task_status
            in (
                None,
                "COMPLETED",
            )
        )


def replay_dlq(
    dlq_url: str,
    source_url: str,
    *,
    sqs_client: Any,
    use_move_task: bool | None = None,
    max_messages: int | None = None,
    visibility_timeout: int = 300,
    wait_time_seconds: int = 1,
    move_task_timeout: float = 300.0,
    poll_interval: float = 2.0,
) -> ReplayResult:
    """Move every message in ``dlq_url`` back to ``source_url``; safe to re-run after a stop.

    ``use_move_task``: True forces StartMessageMoveTask, False forces copying, None (default)
    tries the task for standard queues and falls back to copying when it is refused.
    ``visibility_timeout`` hides received DLQ messages while they are copied; it must exceed
    the time one send + delete takes. ``wait_time_seconds`` is the long-poll wait that decides
    the DLQ is empty (short polls may miss messages: SQS developer guide, "Short and long
    polling").
    """
    fifo = source_url.endswith(".fifo") or dlq_url.endswith(".fifo")
    fallback_reason = None
    if use_move_task or (use_move_task is None and not fifo and max_messages is None):
        from botocore.exceptions import ClientError

        try:
            return _move_task(dlq_url, source_url, sqs_client, move_task_timeout, poll_interval)
        except (ClientError, NotImplementedError) as exc:
            # NotImplementedError: in-process emulators (moto) that lack the API.
            if use_move_task:
                raise
            if isinstance(exc, ClientError):
                error = exc.response.get("Error", {})
                fallback_reason = f"{error.get('Code', 'error')}: {error.get('Message', '')}"
            else:
                fallback_reason = f"NotImplemented: {exc}"
    result = _copy(
        dlq_url,
        source_url,
        sqs_client,
        fifo=source_url.endswith(".fifo"),
        max_messages=max_messages,
        visibility_timeout=visibility_timeout,
        wait_time_seconds=wait_time_seconds,
    )
    result.fallback_reason = fallback_reason
    return result


def _move_task(
    dlq_url: str, source_url: str, sqs: Any, timeout: float, poll_interval: float
) -> ReplayResult:
    dlq_arn = _queue_arn(sqs, dlq_url)
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=_queue_arn(sqs, source_url)
    )["TaskHandle"]
    result = ReplayResult(
        method="move-task", task_handle=handle, task_status="RUNNING", reparked=None
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        result.task_status = task.get("Status", result.task_status)
        result.moved = int(task.get("ApproximateNumberOfMessagesMoved", result.moved))
        if result.task_status in _MOVE_TASK_TERMINAL:
            break
        time.sleep(poll_interval)
    return result


def _copy(
    dlq_url: str,
    source_url: str,
    sqs: Any,
    *,
    fifo: bool,
    max_messages: int | None,
    visibility_timeout: int,
    wait_time_seconds: int,
) -> ReplayResult:
    result = ReplayResult(method="copy")
    sent: set[str] = set()  # source-queue ids of the copies this run sent
    handled: set[str] = set()  # DLQ message ids this run moved or set aside
    left: list[dict[str, Any]] = []  # set aside: released again at the end
    try:
        while max_messages is None or result.moved < max_messages:
            want = (
                SQS_BATCH_LIMIT
                if max_messages is None
                else min(SQS_BATCH_LIMIT, max_messages - result.moved)
            )
            messages = _receive(sqs, dlq_url, want, wait_time_seconds, visibility_timeout)
            if not messages:
                break
            fresh = []
            for message in messages:
                if message["MessageId"] in handled:
                    result.skipped += 1
                    left.append(message)
                elif _reparked(message, sent):
                    result.reparked = (result.reparked or 0) + 1
                    left.append(message)
                else:
                    fresh.append(message)
                handled.add(message["MessageId"])
            if fresh:
                _move(fresh, dlq_url, source_url, sqs, fifo, result, sent)
    finally:
        _release(left, dlq_url, sqs)
    return result


def _receive(
    sqs: Any, url: str, count: int, wait_time_seconds: int, visibility_timeout: int
) -> list[dict[str, Any]]:
    """Up to ``count`` messages with all their attributes, hidden while this run works."""
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_time_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
    )


def _reparked(message: dict[str, Any], sent: set[str]) -> bool:
    """A copy this run sent that came back: redriven by SQS or re-parked by the consumer."""
    origin = message.get("MessageAttributes", {}).get("source-message-id", {})
    return message["MessageId"] in sent or origin.get("StringValue") in sent


def _move(
    messages: list[dict[str, Any]],
    dlq_url: str,
    source_url: str,
    sqs: Any,
    fifo: bool,
    result: ReplayResult,
    sent: set[str],
) -> None:
    by_entry = {str(i): message for i, message in enumerate(messages)}
    entries = [_send_entry(entry_id, message, fifo) for entry_id, message in by_entry.items()]
    response = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
    result.send_failures += len(response.get("Failed", []))
    successful = response.get("Successful", [])
    sent.update(ok["MessageId"] for ok in successful)
    confirmed = [by_entry[ok["Id"]] for ok in successful]
    if not confirmed:
        return
    # Only now, with the copies confirmed, may the originals go. Entries whose send
    # failed stay hidden until the visibility timeout ends and are retried next run.
    deleted = sqs.delete_message_batch(
        QueueUrl=dlq_url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
            for i, message in enumerate(confirmed)
        ],
    )
    result.delete_failures += len(deleted.get("Failed", []))
    result.moved += len(confirmed)
    for message in confirmed:
        reason = message.get("MessageAttributes", {}).get(FAILURE_REASON, {})
        result.reasons[reason.get("StringValue", "max-receives")] += 1


def _release(messages: list[dict[str, Any]], dlq_url: str, sqs: Any) -> None:
    """Make set-aside messages visible again so the next run (after a fix) sees them at once."""
    for start in range(0, len(messages), SQS_BATCH_LIMIT):
        batch = messages[start : start + SQS_BATCH_LIMIT]
        # Best effort: a message not released becomes visible when its timeout ends.
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(batch)
            ],
        )


def _send_entry(entry_id: str, message: dict[str, Any], fifo: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = {
        name: _attribute(value)
        for name, value in message.get("MessageAttributes", {}).items()
        if name not in DIAGNOSIS_ATTRIBUTES
    }
    if attributes:
        entry["MessageAttributes"] = attributes
    if fifo:
        system = message.get("Attributes", {})
        entry["MessageGroupId"] = system.get("MessageGroupId") or "replay"
        entry["MessageDeduplicationId"] = replay_deduplication_id(message["MessageId"])
    return entry


def replay_deduplication_id(message_id: str) -> str:
    """Deduplication id for the copy of DLQ message ``message_id`` (same id on every run)."""
    return hashlib.sha256(f"replay:{message_id}".encode()).hexdigest()


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's attribute shape minus the empty list fields SendMessage rejects."""
    kept = {"DataType": value["DataType"]}
    for key in ("StringValue", "BinaryValue"):
        if key in value:
            kept[key] = value[key]
    return kept


def _queue_arn(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def rewind_watermarks(table: str, since: dict[str, str], *, dynamodb_client: Any) -> dict[str, str]:
    """Rewind each object's batch watermark to ``since[object]`` (never forward).

    The batch job's next run re-reads from there; what it has already written is skipped
    by its record versions. Returns the watermark each object now has.
    """
    store = _watermark_store(table, dynamodb_client)
    return {obj: store.rewind(obj, moment).since for obj, moment in sorted(since.items())}


def replay_batch_dlq(
    dlq_url: str,
    table: str,
    *,
    sqs_client: Any,
    dynamodb_client: Any,
    visibility_timeout: int = 300,
    wait_time_seconds: int = 1,
) -> ReplayResult:
    """Replay a batch integration's parked records by re-reading them from the source.

    A parked record (``{"object", "id", "occurred_at", ...}``, as the batch job sends it)
    has no source queue to go back to. Its object's watermark is rewound to the earliest
    parked ``occurred_at`` first; only once that is stored are the parked messages deleted,
    so a record is always either parked or due to be re-read, in its current version.
    Messages of another shape are left in the DLQ and counted as skipped.
    """
    result = ReplayResult(method="rewind", reparked=None)
    parked: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    earliest: dict[str, str] = {}
    seen: set[str] = set()
    try:
        while True:
            messages = _receive(
                sqs_client, dlq_url, SQS_BATCH_LIMIT, wait_time_seconds, visibility_timeout
            )
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                record = _parked_record(message["Body"])
                if record is None:
                    other.append(message)
                    continue
                obj, moment = record
                earliest[obj] = min(earliest.get(obj, moment), moment)
                parked.append(message)
        result.rewound = rewind_watermarks(table, earliest, dynamodb_client=dynamodb_client)
        for start in range(0, len(parked), SQS_BATCH_LIMIT):
            batch = parked[start : start + SQS_BATCH_LIMIT]
            deleted = sqs_client.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
            failed = len(deleted.get("Failed", []))
            result.delete_failures += failed
            result.moved += len(batch) - failed
            for message in batch:
                reason = message.get("MessageAttributes", {}).get(FAILURE_REASON, {})
                result.reasons[reason.get("StringValue", "unknown")] += 1
        result.skipped = len(other)
    finally:
        _release(other, dlq_url, sqs_client)
    return result


def _parked_record(body: str) -> tuple[str, str] | None:
    """(object, occurred_at) of a record the batch job parked, else None."""
    try:
        message = json.loads(body)
        obj, moment = message["object"], message["occurred_at"]
        datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except (TypeError, ValueError, KeyError):
        return None
    if not isinstance(obj, str) or not isinstance(moment, str):
        return None
    return obj, moment


def _watermark_store(table: str, client: Any) -> Any:
    """The batch job's own WatermarkStore (``functions/`` bundle), so both agree on the item."""
    import sys

    from provisioner.paths import FUNCTIONS_BUNDLE

    if str(FUNCTIONS_BUNDLE) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_BUNDLE))
    from integration_sync.state import WatermarkStore

    return WatermarkStore(table, client)
