"""The scheduled batch job: durable watermark, advanced only after a page is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    FUNCTIONS_DIR,
    FakeContext,
    FakeSystem,
    Request,
    create_state_table,
    emf_documents,
    invoice_env,
    invoice_record,
    metric_values,
)

from contract import environment as var

INTEGRATION = "order-to-invoice"
STATE_TABLE = f"dev-{INTEGRATION}-state"
INVOICES = 25
PAGE = 10


def _feed() -> list[dict[str, Any]]:
    """25 invoices changed over the last hour; pairs share a timestamp to exercise ties."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return [
        invoice_record(
            n, modified_at=(start + timedelta(seconds=30 * (n // 2))).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        for n in range(INVOICES)
    ]


def _systems(
    fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, FakeSystem]:
    netsuite, xero = fake_system(), fake_system()
    netsuite.feed["invoice"] = _feed()
    invoice_env(monkeypatch, netsuite, xero, integration=INTEGRATION, state_table=STATE_TABLE)
    return netsuite, xero


@pytest.fixture
def systems(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, FakeSystem]:
    create_state_table(STATE_TABLE)
    return _systems(fake_system, monkeypatch)


def _run(event: dict[str, Any] | None = None) -> dict[str, Any]:
    from integration_sync.batch import handler

    return handler({"page_size": PAGE, **(event or {})}, FakeContext(timeout_seconds=300))


def _watermark(client: Any = None) -> dict[str, Any] | None:
    client = client or boto3.client("dynamodb")
    item = client.get_item(TableName=STATE_TABLE, Key={"id": {"S": "watermark#invoice"}}).get(
        "Item"
    )
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def _feed_requests(system: FakeSystem) -> list[tuple[str, str]]:
    return [
        (r.query["since"], r.query["after_id"])
        for r in system.requests
        if r.path.endswith("/changes")
    ]


def _expected_references() -> list[str]:
    return sorted(r["data"]["externalId"] for r in _feed())


def test_batch_writes_every_page_and_commits_the_last_record_as_watermark(
    systems: tuple[FakeSystem, FakeSystem], capsys: pytest.CaptureFixture[str]
) -> None:
    netsuite, xero = systems

    result = _run()

    assert result["complete"] is True
    assert result["objects"]["invoice"]["written"] == INVOICES
    assert sorted(xero.written("invoice")) == _expected_references()
    assert xero.written("invoice")["NS-INV-10003"] == {
        "InvoiceNumber": "INV-10003",
        "ContactID": "CUST-303",
        "Total": 1250.0,
        "Date": "2024-05-02",
        "Reference": "NS-INV-10003",
    }
    last = max(netsuite.feed["invoice"], key=lambda r: (r["modified_at"], r["id"]))
    committed = _watermark()
    assert committed is not None
    assert (committed["since"], committed["after_id"]) == (last["modified_at"], last["id"])
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "RecordsSynced") == [1.0] * INVOICES
    assert metric_values(docs, "ApiCallsUsed") == [float(3 + INVOICES)]  # 3 pages + 25 upserts


def test_second_run_without_changes_writes_nothing(systems: tuple[FakeSystem, FakeSystem]) -> None:
    _, xero = systems
    _run()
    writes = len(xero.writes)

    result = _run()

    assert result["objects"]["invoice"]["written"] == 0
    assert len(xero.writes) == writes


def test_failure_halfway_resumes_from_the_last_committed_page(
    systems: tuple[FakeSystem, FakeSystem],
) -> None:
    netsuite, xero = systems
    from integration_sync.errors import TransientError

    xero.fail_record("NS-INV-10014", 503)  # fifth record of the second page

    with pytest.raises(TransientError):
        _run()

    page_one_last = sorted(netsuite.feed["invoice"], key=lambda r: (r["modified_at"], r["id"]))[
        PAGE - 1
    ]
    committed = _watermark()
    assert committed is not None
    assert (committed["since"], committed["after_id"]) == (
        page_one_last["modified_at"],
        page_one_last["id"],
    )
    xero.faults.clear()
    netsuite.requests.clear()

    result = _run()

    assert result["complete"] is True
    assert _feed_requests(netsuite)[0] == (page_one_last["modified_at"], page_one_last["id"])
    assert sorted(xero.written("invoice")) == _expected_references()
    for record in netsuite.feed["invoice"][:PAGE]:
        assert (
            xero.write_count("invoice", record["data"]["externalId"]) == 1
        )  # committed: not redone


def test_batch_killed_halfway_resumes_without_loss_or_duplicates(
    fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch, moto_server: str
) -> None:
    """SIGKILL the job while it writes page two; the next run finishes from page two."""
    ddb = boto3.client("dynamodb", endpoint_url=moto_server)
    ddb.create_table(
        TableName=STATE_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    netsuite, xero = _systems(fake_system, monkeypatch)
    reached, release = threading.Event(), threading.Event()

    def hang_on_fifteenth_write(req: Request) -> tuple[int, dict[str, str], Any] | None:
        if req.method == "PATCH" and len(xero.writes) == 14:
            reached.set()
            release.wait(10)
            return 503, {}, {"error": "connection reset"}  # the dead client never reads it
        return None

    xero.faults.append(hang_on_fifteenth_write)
    env = {**os.environ, "PYTHONPATH": str(FUNCTIONS_DIR), "AWS_ENDPOINT_URL": moto_server}
    code = f"from integration_sync.batch import handler; handler({{'page_size': {PAGE}}}, None)"
    job = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)
    try:
        assert reached.wait(30), "the job never reached the fifteenth write"
        job.send_signal(signal.SIGKILL)
        job.wait(10)
    finally:
        release.set()
        if job.poll() is None:
            job.kill()
    committed = _watermark(ddb)
    assert committed is not None and int(committed["version"]) == 1  # page one only
    xero.faults.clear()

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    result = _run()

    assert result["complete"] is True
    assert sorted(xero.written("invoice")) == _expected_references()  # nothing lost
    assert len(xero.written("invoice")) == INVOICES  # no duplicate records in Xero
    # Page one was committed before the kill, so it was written exactly once.
    ordered = sorted(netsuite.feed["invoice"], key=lambda r: (r["modified_at"], r["id"]))
    assert all(xero.write_count("invoice", r["data"]["externalId"]) == 1 for r in ordered[:PAGE])
    assert all(xero.write_count("invoice", r["data"]["externalId"]) <= 2 for r in ordered[PAGE:])


def test_overlapping_runs_cannot_move_the_watermark_backwards(
    systems: tuple[FakeSystem, FakeSystem],
) -> None:
    from integration_sync.state import WatermarkConflict, WatermarkStore

    store = WatermarkStore(STATE_TABLE)
    stale = store.load("invoice")
    store.commit("invoice", stale, since="2024-05-02T10:05:00Z", after_id="4810009")

    with pytest.raises(WatermarkConflict):
        store.commit("invoice", stale, since="2024-05-02T10:01:00Z", after_id="4810002")

    assert store.load("invoice").since == "2024-05-02T10:05:00Z"


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server on 127.0.0.1 that a separate (killable) process can reach."""
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_a_record_committed_late_behind_the_watermark_is_read_by_the_overlap(
    systems: tuple[FakeSystem, FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    netsuite, xero = systems
    monkeypatch.setenv(var.BATCH_OVERLAP_SECONDS, "300")
    _run()
    committed = _watermark()
    assert committed is not None
    # NetSuite's clock runs 90 s behind: a record saved now says it changed before the mark.
    late = invoice_record(99, modified_at=_seconds_before(committed["since"], 90))
    netsuite.feed["invoice"].append(late)

    result = _run()

    assert "NS-INV-10099" in xero.written("invoice")
    assert result["objects"]["invoice"]["written"] == 1
    # What the overlap read again was absorbed: nothing written twice.
    assert all(xero.write_count("invoice", ref) == 1 for ref in _expected_references())
    after = _watermark()
    assert after is not None and after["since"] == committed["since"]  # never moved back


def test_without_an_overlap_window_the_late_record_is_missed(
    systems: tuple[FakeSystem, FakeSystem],
) -> None:
    # The same scenario with batchOverlapSeconds 0: why the stack setting exists.
    netsuite, xero = systems
    _run()
    committed = _watermark()
    assert committed is not None
    netsuite.feed["invoice"].append(
        invoice_record(99, modified_at=_seconds_before(committed["since"], 90))
    )
    _run()
    assert "NS-INV-10099" not in xero.written("invoice")


def test_an_older_source_version_never_overwrites_a_newer_one_in_the_overlap(
    systems: tuple[FakeSystem, FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration_sync.versions import RecordVersions, source_version

    netsuite, xero = systems
    monkeypatch.setenv(var.BATCH_OVERLAP_SECONDS, "3600")
    first = netsuite.feed["invoice"][0]
    # The consumer (or a replay) already applied a newer version of this invoice.
    versions = RecordVersions(STATE_TABLE)
    newer = source_version(_seconds_before(first["modified_at"], -600))
    reference = first["data"]["externalId"]
    versions.claim("invoice", reference, newer)
    versions.applied("invoice", reference, newer)

    _run()

    assert reference not in xero.written("invoice")
    assert len(xero.written("invoice")) == INVOICES - 1


def _seconds_before(iso: str, seconds: int) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_parked_records_replay_by_rewinding_the_watermark_without_duplicates(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_sync_harness import create_queues, receive_all

    from provisioner.replay import replay_batch_dlq

    create_state_table(STATE_TABLE)
    netsuite, xero = _systems(fake_system, monkeypatch)
    queues = create_queues(f"dev-{INTEGRATION}")
    monkeypatch.setenv(var.DLQ_URL, queues.dlq_url)
    xero.fail_record("NS-INV-10003", 422)  # Xero refuses it until the contact is fixed
    _run()
    assert "NS-INV-10003" not in xero.written("invoice")
    xero.faults.clear()  # fixed

    result = replay_batch_dlq(
        queues.dlq_url,
        STATE_TABLE,
        sqs_client=boto3.client("sqs"),
        dynamodb_client=boto3.client("dynamodb"),
        wait_time_seconds=0,
    )
    _run()

    parked = next(r for r in netsuite.feed["invoice"] if r["data"]["externalId"] == "NS-INV-10003")
    assert (result.moved, result.skipped, result.rewound) == (
        1,
        0,
        {"invoice": parked["modified_at"]},
    )
    assert receive_all(queues.dlq_url) == []
    assert sorted(xero.written("invoice")) == _expected_references()
    assert all(xero.write_count("invoice", ref) == 1 for ref in _expected_references())
