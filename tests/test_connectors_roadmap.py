"""The roadmap picks each system's connector; plan shows connectors and rotation modes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from roadmap_examples import EXAMPLE, ROOT, problems_after

from components.roadmap import load_roadmap, parse_roadmap
from contract.connectors import CONNECTORS
from provisioner.cli import main

ROADMAP = load_roadmap(ROOT / "roadmap.yaml")


def system(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["systems"] if s["name"] == name)


def integration(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["integrations"] if i["name"] == name)


@pytest.mark.parametrize(
    ("name", "connector"),
    [
        ("salesforce", "salesforce"),
        ("netsuite", "netsuite"),
        ("shopify", "shopify"),
        ("xero", "xero"),
        ("marketo", "marketo"),
        ("zendesk", "zendesk"),
        ("amplitude", "amplitude"),
        ("snowflake", "snowflake"),
    ],
)
def test_each_example_system_is_spoken_to_by_its_vendors_connector(
    name: str, connector: str
) -> None:
    assert ROADMAP.system(name).connector.name == connector


def test_a_vendor_no_connector_knows_is_reached_through_middleware() -> None:
    data = copy.deepcopy(EXAMPLE)
    system(data, "netsuite")["vendor"] = "SAP S/4HANA"
    assert parse_roadmap(data).system("netsuite").connector.name == "middleware"


def test_a_named_connector_wins_over_the_vendor_text() -> None:
    data = copy.deepcopy(EXAMPLE)
    system(data, "netsuite")["vendor"] = "NetSuite via our ERP gateway"
    system(data, "netsuite")["api"]["connector"] = "middleware"
    assert parse_roadmap(data).system("netsuite").connector.name == "middleware"


def test_an_unknown_connector_name_lists_the_known_ones() -> None:
    (problem,) = problems_after(lambda d: system(d, "xero")["api"].update(connector="quickbooks"))
    assert problem.loc == "systems[3].api.connector"
    assert "'quickbooks'" in problem.msg and "netsuite" in problem.msg


def test_a_middleware_flow_speaks_the_middleware_contract_on_both_sides() -> None:
    flow = ROADMAP.integration("inventory-to-promise")
    assert {ROADMAP.connector(flow, side).name for side in ("source", "target")} == {"middleware"}
    direct = ROADMAP.integration("order-to-invoice")
    assert [ROADMAP.connector(direct, s).name for s in ("source", "target")] == ["netsuite", "xero"]


def test_a_read_only_connector_cannot_be_a_target() -> None:
    def into_amplitude(d: dict[str, Any]) -> None:
        flow = integration(d, "support-health-to-crm")
        flow["target"] = "amplitude"
        flow["credentials"][1] = {
            "name": "amplitude-key",
            "kind": "api_key",
            "system": "amplitude",
            "rotation_days": 30,
        }

    problems = [p for p in problems_after(into_amplitude) if p.loc.endswith(".target")]
    assert len(problems) == 1
    assert "cannot write" in problems[0].msg and "Export API" in problems[0].msg


def test_a_credential_kind_the_vendor_does_not_issue_is_refused() -> None:
    def api_key_for_netsuite(d: dict[str, Any]) -> None:
        integration(d, "order-to-invoice")["credentials"][0]["kind"] = "api_key"

    (problem,) = problems_after(api_key_for_netsuite)
    assert problem.loc.endswith("credentials[0].kind")
    assert "Oracle NetSuite does not issue api_key" in problem.msg


def test_rotation_modes_follow_what_each_vendor_allows() -> None:
    flow = ROADMAP.integration("quote-to-order")
    modes = {c.name: ROADMAP.rotation_mode(c) for c in flow.credentials}
    assert modes == {"salesforce-jwt": "api", "netsuite-m2m": "manual"}
    pusher = ROADMAP.integration("lead-to-account").credentials[0]
    assert ROADMAP.rotation_mode(pusher) == "api"


def test_every_connector_names_its_api_version_and_documentation() -> None:
    for spec in CONNECTORS.values():
        assert spec.api_version and spec.docs and spec.reads


def test_every_catalogued_connector_is_implemented_faked_and_contract_tested() -> None:
    from test_connectors_contract import CASES

    from integration_sync.connectors import connector_class
    from provisioner.rehearsal.vendors import FAKES

    for name in CONNECTORS:
        assert connector_class(name).name == name
    assert set(FAKES) == set(CASES) == set(CONNECTORS)


def test_plan_shows_each_integrations_connectors_and_rotation_modes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--stack", "dev", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    quote = next(i for i in doc["integrations"] if i["name"] == "quote-to-order")
    assert quote["connectors"] == {
        "source": {"name": "salesforce", "api_version": "REST API v62.0"},
        "target": {"name": "netsuite", "api_version": "REST record API v1, SuiteQL"},
    }
    assert quote["credential_rotation"] == {"salesforce-jwt": "api", "netsuite-m2m": "manual"}
