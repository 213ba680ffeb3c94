"""Object names: roadmap slugs, the systems' API names, and the one mapping that joins them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from roadmap_examples import EXAMPLE, problems_after

from bench.sync import order_change_event
from roadmap.io import parse_roadmap

HW_ORDER = {
    "object": "hw-order",
    "api_name": "HW_Order__c",
    "target_api_name": "customrecord_hw_order",
    "external_id": "externalId",
    "fields": {"Id": "externalId", "Serial__c": "custrecord_serial"},
}


def _hw_order_event(entity: str, record_id: str = "a0B5e000001HWORAA") -> dict[str, Any]:
    event = order_change_event(record_id)
    header = event["detail"]["payload"]["ChangeEventHeader"]
    header["entityName"] = entity
    header["changedFields"] = ["Serial__c"]
    event["detail"]["payload"]["Serial__c"] = "HW-0042"
    return event


def _mapping(**entries: dict[str, Any]) -> Any:
    from integration_sync.config import parse_field_mapping

    return parse_field_mapping(json.dumps(entries))


def _write(event: dict[str, Any], mapping: Any) -> Any:
    from integration_sync.envelope import parse_body
    from integration_sync.mapping import to_target_write

    [change] = parse_body(json.dumps(event))
    return to_target_write(change, mapping)


def _contract(mapping: dict[str, Any]) -> dict[str, Any]:
    """The FIELD_MAPPING entry the program gives the function for a roadmap mapping."""
    from roadmap.integrations import FieldMapping

    return FieldMapping.model_validate(mapping).contract()


def test_custom_object_event_reaches_the_target_under_the_targets_api_name() -> None:
    mapping = _mapping(**{"hw-order": _contract(HW_ORDER)})

    write = _write(_hw_order_event("HW_Order__c"), mapping)

    assert (write.object, write.external_id, write.body) == (
        "customrecord_hw_order",
        "a0B5e000001HWORAA",
        {"custrecord_serial": "HW-0042"},
    )


@pytest.mark.parametrize("entity", ["HwOrder", "HW_Order__c", "hw-order", "Hw_Order__e"])
def test_hyphenated_slug_without_api_name_matches_the_systems_spellings(entity: str) -> None:
    plain = {k: v for k, v in HW_ORDER.items() if not k.endswith("api_name")}
    mapping = _mapping(**{"hw-order": _contract(plain)})

    write = _write(_hw_order_event(entity), mapping)

    assert write.object == "hw-order" and write.body == {"custrecord_serial": "HW-0042"}


def test_two_mappings_that_read_alike_are_refused_not_guessed() -> None:
    from integration_sync.errors import SchemaMismatch

    spec = {"external_id": "externalId", "fields": {"Id": "externalId", "Serial__c": "serial"}}
    mapping = _mapping(**{"hw-order": spec, "hworder": spec})

    with pytest.raises(SchemaMismatch, match="matches several FIELD_MAPPING entries"):
        _write(_hw_order_event("HwOrder"), mapping)


def test_unknown_object_names_each_mapping_with_its_api_name() -> None:
    from integration_sync.errors import SchemaMismatch

    mapping = _mapping(**{"hw-order": _contract(HW_ORDER)})

    with pytest.raises(SchemaMismatch, match=r"hw-order \(HW_Order__c\)"):
        _write(_hw_order_event("Shipment__c"), mapping)


def test_program_passes_every_name_in_one_mapping_entry() -> None:
    assert _contract(HW_ORDER) == {
        "fields": HW_ORDER["fields"],
        "external_id": "externalId",
        "source_object": "HW_Order__c",
        "target_object": "customrecord_hw_order",
    }
    # A mapping without API names keeps the slug on both sides.
    example = parse_roadmap(EXAMPLE).integration("inventory-to-promise").field_mappings[0]
    assert example.contract()["source_object"] == example.contract()["target_object"] == "inventory"
    quote = parse_roadmap(EXAMPLE).integration("quote-to-order").field_mappings[0]
    assert (quote.source_object, quote.target_object) == ("Quote", "estimate")


def test_api_name_that_cannot_be_a_path_segment_is_refused_at_its_location() -> None:
    def bad_api_name(data: dict[str, Any]) -> None:
        data["integrations"][0]["field_mappings"][0]["api_name"] = "Quote/../Account"

    [problem] = problems_after(bad_api_name)

    assert problem.loc == "integrations[0].field_mappings[0].api_name", problem
