"""The roadmap picks each system's connector; plan shows connectors and rotation modes."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from roadmap_examples import EXAMPLE, ROOT, problems_after

if str(ROOT) not in sys.path:  # the benchmarks' roadmap generator
    sys.path.insert(0, str(ROOT))

from bench.roadmaps import generate_roadmap
from contract.connectors import CONNECTORS
from provisioner.cli import main
from roadmap.io import load_roadmap, parse_roadmap
from roadmap.problems import RoadmapError

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

    for name, spec in CONNECTORS.items():
        assert connector_class(name).name == name
        assert connector_class(name).max_batch == spec.collection_size, name
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


def test_a_custom_object_is_written_to_marketo_under_its_api_name_only() -> None:
    flow = ROADMAP.integration("lead-to-account")
    marketo = ROADMAP.connector(flow, "source")
    assert marketo.can_write("leads") and marketo.can_write("device_registration_c")
    assert not marketo.can_write("device-registration")
    assert not marketo.can_read("device_registration_c")


def test_a_bidirectional_flow_needs_an_object_both_sides_read_and_write() -> None:
    def both_ways(d: dict[str, Any]) -> None:  # Zendesk exports tickets but cannot upsert them
        flow = integration(d, "support-health-to-crm")
        flow["direction"] = "bidirectional"
        flow["conflict_rule"] = {"strategy": "source_wins"}
        flow["field_mappings"][0]["api_name"] = "tickets"

    problems = [p for p in problems_after(both_ways) if "field_mappings" in p.loc]
    assert [p.loc for p in problems] == ["integrations[5].field_mappings[0].api_name"]
    assert "cannot write 'tickets'" in problems[0].msg


def test_the_readme_lists_every_connector() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `") for line in readme.splitlines() if line[:3] == "| `"}
    assert set(CONNECTORS) <= rows


def test_a_credential_marked_manual_is_rotated_by_hand_even_where_an_api_could() -> None:
    data = copy.deepcopy(EXAMPLE)
    integration(data, "quote-to-order")["credentials"][0]["rotation"] = "manual"
    roadmap = parse_roadmap(data)
    jwt = roadmap.integration("quote-to-order").credentials[0]
    assert roadmap.rotation_mode(jwt) == "manual" and roadmap.vendor_rotation(jwt) == "api"


def test_the_report_shows_each_integrations_connectors_and_credential_rotation_modes() -> None:
    from test_report_content import report_for

    from provisioner.report.render import render_html, render_markdown

    report = report_for()
    html, md = render_html(report), render_markdown(report)
    connectors = "salesforce (REST API v62.0) -> netsuite (REST record API v1, SuiteQL)"
    modes = "salesforce-jwt: api, netsuite-m2m: manual"
    assert "| quote-to-order |" in md and connectors in md and modes in md
    row = next(line for line in md.splitlines() if line.startswith("| quote-to-order |"))
    assert connectors in row and modes in row
    assert connectors.replace(">", "&gt;") in html and modes in html


def test_a_bidirectional_flow_writes_back_into_xero_by_the_field_xero_finds_it_by() -> None:
    # The way back upserts into the source by the field mapped onto the target's key:
    # from Xero, Contacts are found by ContactNumber only (generated roadmaps have such
    # a flow).
    data = generate_roadmap(40)
    parse_roadmap(copy.deepcopy(data))
    i, flow = next(
        (i, f)
        for i, f in enumerate(data["integrations"])
        # a middleware flow speaks the platform's contract, not Xero's API
        if f["source"] == "xero"
        and f["direction"] == "bidirectional"
        and f["pattern"] != "middleware"
    )
    mapping = flow["field_mappings"][0]
    key = mapping["fields"].pop("ContactNumber")
    mapping["fields"]["Id"] = key

    with pytest.raises(RoadmapError) as caught:
        parse_roadmap(data)
    (problem,) = caught.value.problems
    assert problem.loc == f"integrations[{i}].field_mappings[0].fields"
    assert "Xero finds Contacts by ContactNumber only" in problem.msg
    assert "map ContactNumber onto 'externalId' instead of 'Id'" in problem.msg


# What each connector cannot serve, and where the roadmap says so: each mutation of the
# example gets exactly one problem, at its location, saying why and what to do.
def unknown_connector(d: dict[str, Any]) -> None:
    system(d, "xero")["api"]["connector"] = "quickbooks"


def api_key_for_netsuite(d: dict[str, Any]) -> None:
    integration(d, "order-to-invoice")["credentials"][0]["kind"] = "api_key"


def campaigns_from_marketo(d: dict[str, Any]) -> None:
    integration(d, "lead-to-account")["field_mappings"][0]["api_name"] = "campaigns"


def lower_case_xero_endpoint(d: dict[str, Any]) -> None:
    integration(d, "order-to-invoice")["field_mappings"][0]["target_api_name"] = "invoice"


def own_key_in_xero(d: dict[str, Any]) -> None:
    mapping = integration(d, "order-to-invoice")["field_mappings"][0]
    mapping["external_id"] = "externalId"
    mapping["fields"]["externalId"] = "externalId"


def tba_through_middleware(d: dict[str, Any]) -> None:
    integration(d, "inventory-to-promise")["credentials"][0]["kind"] = "netsuite_tba"


def automatic_xero_rotation(d: dict[str, Any]) -> None:
    del integration(d, "order-to-invoice")["credentials"][1]["rotation"]


def automatic_tba_rotation(d: dict[str, Any]) -> None:
    cred = integration(d, "order-to-invoice")["credentials"][0]
    cred["kind"] = "netsuite_tba"
    del cred["rotation"]


@pytest.mark.parametrize(
    ("mutate", "loc", "said"),
    [
        pytest.param(
            unknown_connector,
            "systems[3].api.connector",
            ["'quickbooks'", "netsuite"],
            id="an-unknown-connector-lists-the-known-ones",
        ),
        pytest.param(
            api_key_for_netsuite,
            "integrations[2].credentials[0].kind",
            ["Oracle NetSuite does not issue api_key"],
            id="a-credential-kind-the-vendor-does-not-issue",
        ),
        pytest.param(
            campaigns_from_marketo,
            "integrations[1].field_mappings[0].api_name",
            [
                "cannot read 'campaigns'",
                "leads (the only object with a change feed)",
                "pattern: middleware",
            ],
            id="marketo-is-a-source-of-leads-only",
        ),
        pytest.param(
            lower_case_xero_endpoint,
            "integrations[2].field_mappings[0].target_api_name",
            ["xero connector", "Invoices"],
            id="an-object-the-targets-api-does-not-have",
        ),
        pytest.param(
            own_key_in_xero,
            "integrations[2].field_mappings[0].external_id",
            ["by Reference only", "set external_id: Reference"],
            id="xero-records-are-keyed-by-the-field-xero-finds-them-by",
        ),
        pytest.param(
            tba_through_middleware,
            "integrations[3].credentials[0].kind",
            ["middleware contract", "not netsuite_tba"],
            id="a-credential-the-middleware-contract-cannot-take",
        ),
        pytest.param(
            automatic_xero_rotation,
            "integrations[2].credentials[1].rotation",
            [
                "'xero-m2m' cannot be rotated every 30 days automatically",
                "Xero issues the next oauth_client_credentials only by hand",
                "add `rotation: manual`",
                "--manual --credential xero-m2m",
            ],
            id="a-period-the-vendor-cannot-honour-unless-marked-manual",
        ),
        pytest.param(
            automatic_tba_rotation,
            "integrations[2].credentials[0].rotation",
            ["no API issues a netsuite_tba, a person makes the next one"],
            id="a-kind-no-api-issues-needs-a-person-whoever-the-vendor-is",
        ),
    ],
)
def test_what_a_connector_cannot_serve_is_refused_where_it_is_written(
    mutate: Callable[[dict[str, Any]], None], loc: str, said: list[str]
) -> None:
    (problem,) = problems_after(mutate)
    assert problem.loc == loc
    assert [text for text in said if text not in problem.msg] == []
