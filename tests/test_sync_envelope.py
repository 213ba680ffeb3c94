"""Envelope parsing and mapping for the shapes sources send, without AWS or HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_sync_harness import ORDER_MAPPING

from bench.sync import order_change_event


def _parse(body: object) -> list[Any]:
    from integration_sync.envelope import parse_body

    return parse_body(json.dumps(body))


def test_cdc_event_for_several_records_yields_one_change_per_record() -> None:
    event = order_change_event("8015e000000MULT1AA")
    event["detail"]["payload"]["ChangeEventHeader"]["recordIds"].append("8015e000000MULT2AA")

    changes = _parse(event)

    assert [c.record_id for c in changes] == ["8015e000000MULT1AA", "8015e000000MULT2AA"]
    assert len({c.idempotency_key for c in changes}) == 2


def test_cdc_gap_event_is_a_permanent_failure_naming_the_records() -> None:
    from integration_sync.errors import PermanentError

    event = order_change_event("8015e000000GAP01AA", change_type="GAP_UPDATE")

    with pytest.raises(PermanentError) as raised:
        _parse(event)

    assert raised.value.reason == "gap_event" and "8015e000000GAP01AA" in raised.value.detail


def test_platform_event_maps_by_its_api_name() -> None:
    from integration_sync.config import parse_field_mapping
    from integration_sync.mapping import to_target_write

    event = {
        "version": "0",
        "id": "6f2e8d1c-2b7a-4d3e-9c1f-0a8b7c6d5e4f",
        "detail-type": "Order_Booked__e",
        "source": "aws.partner/salesforce.com/00D5e000000XkNzEAK/0YL5e0000008OBqGAM",
        "time": "2024-05-02T10:15:30Z",
        "detail": {
            "payload": {
                "CreatedDate": "2024-05-02T10:15:29.000Z",
                "CreatedById": "0055e000004X1kPAAS",
                "EventUuid": "c2b3b2f4-8c8e-4d8b-9f3a-2f6c1d8e7a90",
                "Order_Id__c": "8015e000000PE001AA",
                "Amount__c": 18250.0,
            },
            "schemaId": "Yh0z3bU0cKm0fI6lqVvWqA",
        },
    }
    mapping = parse_field_mapping(
        json.dumps(
            {
                **ORDER_MAPPING,
                "order-booked": {
                    "external_id": "externalId",
                    "fields": {"Order_Id__c": "externalId", "Amount__c": "total"},
                },
            }
        )
    )

    [change] = _parse(event)
    write = to_target_write(change, mapping)

    assert change.idempotency_key.endswith("c2b3b2f4-8c8e-4d8b-9f3a-2f6c1d8e7a90")
    assert write is not None
    assert (write.object, write.external_id, write.body) == (
        "order-booked",
        "8015e000000PE001AA",
        {"total": 18250.0},
    )


def test_cdc_update_touching_only_unmapped_fields_writes_nothing() -> None:
    from integration_sync.config import parse_field_mapping
    from integration_sync.mapping import to_target_write

    event = order_change_event("8015e000000UNMPDAA")
    payload = event["detail"]["payload"]
    for field in ("OrderNumber", "EffectiveDate", "Status"):
        del payload[field]

    [change] = _parse(event)

    assert to_target_write(change, parse_field_mapping(json.dumps(ORDER_MAPPING))) is None
