"""SQS-triggered consumer: parse, map, upsert by external id; retry only what can succeed.

* Transient failures (429, 5xx, timeouts, throttled credentials) become batch item failures,
  so SQS redelivers only those records; after the queue's ``maxReceiveCount`` SQS moves them
  to the DLQ itself.
* Permanent failures (not an envelope, schema mismatch, target rejects the record, CDC gap
  event) are sent to ``DLQ_URL`` at once with ``failure-reason``/``failure-detail`` message
  attributes, and only after that send succeeds is the record acknowledged.
* Each change is written through Powertools idempotency backed by ``STATE_TABLE`` (partition
  key ``id``, TTL attribute ``expiration``) keyed by the sender's event id, else by (record,
  source version): a duplicate delivery returns the stored result and counts
  ``DuplicatesSkipped``. A change with neither is written unconditionally (never
  deduplicated on its body: Open, Closed, Open are three real changes).
* A change that carries a source version is written only if no newer version of the same
  target record was applied (``versions.RecordVersions``): older changes, e.g. from a DLQ
  replay, are skipped and counted as ``StaleWritesSkipped``.
* FIFO queues (``FIFO=true``) use ``SqsFifoPartialProcessor(skip_group_on_error=True)``: after
  a transient failure the rest of that message group in the batch is returned unprocessed,
  so per-group order holds; other groups carry on.

Invoke in-process (boto3 honours ``AWS_ENDPOINT_URL``)::

    from integration_sync.consumer import handler
    handler({"Records": [...]}, None)  # -> {"batchItemFailures": [...]}
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from integration_sync import telemetry
from integration_sync.clients import ApiClient
from integration_sync.config import Settings
from integration_sync.conflict import ECHO, PARKED, WRITE, ConflictPolicy, ConflictResolver
from integration_sync.connectors import connector_for
from integration_sync.credentials import SecretAuth
from integration_sync.envelope import Change, parse_body
from integration_sync.errors import PermanentError, SyncError
from integration_sync.mapping import TargetWrite, to_target_write
from integration_sync.versions import APPLY, RecordVersions

logger = Logger()

# SQS allows 10 message attributes per message (SQS developer guide, "Amazon SQS message
# attributes"); the DLQ copy keeps the original ones and adds these four.
MAX_MESSAGE_ATTRIBUTES = 10
DLQ_ATTRIBUTES = ("failure-reason", "failure-detail", "failed-at", "source-message-id")
# Message attribute values count against the 256 KiB message size; keep details short.
MAX_DETAIL_CHARS = 1000
# Idempotency records outlive the longest a message can wait anywhere (SQS maximum
# retention, 14 days: SQS developer guide, "Quotas"), so a replay from the DLQ of a change
# that was already written is still recognised as a duplicate.
IDEMPOTENCY_TTL_SECONDS = 14 * 24 * 3600
ENV_KEYS = (
    "INTEGRATION",
    "METRICS_NAMESPACE",
    "TARGET_BASE_URL",
    "TARGET_CREDENTIAL_SECRET_ARN",
    "TARGET_CONNECTOR",
    "STATE_TABLE",
    "DLQ_URL",
    "FIFO",
    "FIELD_MAPPING",
    "CONFLICT",
    "REVIEW_QUEUE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
)


class _Consumer:
    """Per-process state: clients, processor and idempotent writer, built on first use."""

    def __init__(self, settings: Settings) -> None:
        settings.require("state_table", "dlq_url", "target_base_url")
        self.settings = settings
        self.calls = telemetry.CallCounter()
        self.context: Any = None
        self.duplicate = False
        self.metrics = telemetry.new_metrics(settings)
        self.sqs = boto3.client("sqs")
        self.versions = RecordVersions(settings.state_table)
        api = ApiClient(
            settings.target_base_url,
            auth=SecretAuth(settings.target_secret_arn),
            on_call=self.calls,
            remaining_seconds=lambda: telemetry.remaining_seconds_of(self.context),
        )
        self.target = connector_for(settings, "target", api)
        self.processor: BatchProcessor
        if settings.fifo:
            self.processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        else:
            self.processor = BatchProcessor(event_type=EventType.SQS)
        # Report every failed record to SQS rather than failing the invocation: the response
        # already names what to retry, and function errors would also slow the event source
        # mapping's scaling (Lambda developer guide, "Handling errors for an SQS event source").
        self.processor.raise_on_entire_batch_failure = False
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            response_hook=self._on_duplicate,
        )
        policy = ConflictPolicy.parse(settings.conflict)
        self.conflicts = (
            ConflictResolver(
                policy,
                settings.mapping,
                settings.state_table,
                review_queue_url=settings.review_queue_url or settings.dlq_url,
                sqs=self.sqs,
            )
            if policy is not None
            else None
        )
        persistence = DynamoDBPersistenceLayer(table_name=settings.state_table, key_attr="id")
        self._write_once: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="write",
            persistence_store=persistence,
            config=self.idempotency,
        )(self._write)

    def begin(self, context: Any) -> None:
        """Reset per-invocation counters and bind the Lambda context (for deadlines)."""
        self.context = context
        self.calls.count = 0
        if callable(getattr(context, "get_remaining_time_in_millis", None)):
            self.idempotency.register_lambda_context(context)

    def finish(self) -> None:
        """Publish this invocation's metrics (EMF on stdout, read by CloudWatch Logs)."""
        self.metrics.add_metric(
            name=telemetry.API_CALLS_USED, unit=MetricUnit.Count, value=self.calls.count
        )
        self.metrics.flush_metrics()

    def handle_record(self, record: SQSRecord) -> str:
        """Process one SQS record; raising marks it as a batch item failure (retried)."""
        try:
            writes = [
                (change, to_target_write(change, self.settings.mapping))
                for change in parse_body(record.body)
            ]
            for change, write in writes:
                if write is not None:
                    self._resolve_and_write(change, write, record.body)
        except PermanentError as err:
            self._dead_letter(record, err)
            return "dead-lettered"
        except Exception as err:
            # Transient or unexpected: SQS redelivers it, and after maxReceiveCount moves it
            # to the DLQ, so nothing is lost even for bugs we did not foresee.
            self._count(telemetry.RECORDS_FAILED)
            reason = err.reason if isinstance(err, SyncError) else type(err).__name__
            logger.warning(
                "record will be retried",
                extra={"message_id": record.message_id, "reason": reason, "detail": str(err)[:500]},
            )
            raise
        return "synced"

    def _resolve_and_write(self, change: Change, write: TargetWrite, message: str) -> None:
        """One-way: write. Bidirectional: only what echo, ownership and the conflict rule let
        through (conflict.py), then recorded for the other direction."""
        if self.conflicts is None:
            self._write_change(change, write)
            return
        with self.conflicts.gate(change, write, message) as decision:
            if decision.outcome != WRITE:
                self._count(_DECISION_METRICS.get(decision.outcome, telemetry.CONFLICTS_RESOLVED))
                logger.info(
                    "conflict rule applied",
                    extra={
                        "outcome": decision.outcome,
                        "detail": decision.detail,
                        "idempotency_key": change.idempotency_key,
                    },
                )
            if decision.write is not None:
                self._write_change(change, decision.write)

    def _write_change(self, change: Change, write: TargetWrite) -> None:
        self.duplicate = False
        unit = {
            "key": change.idempotency_key,
            "object": write.object,
            "external_id_field": write.external_id_field,
            "external_id": write.external_id,
            "body": write.body,
            "delete": write.delete,
            "version": change.source_version,
        }
        done = self._write(unit) if change.idempotency_key is None else self._write_once(write=unit)
        if self.duplicate or done["status"] == "duplicate":
            self._count(telemetry.DUPLICATES_SKIPPED)
            logger.info("duplicate skipped", extra={"idempotency_key": change.idempotency_key})
            return
        if done["status"] == "stale":
            self._count(telemetry.STALE_WRITES_SKIPPED)
            logger.info(
                "stale change skipped: a newer version of the record was applied",
                extra={"object": write.object, "external_id": write.external_id},
            )
            return
        self._count(telemetry.RECORDS_SYNCED)
        if change.event_time is not None:
            self.metrics.add_metric(
                name=telemetry.SYNC_LAG_SECONDS,
                unit=MetricUnit.Seconds,
                value=max(time.time() - change.event_time, 0.0),
            )

    def _write(self, write: dict[str, Any]) -> dict[str, Any]:
        """The idempotent unit: one upsert or delete by external id, unless stale."""
        obj, external_id, version = write["object"], write["external_id"], write["version"]
        if version is not None:
            claim = self.versions.claim(obj, external_id, version)
            if claim is not APPLY:
                return {"status": claim.value, "external_id": external_id}
        if write["delete"]:
            status = self.target.delete(obj, write["external_id_field"], external_id)
        else:
            status = self.target.upsert(obj, write["external_id_field"], external_id, write["body"])
        if version is not None:
            self.versions.applied(obj, external_id, version)
        return {"status": status, "external_id": external_id}

    def _on_duplicate(self, response: Any, idempotent_data: Any) -> Any:
        self.duplicate = True
        return response

    def _dead_letter(self, record: SQSRecord, err: PermanentError) -> None:
        """Copy the message to the DLQ with its reason; only then is it acknowledged."""
        self._count(telemetry.RECORDS_FAILED)
        if err.reason == "schema_mismatch":
            self._count(telemetry.SCHEMA_MISMATCHES)
        attributes = _original_attributes(record, MAX_MESSAGE_ATTRIBUTES - len(DLQ_ATTRIBUTES))
        added = {
            "failure-reason": err.reason,
            "failure-detail": err.detail[:MAX_DETAIL_CHARS] or err.reason,
            "failed-at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source-message-id": record.message_id,
        }
        for name, value in added.items():
            attributes[name] = {"DataType": "String", "StringValue": value}
        params: dict[str, Any] = {
            "QueueUrl": self.settings.dlq_url,
            "MessageBody": record.body,
            "MessageAttributes": attributes,
        }
        if self.settings.fifo:
            # A FIFO DLQ needs a group; the original message id as deduplication id makes a
            # repeated send (if acknowledging fails and SQS redelivers) a no-op for 5 minutes
            # (SQS developer guide, "Exactly-once processing").
            params["MessageGroupId"] = record.attributes.message_group_id or "dead-letter"
            params["MessageDeduplicationId"] = record.message_id
        # If this raises, the record is reported as failed and retried: never acknowledged
        # before its copy is in the DLQ.
        self.sqs.send_message(**params)
        logger.error(
            "record sent to DLQ",
            extra={
                "message_id": record.message_id,
                "reason": err.reason,
                "detail": err.detail[:500],
            },
        )

    def _count(self, name: str) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _original_attributes(record: SQSRecord, limit: int) -> dict[str, dict[str, Any]]:
    """Lambda's camelCase message attributes in SendMessage's shape, minus earlier failure ones."""
    converted: dict[str, dict[str, Any]] = {}
    for name, attr in (record.raw_event.get("messageAttributes") or {}).items():
        if name in DLQ_ATTRIBUTES or len(converted) >= limit:
            continue
        value: dict[str, Any] = {"DataType": attr.get("dataType", "String")}
        if attr.get("stringValue") is not None:
            value["StringValue"] = attr["stringValue"]
        elif attr.get("binaryValue") is not None:
            value["BinaryValue"] = attr["binaryValue"]
        else:
            continue
        converted[name] = value
    return converted


_DECISION_METRICS = {ECHO: telemetry.ECHOES_SUPPRESSED, PARKED: telemetry.CONFLICTS_PARKED}

_consumers: dict[tuple[str, ...], _Consumer] = {}


def _consumer() -> _Consumer:
    # Keyed by the contract's variables (not all of os.environ: Lambda changes
    # _X_AMZN_TRACE_ID per invocation) so a rehearsal or test that changes them gets fresh
    # clients, while a Lambda execution environment builds them once.
    key = tuple(os.environ.get(name, "") for name in ENV_KEYS)
    if key not in _consumers:
        _consumers.clear()
        _consumers[key] = _Consumer(Settings.from_env())
    return _consumers[key]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the SQS trigger (with ReportBatchItemFailures)."""
    consumer = _consumer()
    consumer.begin(context)
    try:
        response = process_partial_response(
            event=event,
            record_handler=consumer.handle_record,
            processor=consumer.processor,
            context=context,
        )
    finally:
        consumer.finish()
    return dict(response)
