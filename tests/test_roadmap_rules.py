"""Each roadmap rule, broken alone in an otherwise valid copy of the example roadmap."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from roadmap_examples import EXAMPLE, problems_after

from roadmap.io import parse_roadmap
from roadmap.model import Roadmap
from roadmap.problems import Problem


def integration(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["integrations"] if i["name"] == name)


def index_of(data: dict[str, Any], name: str) -> int:
    return next(n for n, i in enumerate(data["integrations"]) if i["name"] == name)


def only_problem(mutate: Callable[[dict[str, Any]], None]) -> Problem:
    problems = problems_after(mutate)
    assert len(problems) == 1, problems
    return problems[0]


def test_example_roadmap_is_valid_and_realistic() -> None:
    roadmap = parse_roadmap(copy.deepcopy(EXAMPLE))
    assert isinstance(roadmap, Roadmap)
    assert len(roadmap.systems) >= 8 and len(roadmap.objects) >= 12
    assert len(roadmap.integrations) >= 8
    assert {i.pattern.value for i in roadmap.integrations} == {
        "real_time_api",
        "event_driven",
        "batch",
        "middleware",
        "warehouse_pipeline",
    }
    phases = {i.phase(env) for i in roadmap.integrations for env in ("dev", "staging", "prod")}
    assert phases == {1, 2, 3, 4, 5}


def test_salesforce_allocation_is_computed_from_edition_and_licences() -> None:
    roadmap = parse_roadmap(copy.deepcopy(EXAMPLE))
    org = roadmap.system("salesforce").salesforce
    assert org is not None
    # Enterprise: 100,000 + 250 licences x 1,000
    assert org.allocation == 350_000


def test_unknown_system_is_named_with_the_known_ones() -> None:
    problem = only_problem(lambda d: integration(d, "quote-to-order").update(target="sap"))
    assert problem.loc == f"integrations[{index_of(EXAMPLE, 'quote-to-order')}].target"
    assert "unknown system 'sap'" in problem.msg and "netsuite" in problem.msg


def test_unknown_object_is_reported_at_its_position() -> None:
    problem = only_problem(
        lambda d: integration(d, "order-to-invoice")["objects"].append("return-authorisation")
    )
    assert problem.loc == f"integrations[{index_of(EXAMPLE, 'order-to-invoice')}].objects[1]"
    assert "unknown object 'return-authorisation'" in problem.msg


def test_duplicate_integration_names_are_rejected() -> None:
    def duplicate(d: dict[str, Any]) -> None:
        clone = copy.deepcopy(integration(d, "warehouse-export"))
        d["integrations"].append(clone)

    problems = problems_after(duplicate)
    last = len(EXAMPLE["integrations"])
    assert (
        Problem(
            f"integrations[{last}].name",
            f"'warehouse-export' is already used by "
            f"integrations[{index_of(EXAMPLE, 'warehouse-export')}]; names must be unique",
        )
        in problems
    )


def test_names_must_be_usable_as_aws_resource_names() -> None:
    problem = only_problem(lambda d: d["systems"][1].update(name="NetSuite ERP"))
    assert problem.loc == "systems[1].name"
    assert problem.msg == (
        "'NetSuite ERP' is not allowed: use 3-32 lower-case letters, digits or hyphens, "
        "starting with a letter and ending with a letter or digit; for example 'netsuite-erp'"
    )


def test_two_owners_for_one_object_are_rejected() -> None:
    def second_owner(d: dict[str, Any]) -> None:
        d["objects"].append({"name": "invoice", "owner": "xero"})

    problems = problems_after(second_owner)
    assert any(
        p.loc == f"objects[{len(EXAMPLE['objects'])}].name" and "already used" in p.msg
        for p in problems
    )


def test_writing_an_object_the_source_does_not_own_needs_a_conflict_rule() -> None:
    # ERP pushing whole accounts into Salesforce: Salesforce owns accounts.
    problems = problems_after(
        lambda d: integration(d, "credit-status-to-crm").pop("field_mappings")
    )
    loc = f"integrations[{index_of(EXAMPLE, 'credit-status-to-crm')}].objects[0]"
    ownership = [p for p in problems if p.loc == loc and "owns it" in p.msg]
    assert len(ownership) == 1
    assert "'salesforce' owns it" in ownership[0].msg and "conflict_rule" in ownership[0].msg


def test_per_field_owner_allows_writing_only_that_field() -> None:
    def also_write_name(d: dict[str, Any]) -> None:
        integration(d, "credit-status-to-crm")["field_mappings"][0]["fields"]["companyName"] = (
            "Name"
        )

    problem = only_problem(also_write_name)
    assert "field account.Name" in problem.msg


def test_conflict_rule_covering_the_field_allows_the_write() -> None:
    def with_rule(d: dict[str, Any]) -> None:
        integ = integration(d, "credit-status-to-crm")
        integ["field_mappings"][0]["fields"]["companyName"] = "Name"
        integ["conflict_rule"] = {"strategy": "target_wins", "fields": ["Name"]}

    data = copy.deepcopy(EXAMPLE)
    with_rule(data)
    parse_roadmap(data)


def test_two_writers_of_one_field_into_one_system_need_a_conflict_rule() -> None:
    def second_writer(d: dict[str, Any]) -> None:
        integ = integration(d, "support-health-to-crm")
        integ["field_mappings"][0]["fields"]["creditFlag"] = "Credit_Status__c"
        integ["conflict_rule"] = {"strategy": "source_wins", "fields": ["Health_Score__c"]}

    problems = problems_after(second_writer)
    messages = " | ".join(p.msg for p in problems)
    assert (
        "both 'credit-status-to-crm' and 'support-health-to-crm' write account.Credit_Status__c"
        in messages
    )


def test_bidirectional_flow_requires_a_conflict_rule() -> None:
    problems = problems_after(lambda d: integration(d, "campaign-sync").pop("conflict_rule"))
    loc = f"integrations[{index_of(EXAMPLE, 'campaign-sync')}].conflict_rule"
    assert any(p.loc == loc and "bidirectional" in p.msg for p in problems)


def test_phase_may_not_rise_from_dev_to_prod() -> None:
    problem = only_problem(
        lambda d: integration(d, "quote-to-order").update(
            phases={"dev": 3, "staging": 4, "prod": 3}
        )
    )
    assert problem.loc == f"integrations[{index_of(EXAMPLE, 'quote-to-order')}].phases.staging"
    assert "phase 4 in staging is ahead of phase 3 in dev" in problem.msg


def test_phase_outside_one_to_five_is_rejected_with_the_value() -> None:
    problem = only_problem(lambda d: integration(d, "warehouse-export")["phases"].update(prod=6))
    assert problem.loc.endswith(".phases.prod")
    assert problem.msg == "must be at most 5; got 6, change it to 5 or less"


def test_salesforce_api_budget_respects_headroom() -> None:
    def blow_budget(d: dict[str, Any]) -> None:
        # credit-status-to-crm writes Salesforce as it happens, a collection call per batch:
        # at 300,000 records a day its 30 s batches hold about 104 records each.
        levels = integration(d, "credit-status-to-crm")["service_levels"]
        levels["expected_records_per_day"] = 300_000
        # campaign-sync goes through middleware: a call per record.
        integration(d, "campaign-sync")["service_levels"]["expected_records_per_day"] = 280_000

    problem = only_problem(blow_budget)
    assert problem.loc == "systems[0].salesforce"
    # 350,000 allocation minus 20% headroom = 280,000
    assert "allows 280,000" in problem.msg
    assert "campaign-sync 280,000" in problem.msg
    assert "credit-status-to-crm 2,880" in problem.msg


def test_batch_integration_without_schedule_is_rejected() -> None:
    problem = only_problem(lambda d: integration(d, "order-to-invoice").pop("schedule"))
    assert problem.loc == f"integrations[{index_of(EXAMPLE, 'order-to-invoice')}].schedule"
    assert "rate(1 hour)" in problem.msg


def test_malformed_schedule_is_explained() -> None:
    problem = only_problem(
        lambda d: integration(d, "order-to-invoice").update(schedule="every 5 min")
    )
    assert "not an EventBridge schedule" in problem.msg


def test_ordered_event_driven_flow_is_flagged_for_fifo() -> None:
    roadmap = parse_roadmap(copy.deepcopy(EXAMPLE))
    assert roadmap.integration("quote-to-order").fifo
    assert not roadmap.integration("inventory-to-promise").fifo


def test_rotation_days_out_of_range_names_the_credential() -> None:
    def too_slow(d: dict[str, Any]) -> None:
        integration(d, "lead-to-account")["credentials"][0]["rotation_days"] = 400

    problem = only_problem(too_slow)
    assert (
        problem.loc
        == f"integrations[{index_of(EXAMPLE, 'lead-to-account')}].credentials[0].rotation_days"
    )
    assert problem.render().startswith("roadmap.yaml: integrations[")


def test_source_ranges_must_be_cidrs() -> None:
    def bad_cidr(d: dict[str, Any]) -> None:
        integration(d, "lead-to-account")["credentials"][0]["source_ranges"] = ["192.28.144.0/33"]

    problem = only_problem(bad_cidr)
    assert problem.loc.endswith("credentials[0].source_ranges")
    assert "not a CIDR range" in problem.msg


def test_unknown_key_is_reported_as_a_typo() -> None:
    problem = only_problem(lambda d: integration(d, "quote-to-order").update(runbok="x"))
    assert problem.loc.endswith(".runbok")
    assert "unknown key" in problem.msg


def test_salesforce_jwt_credential_must_point_at_salesforce() -> None:
    def wrong_kind(d: dict[str, Any]) -> None:
        integration(d, "order-to-invoice")["credentials"][1]["kind"] = "salesforce_jwt_bearer"

    problem = only_problem(wrong_kind)
    assert problem.loc.endswith("credentials[1].kind")
    assert "needs a Salesforce system" in problem.msg


def test_queued_flow_that_syncs_must_map_every_object() -> None:
    problem = only_problem(lambda d: integration(d, "inventory-to-promise").pop("field_mappings"))
    assert problem.loc == f"integrations[{index_of(EXAMPLE, 'inventory-to-promise')}].objects[0]"
    assert "'inventory' has no field mapping" in problem.msg and "dead-lettered" in problem.msg


def test_queued_flow_in_discovery_needs_no_mapping_yet() -> None:
    data = copy.deepcopy(EXAMPLE)
    integration(data, "web-order-capture").pop("field_mappings")  # phase 1 everywhere
    parse_roadmap(data)


def test_upsert_key_must_be_fed_by_a_mapped_field() -> None:
    def drop_key(d: dict[str, Any]) -> None:
        del integration(d, "credit-status-to-crm")["field_mappings"][0]["fields"]["internalId"]

    problem = only_problem(drop_key)
    assert problem.loc.endswith("field_mappings[0].external_id")
    assert "'NetSuite_Id__c' is not a target of any mapped field" in problem.msg


@pytest.mark.parametrize("ordering", ["strict", "per_record"])
def test_ordering_on_a_scheduled_flow_is_refused_with_the_reason(ordering: str) -> None:
    problem = only_problem(lambda d: integration(d, "order-to-invoice").update(ordering=ordering))
    assert problem.loc.endswith(".ordering"), problem
    assert "batch flows cannot keep ordering" in problem.msg
    assert "latest state" in problem.msg and "use event_driven" in problem.msg


@pytest.mark.parametrize("kind", ["billing", "logistics", "platform"])
def test_billing_logistics_and_platform_systems_are_kinds_of_their_own(kind: str) -> None:
    data = copy.deepcopy(EXAMPLE)
    next(s for s in data["systems"] if s["name"] == "xero")["kind"] = kind
    assert parse_roadmap(data).system("xero").kind.value == kind


def test_webhook_signing_secret_belongs_to_the_pushing_source() -> None:
    def on_target(d: dict[str, Any]) -> None:
        integration(d, "web-order-capture")["credentials"].append(
            {
                "name": "shopify-webhook",
                "kind": "webhook_signing_secret",
                "system": "netsuite",
                "rotation_days": 30,
                "rotation": "manual",
            }
        )

    problem = only_problem(on_target)
    assert problem.loc.endswith("credentials[2].system"), problem
    assert "set system: shopify" in problem.msg


def test_kinds_that_no_api_rotates_are_known_to_the_model() -> None:
    from roadmap.integrations import CredentialKind

    manual = {k.value for k in CredentialKind if not k.rotates_by_api}
    assert manual == {"netsuite_tba", "webhook_signing_secret"}
    assert not CredentialKind.WEBHOOK_SIGNING_SECRET.calls_out
    assert CredentialKind.SNOWFLAKE_KEY_PAIR.calls_out
