"""Scheduled batch job: page through source changes since a durable watermark and write them.

For each mapped object: read the watermark from STATE_TABLE, fetch keyset pages
(``(modified_at, id)`` strictly after it, up to ``now - SETTLE_SECONDS``), upsert every
record by external id, and only then commit the page's last ``(modified_at, id)`` as the new
watermark. A run that dies halfway (timeout, crash, 5xx) resumes at the first page not
committed.

Each run starts ``BATCH_OVERLAP_SECONDS`` (stack setting ``batchOverlapSeconds``) before
its watermark, so a record whose ``modified_at`` lies behind the watermark when it becomes
visible (a source clock running late, a long transaction) is still read. What the overlap
reads again is absorbed by the record versions (``versions.RecordVersions``): a record
already applied at that ``modified_at`` is skipped, an older one never overwrites a newer.

A warehouse pipeline (``STAGE_BUCKET`` set) writes no rows itself: each page's mapped rows
go as one file into the stage bucket (``integration_sync.stage``), and the page's watermark
is committed only after the put succeeded; the warehouse loads the files.

A record the target rejects permanently cannot block the watermark forever: it is sent to
``DLQ_URL`` when the integration has one, otherwise logged with its id and counted in
``RecordsFailed`` (the reconciliation job then reports it as a gap).

Invoke in-process::

    from integration_sync.batch import handler
    handler({"objects": ["invoice"], "page_size": 200}, None)
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from contract.metrics import (
    API_CALLS_USED,
    DUPLICATES_SKIPPED,
    RECORDS_FAILED,
    RECORDS_SYNCED,
    SCHEMA_MISMATCHES,
    STALE_WRITES_SKIPPED,
    SYNC_LAG_SECONDS,
)
from integration_sync import telemetry
from integration_sync.config import Settings
from integration_sync.connectors import Connector, SourceRecord, scheduled_connectors
from integration_sync.dead_letter import diagnosis, park
from integration_sync.envelope import UPSERT, Change
from integration_sync.errors import PermanentError
from integration_sync.mapping import api_names, to_target_write
from integration_sync.stage import Stage
from integration_sync.state import BulkJob, BulkJobs, Watermark, WatermarkStore
from integration_sync.versions import APPLY, DUPLICATE, RecordVersions, source_version

logger = Logger()

# Records committed in the last minute may still be invisible to a query (open transactions,
# replica lag); reading only up to now - 60 s keeps the keyset watermark from skipping them.
SETTLE_SECONDS = 60
# Salesforce REST returns at most 2,000 records per query batch (REST API Developer Guide,
# "Query"); 200 keeps a page well inside one Lambda invocation's time and memory.
DEFAULT_PAGE_SIZE = 200
# Stop starting new pages when less than this remains of the 300 s batch timeout: the
# committed watermark lets the next scheduled run continue.
STOP_MARGIN_SECONDS = 30.0


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point for the schedule; returns per-object counts and the final watermark."""
    event = event or {}
    settings = Settings.from_env()
    settings.require("state_table", "source_base_url", "target_base_url")
    metrics = telemetry.new_metrics(settings)
    calls = telemetry.CallCounter()

    def remaining() -> float:
        return telemetry.remaining_seconds_of(context)

    source, target = scheduled_connectors(settings, on_call=calls, remaining_seconds=remaining)
    job = _BatchJob(
        settings,
        source,
        target,
        WatermarkStore(settings.state_table),
        RecordVersions(settings.state_table),
        metrics,
        remaining,
    )
    page_size = int(event.get("page_size", DEFAULT_PAGE_SIZE))
    objects = list(event.get("objects") or settings.mapping)
    try:
        result = {obj: job.sync_object(obj, page_size=page_size) for obj in objects}
    finally:
        metrics.add_metric(name=API_CALLS_USED, unit=MetricUnit.Count, value=calls.count)
        metrics.flush_metrics()
    return {"objects": result, "complete": all(r["complete"] for r in result.values())}


