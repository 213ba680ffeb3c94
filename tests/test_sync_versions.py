"""Stale writes and deduplication: an older change never overwrites a newer one, and only the
sender's event id or (record, source version) marks a repeat, never the body alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    FakeContext,
    FakeSystem,
    consumer_env,
    consumer_handler,
    create_state_table,
    direct_event,
    emf_documents,
    metric_values,
    receive_all,
)

from bench.sync import order_change_event

ORDER_ID = "8015e000000STAL1AA"
TICKET_MAPPING = {
    "ticket": {"external_id": "externalId", "fields": {"id": "externalId", "status": "status"}}
}


@pytest.fixture
def helpdesk(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> FakeSystem:
    """A plain-JSON integration (support tickets) whose sender may omit event ids."""
    system = fake_system()
    system.queues = consumer_env(
        monkeypatch,
        integration="case-to-ticket",
        mapping=TICKET_MAPPING,
        target_url=system.url,
        source_system="zendesk",
        target_system="salesforce",
    )
    return system


def test_a_replayed_older_change_never_overwrites_a_newer_one(
    netsuite: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    now_ms = int(time.time() * 1000)
    draft = order_change_event(ORDER_ID, status="Draft", commit_ms=now_ms - 60_000)
    activated = order_change_event(ORDER_ID, status="Activated", commit_ms=now_ms - 1_000)

    consumer_handler()(direct_event([activated]), FakeContext())
    response = consumer_handler()(direct_event([draft]), FakeContext())  # back from the DLQ, older

    assert response == {"batchItemFailures": []}
    assert netsuite.written("order")[ORDER_ID]["orderStatus"] == "Activated"
    assert netsuite.write_count("order", ORDER_ID) == 1
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "StaleWritesSkipped") == [1.0]
    assert receive_all(netsuite.queues.dlq_url if netsuite.queues else "") == []


def test_a_newer_change_after_an_older_one_is_written(netsuite: FakeSystem) -> None:
    now_ms = int(time.time() * 1000)
    for status, age_ms in (("Draft", 60_000), ("Activated", 1_000)):
        consumer_handler()(
            direct_event([order_change_event(ORDER_ID, status=status, commit_ms=now_ms - age_ms)]),
            FakeContext(),
        )
    assert netsuite.written("order")[ORDER_ID]["orderStatus"] == "Activated"
    assert netsuite.write_count("order", ORDER_ID) == 2


def test_changes_of_one_transaction_apply_in_sequence_order(netsuite: FakeSystem) -> None:
    commit_ms = int(time.time() * 1000) - 5_000
    second = order_change_event(ORDER_ID, status="Activated", sequence=2, commit_ms=commit_ms)
    first = order_change_event(ORDER_ID, status="Draft", sequence=1, commit_ms=commit_ms)

    consumer_handler()(direct_event([second, first]), FakeContext())

    assert netsuite.written("order")[ORDER_ID]["orderStatus"] == "Activated"


def _ticket(status: str, **envelope: Any) -> dict[str, Any]:
    return {
        "object": "ticket",
        "id": "ZD-4411",
        **envelope,
        "data": {"id": "ZD-4411", "status": status},
    }


def test_identical_bodies_without_event_ids_are_each_applied(helpdesk: FakeSystem) -> None:
    # Open -> Closed -> Open: the third body equals the first, and is a real change.
    for status in ("open", "closed", "open"):
        assert consumer_handler()(direct_event([_ticket(status)]), FakeContext()) == {
            "batchItemFailures": []
        }

    assert helpdesk.written("ticket")["ZD-4411"]["status"] == "open"
    assert helpdesk.write_count("ticket", "ZD-4411") == 3


def test_a_repeat_is_recognised_by_record_and_version_without_an_event_id(
    helpdesk: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    change = _ticket("closed", occurred_at="2024-05-02T10:00:00Z")
    consumer_handler()(direct_event([change]), FakeContext())
    consumer_handler()(direct_event([change]), FakeContext())

    assert helpdesk.write_count("ticket", "ZD-4411") == 1
    assert metric_values(emf_documents(capsys.readouterr().out), "DuplicatesSkipped") == [1.0]


def test_a_revision_number_orders_changes_before_their_timestamps(helpdesk: FakeSystem) -> None:
    # Clocks disagree: revision 8 claims an earlier time than revision 7. The revision wins.
    consumer_handler()(
        direct_event([_ticket("solved", version=8, occurred_at="2024-05-02T09:00:00Z")]),
        FakeContext(),
    )
    consumer_handler()(
        direct_event([_ticket("open", version=7, occurred_at="2024-05-02T10:00:00Z")]),
        FakeContext(),
    )
    assert helpdesk.written("ticket")["ZD-4411"]["status"] == "solved"


def test_a_version_that_is_not_a_whole_number_is_dead_lettered_with_the_reason(
    helpdesk: FakeSystem,
) -> None:
    consumer_handler()(direct_event([_ticket("open", version="7b")]), FakeContext())

    [dead] = receive_all(helpdesk.queues.dlq_url if helpdesk.queues else "")
    detail = dead["MessageAttributes"]["failure-detail"]["StringValue"]
    assert "'version' must be a whole number" in detail
    assert helpdesk.written("ticket") == {}


# ------------------------------------------------------------------ the version store itself


def test_version_store_claims_newer_skips_older_and_applied_repeats(aws: None) -> None:
    from integration_sync.versions import APPLY, DUPLICATE, STALE, RecordVersions, source_version

    store = RecordVersions(
        create_state_table("dev-order-to-invoice-state"), boto3.client("dynamodb")
    )
    older, newer = source_version("2024-05-02T10:00:00Z"), source_version("2024-05-02T10:00:01Z")

    assert store.claim("invoice", "NS-1", newer) is APPLY
    # Claimed but never marked applied (the write failed): the retry may write it again.
    assert store.claim("invoice", "NS-1", newer) is APPLY
    store.applied("invoice", "NS-1", newer)
    assert store.claim("invoice", "NS-1", newer) is DUPLICATE
    assert store.claim("invoice", "NS-1", older) is STALE
    assert store.applied_version("invoice", "NS-1") == newer
    assert store.claim("invoice", "NS-2", older) is APPLY  # versions are per record


def test_source_versions_sort_like_the_source() -> None:
    from integration_sync.versions import source_version

    ordered = [
        source_version(1714644000.0, 5, 1),
        source_version(1714644000.0, 5, 2),
        source_version(1714644000.0, 6, 1),
        source_version(1714644000.000001),
        source_version("2024-05-02T10:00:01Z"),
    ]
    assert ordered == sorted(ordered)
    assert source_version(number=9) < source_version(number=10)
    with pytest.raises(ValueError, match="needs a time or a number"):
        source_version()
    assert json.dumps(ordered)  # plain strings, storable as DynamoDB S
