"""Reconciliation job: compare what the source has with what the target holds, per window.

For each mapped object, reads the source records modified in ``[window_start, window_end)``,
maps them as the sync would, looks the target records up by external id, and compares
counts and per-record checksums of the mapped fields. The gap (missing + different records)
is published as ``ReconciliationGap`` and the missing/different ids are logged, so the
reconciliation-gap alarm points someone at concrete records.

Invoke in-process::

    from integration_sync.reconcile import handler
    handler({"window_start": "2024-05-01T00:00:00Z", "window_end": "2024-05-02T00:00:00Z"}, None)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from contract.metrics import API_CALLS_USED, RECONCILIATION_GAP
from integration_sync import telemetry
from integration_sync.config import Settings
from integration_sync.connectors import Connector, SourceRecord, scheduled_connectors
from integration_sync.envelope import UPSERT, Change
from integration_sync.errors import PermanentError
from integration_sync.mapping import api_names, to_target_write

logger = Logger()

DEFAULT_WINDOW = timedelta(hours=24)
# Same settle time as the batch job: records younger than this may still be in flight.
SETTLE = timedelta(minutes=5)
PAGE_SIZE = 200
# CloudWatch Logs caps one event at 256 KB (CloudWatch Logs quotas): log at most this many ids.
MAX_LOGGED_IDS = 1000


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point for the reconciliation schedule; returns the gap per object."""
    event = event or {}
    settings = Settings.from_env()
    settings.require("source_base_url", "target_base_url")
    metrics = telemetry.new_metrics(settings)
    calls = telemetry.CallCounter()

    def remaining() -> float:
        return telemetry.remaining_seconds_of(context)

    source, target = scheduled_connectors(settings, on_call=calls, remaining_seconds=remaining)
    end = _parse(event["window_end"]) if event.get("window_end") else datetime.now(UTC) - SETTLE
    start = _parse(event["window_start"]) if event.get("window_start") else end - DEFAULT_WINDOW
    objects = list(event.get("objects") or settings.mapping)
    try:
        report = {obj: _reconcile(settings, source, target, obj, start, end) for obj in objects}
        for obj, result in report.items():
            metrics.add_metric(name=RECONCILIATION_GAP, unit=MetricUnit.Count, value=result["gap"])
            if result["gap"]:
                logger.warning(
                    "reconciliation gap",
                    extra={
                        "object": obj,
                        "window_start": _iso(start),
                        "window_end": _iso(end),
                        "source_count": result["source_count"],
                        "target_count": result["target_count"],
                        "missing_ids": result["missing_ids"][:MAX_LOGGED_IDS],
                        "mismatched_ids": result["mismatched_ids"][:MAX_LOGGED_IDS],
                    },
                )
    finally:
        metrics.add_metric(name=API_CALLS_USED, unit=MetricUnit.Count, value=calls.count)
        metrics.flush_metrics()
    return {"window_start": _iso(start), "window_end": _iso(end), "objects": report}


def _reconcile(
    settings: Settings,
    source: Connector,
    target: Connector,
    obj: str,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    expected: dict[str, dict[str, Any]] = {}
    external_id_field = ""
    unmappable: list[str] = []
    source_name, target_name = api_names(obj, settings.mapping)
    for record in _source_records(settings, source, source_name, start, end):
        change = Change(
            obj, UPSERT, record.data, record.id, f"reconcile:{record.id}", origin="batch"
        )
        try:
            write = to_target_write(change, settings.mapping)
        except PermanentError:
            unmappable.append(record.id)
            continue
        if write is not None:
            external_id_field = write.external_id_field
            expected[write.external_id] = write.body
    ids = sorted(expected)
    found = {
        str(r.get(external_id_field)): r
        for r in (target.lookup(target_name, external_id_field, ids) if ids else [])
    }
    missing = [i for i in ids if i not in found]
    mismatched = [
        i
        for i in ids
        if i in found
        and _checksum(expected[i]) != _checksum({k: found[i].get(k) for k in expected[i]})
    ]
    return {
        "source_count": len(expected),
        "target_count": len(found),
        "source_checksum": _aggregate({i: _checksum(expected[i]) for i in ids}),
        "target_checksum": _aggregate(
            {i: _checksum({k: r.get(k) for k in expected.get(i, {})}) for i, r in found.items()}
        ),
        "missing_ids": missing,
        "mismatched_ids": mismatched,
        "unmappable_ids": unmappable,
        "gap": len(missing) + len(mismatched),
    }


def _source_records(
    settings: Settings, source: Connector, source_name: str, start: datetime, end: datetime
) -> Iterator[SourceRecord]:
    """The window's source records: through one Bulk API 2.0 query job when the function is
    told so (SOURCE_BULK_QUERY; order does not matter here), else keyset pages."""
    bulk = getattr(source, "bulk_changes", None)
    if settings.source_bulk_query and bulk is not None:
        for page in bulk(source_name, since=_iso(start), until=_iso(end)):
            yield from page.records
        return
    since, after_id = _iso(start), ""
    while True:
        page = source.changes(
            source_name, since=since, after_id=after_id, until=_iso(end), limit=PAGE_SIZE
        )
        yield from page
        if len(page) < PAGE_SIZE:
            return
        since, after_id = page[-1].modified_at, page[-1].id


def _checksum(fields: dict[str, Any]) -> str:
    """SHA-256 of the fields with numbers normalised (1200 == 1200.0 across systems)."""
    normal = {
        k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in fields.items()
    }
    return hashlib.sha256(json.dumps(normal, sort_keys=True, default=str).encode()).hexdigest()


def _aggregate(checksums: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(checksums):
        digest.update(f"{key}={checksums[key]};".encode())
    return digest.hexdigest()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
