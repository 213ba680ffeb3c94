"""Reconciliation: counts and checksums per window, the gap published with the missing ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    FakeContext,
    FakeSystem,
    emf_documents,
    invoice_env,
    invoice_record,
    metric_values,
    publish_emf,
)

from contract.metrics import namespace

INTEGRATION = "order-to-invoice"
WINDOW_START = datetime(2024, 5, 2, tzinfo=UTC)


@pytest.fixture
def synced(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, FakeSystem]:
    """NetSuite with 12 invoices in the window, all present in Xero as the sync wrote them."""
    netsuite, xero = fake_system(), fake_system()
    invoice_env(monkeypatch, netsuite, xero, integration=INTEGRATION)
    records = [
        invoice_record(
            n,
            modified_at=(WINDOW_START + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            total=100.0 * n,
        )
        for n in range(12)
    ]
    netsuite.feed["invoice"] = records
    for r in records:
        d = r["data"]
        xero.records.setdefault("invoice", {})[d["externalId"]] = {
            "InvoiceNumber": d["tranId"],
            "ContactID": d["entity"],
            "Total": int(d["total"]),  # Xero returns whole numbers as integers
            "Date": d["tranDate"],
            "Reference": d["externalId"],
        }
    return netsuite, xero


def _run() -> dict[str, Any]:
    from integration_sync.reconcile import handler

    window = {"window_start": "2024-05-02T00:00:00Z", "window_end": "2024-05-03T00:00:00Z"}
    return handler(window, FakeContext(timeout_seconds=300))


def _gap_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The structured fields of each "reconciliation gap" log line (Powertools ``extra``)."""
    return [
        {"level": r.levelname, **{k: getattr(r, k) for k in ("missing_ids", "mismatched_ids")}}
        for r in caplog.records
        if r.getMessage() == "reconciliation gap"
    ]


def test_reconciliation_gap_is_reported_with_the_missing_ids(
    synced: tuple[FakeSystem, FakeSystem],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, xero = synced
    del xero.records["invoice"]["NS-INV-10003"]
    del xero.records["invoice"]["NS-INV-10007"]

    result = _run()["objects"]["invoice"]

    assert (result["source_count"], result["target_count"], result["gap"]) == (12, 10, 2)
    assert result["missing_ids"] == ["NS-INV-10003", "NS-INV-10007"]
    assert result["source_checksum"] != result["target_checksum"]
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "ReconciliationGap", namespace=namespace(INTEGRATION)) == [2.0]
    [log] = _gap_logs(caplog)
    assert log["missing_ids"] == ["NS-INV-10003", "NS-INV-10007"]
    assert log["level"] == "WARNING"


def test_gap_metric_reaches_cloudwatch_where_the_alarm_looks(
    synced: tuple[FakeSystem, FakeSystem], capsys: pytest.CaptureFixture[str]
) -> None:
    _, xero = synced
    del xero.records["invoice"]["NS-INV-10005"]
    _run()

    publish_emf(emf_documents(capsys.readouterr().out))

    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=namespace(INTEGRATION),
        MetricName="ReconciliationGap",
        Dimensions=[{"Name": "service", "Value": INTEGRATION}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=300,
        Statistics=["Maximum"],
    )
    assert [point["Maximum"] for point in stats["Datapoints"]] == [1.0]


def test_record_that_differs_in_the_target_counts_as_a_gap(
    synced: tuple[FakeSystem, FakeSystem], caplog: pytest.LogCaptureFixture
) -> None:
    _, xero = synced
    xero.records["invoice"]["NS-INV-10004"]["Total"] = 399.0  # finance booked 399, sales says 400

    result = _run()["objects"]["invoice"]

    assert result["missing_ids"] == [] and result["mismatched_ids"] == ["NS-INV-10004"]
    assert result["gap"] == 1
    assert _gap_logs(caplog)[0]["mismatched_ids"] == ["NS-INV-10004"]


def test_no_gap_when_source_and_target_agree(
    synced: tuple[FakeSystem, FakeSystem],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = _run()["objects"]["invoice"]

    assert result["gap"] == 0 and result["source_count"] == result["target_count"] == 12
    assert result["source_checksum"] == result["target_checksum"]
    assert metric_values(emf_documents(capsys.readouterr().out), "ReconciliationGap") == [0.0]
    assert _gap_logs(caplog) == []


def test_records_outside_the_window_are_not_compared(
    synced: tuple[FakeSystem, FakeSystem],
) -> None:
    netsuite, _ = synced
    netsuite.feed["invoice"].append(
        invoice_record(99, modified_at="2024-05-03T00:00:00Z")
    )  # end is exclusive

    result = _run()["objects"]["invoice"]

    assert result["source_count"] == 12 and result["gap"] == 0
