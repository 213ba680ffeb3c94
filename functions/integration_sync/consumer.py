"""SQS-triggered consumer: parse, map, upsert by external id; retry only what can succeed.

* Writes go in collections: the batch's changes are grouped per (object, external id field)
  and sent through the target connector's collection call (``upsert_many``), as many per
  call as the vendor takes (``Connector.max_batch``: Salesforce 200, HubSpot 100, ...; one
  for connectors without a collection endpoint), never reordering what a record, a message
  or a FIFO message group needs in order (``collection_calls``). Each record's own result
  decides its fate, as below; a transient failure of a whole call retries its records only.
* Transient failures (429, 5xx, timeouts, throttled credentials) become batch item failures,
  so SQS redelivers only those records; after the queue's ``maxReceiveCount`` SQS moves them
  to the DLQ itself.
* Permanent failures (not an envelope, schema mismatch, target rejects the record, CDC gap
  event) are sent to ``DLQ_URL`` at once with ``failure-reason``/``failure-detail`` message
  attributes, and only after that send succeeds is the record acknowledged.
* Each change is written through Powertools idempotency records (``ledger``) in
  ``STATE_TABLE`` (partition key ``id``, TTL attribute ``expiration``) keyed by the
  sender's event id, else by (record, source version): a duplicate delivery returns the
  stored result and counts ``DuplicatesSkipped``. A change with neither is written
  unconditionally (never deduplicated on its body: Open, Closed, Open are three real
  changes).
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
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
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
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

from contract import environment as var
from contract.metrics import (
    API_CALLS_USED,
    CONFLICTS_PARKED,
    CONFLICTS_RESOLVED,
    DUPLICATES_SKIPPED,
    ECHOES_SUPPRESSED,
    RECORDS_FAILED,
    RECORDS_SYNCED,
    SCHEMA_MISMATCHES,
    STALE_WRITES_SKIPPED,
    SYNC_LAG_SECONDS,
)
from integration_sync import telemetry
from integration_sync.clients import ApiClient
from integration_sync.collection_calls import calls, is_blocked
from integration_sync.config import Settings
from integration_sync.conflict import (
    ECHO,
    PARKED,
    WRITE,
    ConflictResolver,
    Decision,
)
from integration_sync.connectors import WriteResult, connector_for
from integration_sync.credentials import SecretAuth
from integration_sync.dead_letter import diagnosis, kept_attributes, park
from integration_sync.envelope import Change, parse_body
from integration_sync.errors import PermanentError, SyncError, TargetRejected, TransientError
from integration_sync.ledger import WriteLedger
from integration_sync.mapping import TargetWrite, to_target_write
from integration_sync.versions import APPLY, RecordVersions

logger = Logger()

# Idempotency records outlive the longest a message can wait anywhere (SQS maximum
# retention, 14 days: SQS developer guide, "Quotas"), so a replay from the DLQ of a change
# that was already written is still recognised as a duplicate.
IDEMPOTENCY_TTL_SECONDS = 14 * 24 * 3600
ENV_KEYS = (
    var.INTEGRATION,
    var.METRICS_NAMESPACE,
    var.TARGET_BASE_URL,
    var.TARGET_CREDENTIAL_SECRET_ARN,
    var.TARGET_CONNECTOR,
    var.STATE_TABLE,
    var.DLQ_URL,
    var.FIFO,
    var.FIELD_MAPPING,
    var.CONFLICT,
    var.REVIEW_QUEUE_URL,
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
)


@dataclass(frozen=True)
class _Pending:
    """One change of one message, on its way into a collection call (``collection_calls``)."""

    record: SQSRecord
    position: int
    change: Change
    write: TargetWrite
    group: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        verb = "delete" if self.write.delete else "upsert"
        return (verb, self.write.object, self.write.external_id_field)

    @property
    def identity(self) -> tuple[str, str, str]:
        return ("record", self.write.object, self.write.external_id)

    @property
    def lanes(self) -> tuple[tuple[str, str], ...]:
        message = ("message", self.record.message_id)
        return (message, ("group", self.group)) if self.group is not None else (message,)


@dataclass
class _Ready:
    """A change cleared to be written: what is sent, its idempotency unit, its decision."""

    pending: _Pending
    write: TargetWrite
    unit: dict[str, Any]
    decision: Decision | None


class _Consumer:
    """Per-process state: clients, processor and idempotency ledger, built on first use."""

    def __init__(self, settings: Settings) -> None:
        settings.require("state_table", "dlq_url", "target_base_url")
        self.settings = settings
        self.calls = telemetry.CallCounter()
        self.context: Any = None
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
        self.ledger = WriteLedger(
            settings.state_table,
            IdempotencyConfig(
                event_key_jmespath="key",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            ),
        )
        self.conflicts = ConflictResolver.of(settings, sqs=self.sqs)
        # message id -> None (synced), "dead-lettered", or the error to retry it for
        self.outcomes: dict[str, Exception | str | None] = {}
        # writes per message not yet written, skipped or failed (a record is synced at 0)
        self.unsettled: Counter[str] = Counter()
        self.blocked: dict[Hashable, int] = {}

    def begin(self, context: Any) -> None:
        """Reset per-invocation counters and bind the Lambda context (for deadlines)."""
        self.context = context
        self.calls.count = 0
        self.outcomes = {}
        self.unsettled = Counter()
        self.blocked = {}

    def finish(self) -> None:
        """Publish this invocation's metrics (EMF on stdout, read by CloudWatch Logs)."""
        self.metrics.add_metric(name=API_CALLS_USED, unit=MetricUnit.Count, value=self.calls.count)
        self.metrics.flush_metrics()

    # -- the batch, written in collections before the processor reports on each record ----

    def write_batch(self, records: list[SQSRecord]) -> None:
        """Parse every record, then write the changes in as few target calls as allowed.

        Each record's outcome is kept for ``handle_record``; a permanent failure is sent to
        the DLQ here, at the point it is known, so a FIFO group's later records are written
        only after it is safely there.
        """
        pending: list[_Pending] = []
        for position, record in enumerate(records):
            self.outcomes[record.message_id] = None
            group = record.attributes.message_group_id if self.settings.fifo else None
            try:
                for change in parse_body(record.body):
                    write = to_target_write(change, self.settings.mapping)
                    if write is not None:
                        pending.append(_Pending(record, position, change, write, group))
                        self.unsettled[record.message_id] += 1
            except Exception as err:
                self._failed(record, position, group, err)
        size = self.target.max_batch
        for batch in calls(
            pending, size=lambda p: 1 if p.write.delete else size, blocked=self.blocked
        ):
            self._write_call(batch)

    def handle_record(self, record: SQSRecord) -> str:
        """Report one record's outcome; raising marks it as a batch item failure (retried)."""
        outcome = self.outcomes.get(record.message_id, "not processed")
        if outcome is None and self.unsettled[record.message_id] == 0:
            return "synced"
        if outcome is None:
            outcome = "held back behind an earlier failure of its message group"
        if outcome == "dead-lettered":
            return "dead-lettered"
        err = outcome if isinstance(outcome, Exception) else TransientError(str(outcome))
        # Transient or unexpected: SQS redelivers it, and after maxReceiveCount moves it to
        # the DLQ, so nothing is lost even for bugs we did not foresee.
        self._count(RECORDS_FAILED)
        reason = err.reason if isinstance(err, SyncError) else type(err).__name__
        logger.warning(
            "record will be retried",
            extra={"message_id": record.message_id, "reason": reason, "detail": str(err)[:500]},
        )
        raise err

    def _write_call(self, batch: list[_Pending]) -> None:
        ready: list[_Ready] = []
        for pending in batch:
            if is_blocked(pending, self.blocked):
                continue  # an earlier write of its message or group failed in this call
            try:
                cleared = self._clear(pending)
            except Exception as err:
                self._failed(pending.record, pending.position, pending.group, err)
                continue
            if cleared is None:
                self.unsettled[pending.record.message_id] -= 1
            else:
                ready.append(cleared)
        if not ready:
            return
        try:
            results = self._send([r.write for r in ready])
        except Exception as err:
            for item in ready:
                self._release(item, err)
                self._failed(item.pending.record, item.pending.position, item.pending.group, err)
            return
        for item, result in zip(ready, results, strict=True):
            if not result.ok:
                refused = TargetRejected(
                    f"{self.target.name} refused {item.write.object} "
                    f"{item.write.external_id_field}={item.write.external_id}: {result.error}"
                )
                self._release(item, refused)
                self._failed(
                    item.pending.record, item.pending.position, item.pending.group, refused
                )
                continue
            try:
                self._written(item, result.status)
                self.unsettled[item.pending.record.message_id] -= 1
            except Exception as err:
                self._failed(item.pending.record, item.pending.position, item.pending.group, err)

    def _clear(self, pending: _Pending) -> _Ready | None:
        """Conflict rule, idempotency and version checks before the write; None to skip."""
        change, write, decision = pending.change, pending.write, None
        if self.conflicts is not None:
            decision = self.conflicts.decide(change, write)
            if decision.outcome != WRITE:
                self._count(_DECISION_METRICS.get(decision.outcome, CONFLICTS_RESOLVED))
                logger.info(
                    "conflict rule applied",
                    extra={
                        "outcome": decision.outcome,
                        "detail": decision.detail,
                        "idempotency_key": change.idempotency_key,
                    },
                )
            if decision.write is None:
                self.conflicts.settle(change, write, decision, pending.record.body)
                return None
            write = decision.write
        unit = {
            "key": change.idempotency_key,
            "object": write.object,
            "external_id_field": write.external_id_field,
            "external_id": write.external_id,
            "body": write.body,
            "delete": write.delete,
            "version": change.source_version,
        }
        item = _Ready(pending, write, unit, decision)
        if change.idempotency_key is not None:
            stored = self.ledger.claim(unit, _remaining_ms(self.context))
            if stored is not None:
                self._skipped(item, "duplicate")
                return None
        try:
            if change.source_version is not None:
                claim = self.versions.claim(write.object, write.external_id, change.source_version)
                if claim is not APPLY:
                    self._complete(item, claim.value)
                    self._skipped(item, claim.value)
                    return None
        except Exception as err:
            self._release(item, err)
            raise
        return item

    def _send(self, writes: list[TargetWrite]) -> list[WriteResult]:
        """One call of the target's collection endpoint (or one delete); per-record results.

        A whole request the target refuses as invalid is retried record by record, so only
        the record it refuses goes to the DLQ.
        """
        first = writes[0]
        if first.delete:
            status = self.target.delete(first.object, first.external_id_field, first.external_id)
            return [WriteResult(first.external_id, True, status)]
        records = [(w.external_id, w.body) for w in writes]
        try:
            return self.target.upsert_many(first.object, first.external_id_field, records)
        except PermanentError as err:
            if len(writes) == 1:
                return [WriteResult(first.external_id, False, 400, err.detail)]
            return [result for w in writes for result in self._send([w])]

    def _written(self, item: _Ready, status: int) -> None:
        """After the target accepted the record: version, idempotency record, conflict state."""
        version = item.pending.change.source_version
        if version is not None:
            self.versions.applied(item.write.object, item.write.external_id, version)
        self._complete(item, status)
        if self.conflicts is not None and item.decision is not None:
            self.conflicts.settle(
                item.pending.change, item.pending.write, item.decision, item.pending.record.body
            )
        self._count(RECORDS_SYNCED)
        event_time = item.pending.change.event_time
        if event_time is not None:
            self.metrics.add_metric(
                name=SYNC_LAG_SECONDS,
                unit=MetricUnit.Seconds,
                value=max(time.time() - event_time, 0.0),
            )

    def _skipped(self, item: _Ready, why: str) -> None:
        if self.conflicts is not None and item.decision is not None:
            self.conflicts.settle(
                item.pending.change, item.pending.write, item.decision, item.pending.record.body
            )
        if why == "stale":
            self._count(STALE_WRITES_SKIPPED)
            logger.info(
                "stale change skipped: a newer version of the record was applied",
                extra={"object": item.write.object, "external_id": item.write.external_id},
            )
            return
        self._count(DUPLICATES_SKIPPED)
        logger.info(
            "duplicate skipped", extra={"idempotency_key": item.pending.change.idempotency_key}
        )

    def _complete(self, item: _Ready, status: int | str) -> None:
        if item.pending.change.idempotency_key is not None:
            self.ledger.done(item.unit, {"status": status, "external_id": item.write.external_id})

    def _release(self, item: _Ready, err: Exception) -> None:
        """Free the idempotency record of a write that failed, so its retry writes again."""
        if item.pending.change.idempotency_key is None:
            return
        try:
            self.ledger.release(item.unit, err)
        except Exception as release_error:
            # The record then stays in progress until it expires, and the retry waits for it.
            logger.warning("idempotency record not released", extra={"detail": str(release_error)})

    def _failed(self, record: SQSRecord, position: int, group: str | None, err: Exception) -> None:
        """Stop the record's other writes; dead-letter it now, or leave it to SQS.

        Only a record that will be retried holds back the rest of its FIFO group: a
        dead-lettered one is done with, as before collections.
        """
        self.blocked[("message", record.message_id)] = position
        if self.outcomes.get(record.message_id) is not None:
            return  # already failed by an earlier write of the same message
        if isinstance(err, PermanentError):
            try:
                self._dead_letter(record, err)
            except Exception as send_error:
                err = send_error  # never acknowledged before its copy is in the DLQ
            else:
                self.outcomes[record.message_id] = "dead-lettered"
                return
        self.outcomes[record.message_id] = err
        if group is not None:
            self.blocked.setdefault(("group", group), position)

    def _dead_letter(self, record: SQSRecord, err: PermanentError) -> None:
        """Copy the message to the DLQ with its reason; only then is it acknowledged."""
        self._count(RECORDS_FAILED)
        if err.reason == "schema_mismatch":
            self._count(SCHEMA_MISMATCHES)
        # If this raises, the record is reported as failed and retried: never acknowledged
        # before its copy is in the DLQ. A FIFO DLQ needs a group; the original message id
        # deduplicates a repeated send.
        group = record.attributes.message_group_id or "dead-letter"
        park(
            self.sqs,
            self.settings.dlq_url,
            record.body,
            diagnosis(err.reason, err.detail, message_id=record.message_id),
            fifo=(group, record.message_id) if self.settings.fifo else None,
            kept=kept_attributes(record.raw_event),
        )
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


def _remaining_ms(context: Any) -> int | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if callable(remaining) else None


_DECISION_METRICS = {ECHO: ECHOES_SUPPRESSED, PARKED: CONFLICTS_PARKED}

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
        consumer.write_batch([SQSRecord(raw) for raw in event.get("Records", [])])
        response = process_partial_response(
            event=event,
            record_handler=consumer.handle_record,
            processor=consumer.processor,
            context=context,
        )
    finally:
        consumer.finish()
    return dict(response)