class _BatchJob:
    def __init__(
        self,
        settings: Settings,
        source: Connector,
        target: Connector,
        store: WatermarkStore,
        versions: RecordVersions,
        metrics: Any,
        remaining: Any,
    ) -> None:
        self.settings = settings
        self.source = source
        self.target = target
        self.store = store
        self.versions = versions
        self.metrics = metrics
        self.remaining = remaining
        self.jobs = BulkJobs(settings.state_table)
        self._sqs: Any = None
        # A warehouse pipeline stages each page as a file; the warehouse loads it.
        self.stage = Stage(settings.stage_bucket) if settings.stage_bucket else None

    def sync_object(self, obj: str, *, page_size: int) -> dict[str, Any]:
        """Sync one object from its watermark until caught up or out of time."""
        source_name, _ = api_names(obj, self.settings.mapping)
        mark = self.store.load(obj)
        until = _iso(datetime.now(UTC) - timedelta(seconds=SETTLE_SECONDS))
        cursor = _overlap_start(mark, self.settings.batch_overlap_seconds)
        bulk = getattr(self.source, "bulk_changes", None)
        if self.settings.source_bulk_query and bulk is not None:
            return self._sync_in_bulk(obj, source_name, bulk, mark, cursor[0], until)
        written = pages = 0
        complete = False
        while self.remaining() > STOP_MARGIN_SECONDS:
            records = self.source.changes(
                source_name, since=cursor[0], after_id=cursor[1], until=until, limit=page_size
            )
            if not records:
                complete = True
                break
            if self.stage is not None:
                written += self._stage(obj, cursor, records)
            else:
                for record in records:
                    written += self._write(obj, record)
            last = records[-1]
            cursor = (last.modified_at, last.id)
            pages += 1
            # Pages of the overlap end behind the watermark: committing them would move it
            # backwards, so the watermark only advances once a page passes it.
            if cursor > (mark.since, mark.after_id):
                mark = self.store.commit(obj, mark, since=cursor[0], after_id=cursor[1])
                logger.info(
                    "page committed",
                    extra={"object": obj, "since": mark.since, "after_id": mark.after_id},
                )
            if len(records) < page_size:
                complete = True
                break
        lag_from = until if complete else mark.since
        self.metrics.add_metric(
            name=SYNC_LAG_SECONDS,
            unit=MetricUnit.Seconds,
            value=max(time.time() - _parse(lag_from), 0.0),
        )
        return {"written": written, "pages": pages, "complete": complete, "watermark": mark.since}

    def _sync_in_bulk(
        self, obj: str, source_name: str, bulk: Any, mark: Watermark, since: str, until: str
    ) -> dict[str, Any]:
        """One Bulk API 2.0 query job for the window, resumed where a dead run left it.

        Its pages come in no order, so the watermark moves to the window's end only once
        every page is written; the job and the next page are recorded after each page.
        """
        recorded = self.jobs.load(obj)
        resume = (recorded.job_id, recorded.locator) if recorded is not None else None
        job: BulkJob = recorded if recorded is not None else BulkJob("", since, until)
        if recorded is not None:
            logger.info("bulk query job resumed", extra={"object": obj, "job_id": job.job_id})

        def started(job_id: str) -> None:
            nonlocal job
            job = replace(job, job_id=job_id)
            self.jobs.save(obj, job)

        written = pages = 0
        for page in bulk(
            source_name, since=job.since, until=job.until, resume=resume, on_job=started
        ):
            if self.stage is not None:  # the page's key: its job and the locator it came by
                at = (job.since, f"{job.job_id}-{job.locator or 0}")
                written += self._stage(obj, at, page.records)
            else:
                for record in page.records:
                    written += self._write(obj, record)
            pages += 1
            job = replace(job, locator=page.next_locator)
            if page.next_locator:
                self.jobs.save(obj, job)
                if self.remaining() <= STOP_MARGIN_SECONDS:
                    return {
                        "written": written,
                        "pages": pages,
                        "complete": False,
                        "watermark": mark.since,
                    }
        if (job.until, "") > (mark.since, mark.after_id):
            mark = self.store.commit(obj, mark, since=job.until, after_id="")
        self.jobs.clear(obj)
        self.metrics.add_metric(
            name=SYNC_LAG_SECONDS,
            unit=MetricUnit.Seconds,
            value=max(time.time() - _parse(job.until), 0.0),
        )
        return {"written": written, "pages": pages, "complete": True, "watermark": mark.since}

    def _write(self, obj: str, record: SourceRecord) -> int:
        version = source_version(record.modified_at)
        change = _change(obj, record)
        try:
            write = to_target_write(change, self.settings.mapping)
            if write is None:
                return 0
            claim = self.versions.claim(write.object, write.external_id, version)
            if claim is not APPLY:
                skipped = DUPLICATES_SKIPPED if claim is DUPLICATE else (STALE_WRITES_SKIPPED)
                self.metrics.add_metric(name=skipped, unit=MetricUnit.Count, value=1)
                return 0
            self.target.upsert(write.object, write.external_id_field, write.external_id, write.body)
            self.versions.applied(write.object, write.external_id, version)
        except PermanentError as err:
            self._park(obj, record, err)
            return 0
        # TransientError propagates: the page is not committed and the next run resumes it.
        self.metrics.add_metric(name=RECORDS_SYNCED, unit=MetricUnit.Count, value=1)
        return 1

    def _stage(self, obj: str, start: tuple[str, str], records: list[SourceRecord]) -> int:
        """Put the page's mapped rows as one file; a failed put raises, so nothing commits."""
        assert self.stage is not None
        rows = []
        for record in records:
            try:
                write = to_target_write(_change(obj, record), self.settings.mapping)
            except PermanentError as err:
                self._park(obj, record, err)
                continue
            if write is not None:
                rows.append({write.external_id_field: write.external_id, **write.body})
        self.stage.put_page(obj, start, rows)
        self.metrics.add_metric(name=RECORDS_SYNCED, unit=MetricUnit.Count, value=len(rows))
        return len(rows)

    def _park(self, obj: str, record: SourceRecord, err: PermanentError) -> None:
        self.metrics.add_metric(name=RECORDS_FAILED, unit=MetricUnit.Count, value=1)
        if err.reason == "schema_mismatch":
            self.metrics.add_metric(name=SCHEMA_MISMATCHES, unit=MetricUnit.Count, value=1)
        logger.error(
            "record not written",
            extra={
                "object": obj,
                "record_id": record.id,
                "reason": err.reason,
                "detail": err.detail[:500],
            },
        )
        if not self.settings.dlq_url:
            return
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        event_id = f"{record.id}@{record.modified_at}"
        body = {
            "object": obj,
            "id": record.id,
            "event_id": event_id,
            "occurred_at": record.modified_at,
            "data": record.data,
        }
        fifo = (f"{obj}:{record.id}", event_id) if self.settings.fifo else None
        park(
            self._sqs,
            self.settings.dlq_url,
            json.dumps(body),
            diagnosis(err.reason, err.detail),
            fifo=fifo,
        )


def _change(obj: str, record: SourceRecord) -> Change:
    return Change(
        object=obj,
        operation=UPSERT,
        fields=record.data,
        record_id=record.id,
        idempotency_key=f"batch:{obj}:{record.id}:{record.modified_at}",
        origin="batch",
        source_version=source_version(record.modified_at),
    )


def _overlap_start(mark: Watermark, overlap_seconds: int) -> tuple[str, str]:
    """Where a run starts reading: ``overlap_seconds`` before the watermark (the whole second)."""
    if overlap_seconds <= 0 or not mark.version:
        return mark.since, mark.after_id
    return _iso(datetime.fromtimestamp(_parse(mark.since) - overlap_seconds, UTC)), ""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
