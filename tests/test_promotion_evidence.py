"""Evidence in the roadmap: its form is validated, with locations as the file is written."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from roadmap_examples import EXAMPLE, problems_after

from roadmap.evidence import REQUIREMENTS, Evidence
from roadmap.io import parse_roadmap

TOMORROW = dt.date.today() + dt.timedelta(days=1)


def evidence_of(data: dict[str, Any], name: str) -> dict[int, Any]:
    integration = next(i for i in data["integrations"] if i["name"] == name)
    result: dict[int, Any] = integration["evidence"]
    return result


def test_example_evidence_is_valid_and_covers_every_phase() -> None:
    roadmap = parse_roadmap(copy.deepcopy(EXAMPLE))
    lead = roadmap.integration("lead-to-account").evidence
    assert all(not lead.missing(phase) for phase in REQUIREMENTS)
    assert lead.automation is not None and lead.automation.cycle_time is not None
    assert lead.automation.cycle_time.improved
    assert roadmap.integration("web-order-capture").evidence == Evidence()


@pytest.mark.parametrize(
    "item,value,loc,message",
    [
        (
            ("uat_signoff", "date"),
            TOMORROW,
            "evidence.3.uat_signoff.date",
            "is in the future; record the date the evidence was given",
        ),
        (
            ("uat_signoff", "date"),
            "14/03/2026",
            "evidence.3.uat_signoff.date",
            "not an ISO date; write it as YYYY-MM-DD",
        ),
        (
            ("monitoring_confirmed", "email"),
            "ian.kovacs",
            "evidence.3.monitoring_confirmed.email",
            "not an e-mail address",
        ),
        (
            ("uat_signoff", "role"),
            "",
            "evidence.3.uat_signoff.role",
            "at least 2 characters",
        ),
    ],
)
def test_sign_off_form_is_checked_at_its_location(
    item: tuple[str, str], value: Any, loc: str, message: str
) -> None:
    def mutate(data: dict[str, Any]) -> None:
        evidence_of(data, "order-to-invoice")[3][item[0]][item[1]] = value

    (problem,) = problems_after(mutate)
    assert problem.loc == f"integrations[2].{loc}"
    assert message in problem.msg


def test_links_must_be_https() -> None:
    def mutate(data: dict[str, Any]) -> None:
        evidence_of(data, "quote-to-order")[3]["rollback_plan"] = "http://wiki.example/rollback"
        evidence_of(data, "quote-to-order")[4]["support_runbook"] = "see the wiki"

    problems = problems_after(mutate)
    assert [(p.loc, p.msg.split(";")[0]) for p in problems] == [
        ("integrations[0].evidence.3.rollback_plan", "not an https link"),
        ("integrations[0].evidence.4.support_runbook", "not a URL"),
    ]


def test_approval_of_the_source_of_truth_matrix_needs_its_link() -> None:
    def mutate(data: dict[str, Any]) -> None:
        del evidence_of(data, "quote-to-order")[1]["source_of_truth_matrix"]["link"]

    (problem,) = problems_after(mutate)
    assert problem.loc == "integrations[0].evidence.1.source_of_truth_matrix.link"
    assert problem.msg == "required but missing; add it"


def test_measurement_needs_a_direction_and_numbers() -> None:
    def mutate(data: dict[str, Any]) -> None:
        cycle = evidence_of(data, "lead-to-account")[5]["cycle_time"]
        cycle["better"] = "faster"
        cycle["after"] = "much"

    problems = problems_after(mutate)
    assert {p.loc for p in problems} == {
        "integrations[1].evidence.5.cycle_time.better",
        "integrations[1].evidence.5.cycle_time.after",
    }


def test_unknown_phase_or_item_is_reported_as_a_typo() -> None:
    def mutate(data: dict[str, Any]) -> None:
        evidence_of(data, "quote-to-order")[6] = {"celebration": "yes"}
        evidence_of(data, "quote-to-order")[3]["uat_sign_off"] = {}

    problems = problems_after(mutate)
    assert {p.loc for p in problems} == {
        "integrations[0].evidence.6",
        "integrations[0].evidence.3.uat_sign_off",
    }
    assert all("unknown key" in p.msg for p in problems)


def test_evidence_can_be_recorded_piece_by_piece() -> None:
    evidence = Evidence.model_validate(
        {3: {"rollback_plan": "https://wiki.northwind.example/rollback/x"}}
    )
    assert [r.field for r in evidence.missing(3)] == [
        "uat_signoff",
        "monitoring_confirmed",
        "owner_signoff",
    ]
    assert [r.field for r in evidence.missing(1)] == ["source_of_truth_matrix"]


def test_quoted_iso_dates_and_yaml_dates_are_the_same() -> None:
    signoff = {"name": "Ana Lima", "email": "ana@northwind.example", "role": "Controller"}
    as_text = Evidence.model_validate(
        {2: {"sync_rules_signoff": {**signoff, "date": "2026-05-01"}}}
    )
    as_date = Evidence.model_validate(
        {"2": {"sync_rules_signoff": {**signoff, "date": dt.date(2026, 5, 1)}}}
    )
    assert as_text == as_date
