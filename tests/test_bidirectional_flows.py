"""A bidirectional flow provisioned both ways: its second direction, alarms, pack and rules.

Campaigns between Marketo (the integration's source) and Salesforce (its target), in sync
at phase 3 in dev, with a `manual_review` rule so the review queue is provisioned too. The
real program runs once for the module; the pack reads that plan through its gRPC harness.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from roadmap_examples import EXAMPLE, problems_after

from contract.phases import required_alarms
from provisioner.cli import main
from provisioner.policy_harness import PolicyHarness, Violation, stack_config
from provisioner.program import run_program
from provisioner.records import ProgramRun, RecordedResource
from roadmap.io import parse_roadmap

NAME = "campaign-sync"
SALESFORCE_USER = "0055e000004XsyncAAA"
MARKETO_USER = "mkto-api-user-7"


def _both_ways(data: dict[str, Any]) -> dict[str, Any]:
    sync = next(i for i in data["integrations"] if i["name"] == NAME)
    sync["phases"] = {"dev": 3, "staging": 1, "prod": 1}
    sync["conflict_rule"] = {
        "strategy": "manual_review",
        "own_users": {"marketo": MARKETO_USER, "salesforce": SALESFORCE_USER},
    }
    sync["field_mappings"] = [
        {
            "object": "campaign",
            "api_name": "program",
            "target_api_name": "Campaign",
            "external_id": "Marketo_Program_Id__c",
            "fields": {"programId": "Marketo_Program_Id__c", "name": "Name", "status": "Status"},
        }
    ]
    return data


@pytest.fixture(scope="module")
def roadmap_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("both-ways") / "roadmap.yaml"
    path.write_text(yaml.safe_dump(_both_ways(copy.deepcopy(EXAMPLE)), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run(roadmap_file: Path) -> ProgramRun:
    return run_program("dev", roadmap=roadmap_file)


def _named(run: ProgramRun, name: str) -> RecordedResource:
    """The AWS resource (not the component of the same name) called `name`."""
    return next(r for r in run.resources if r.name == name and r.type.startswith("aws:"))


def _env(run: ProgramRun, role: str) -> dict[str, str]:
    variables: dict[str, str] = _named(run, f"{NAME}-{role}").inputs["environment"]["variables"]
    return variables


def test_reverse_direction_has_its_own_queue_dlq_and_consumer_under_one_role_and_key(
    run: ProgramRun,
) -> None:
    forward, reverse = _named(run, f"{NAME}-consumer"), _named(run, f"{NAME}-reverse-consumer")
    queue, dlq = _named(run, f"{NAME}-reverse-queue"), _named(run, f"{NAME}-reverse-dlq")
    trigger = _named(run, f"{NAME}-reverse-consumer-trigger")

    assert reverse.inputs["name"] == f"dev-{NAME}-reverse-consumer"
    assert reverse.inputs["handler"] == forward.inputs["handler"]
    # One integration: the same service account and key, the same owner and phase tags.
    assert reverse.inputs["role"] == forward.inputs["role"]
    assert (
        reverse.inputs["kmsKeyArn"] == forward.inputs["kmsKeyArn"] == queue.inputs["kmsMasterKeyId"]
    )
    assert reverse.inputs["tags"] == forward.inputs["tags"]
    assert trigger.inputs["eventSourceArn"] == queue.outputs["arn"]
    assert json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"] == dlq.outputs["arn"]
    logs = _named(run, f"{NAME}-reverse-consumer-logs").inputs
    assert logs["name"] == f"/aws/lambda/dev-{NAME}-reverse-consumer"


def test_reverse_consumer_reads_the_target_and_writes_the_source_with_the_inverted_mapping(
    run: ProgramRun,
) -> None:
    forward, reverse = _env(run, "consumer"), _env(run, "reverse-consumer")

    assert (reverse["SOURCE_SYSTEM"], reverse["TARGET_SYSTEM"]) == ("salesforce", "marketo")
    assert reverse["TARGET_BASE_URL"] == forward["SOURCE_BASE_URL"]
    assert reverse["TARGET_CREDENTIAL_SECRET_ARN"] == forward["SOURCE_CREDENTIAL_SECRET_ARN"]
    assert json.loads(reverse["FIELD_MAPPING"]) == {
        "campaign": {
            "external_id": "programId",
            "fields": {"Marketo_Program_Id__c": "programId", "Name": "name", "Status": "status"},
            "source_object": "Campaign",
            "target_object": "program",
        }
    }
    # Marketo owns campaigns: the forward direction writes its fields alone, the reverse
    # direction writes none of them unless the rule covers them (it covers every field).
    assert json.loads(reverse["CONFLICT"]) == {
        "direction": "reverse",
        "strategy": "manual_review",
        "objects": {"campaign": {"own": [], "contested": ["name", "status"]}},
        "echo_authors": [SALESFORCE_USER],
    }
    assert json.loads(forward["CONFLICT"])["echo_authors"] == [MARKETO_USER]
    assert reverse["QUEUE_URL"].endswith(f"dev-{NAME}-reverse-queue")
    assert reverse["DLQ_URL"].endswith(f"dev-{NAME}-reverse-dlq")
    # Both directions park contested changes in the one review queue.
    assert reverse["REVIEW_QUEUE_URL"] == forward["REVIEW_QUEUE_URL"]
    assert forward["REVIEW_QUEUE_URL"].endswith(f"dev-{NAME}-review")


def test_every_alarm_the_phase_requires_exists_for_both_directions_and_the_review_queue(
    run: ProgramRun,
) -> None:
    topic = _named(run, f"{NAME}-alerts").outputs["arn"]
    watched = {"forward": f"dev-{NAME}-", "reverse": f"dev-{NAME}-reverse-"}
    for alarm in required_alarms(3, reverse=True, review=True):
        resource = _named(run, f"{NAME}-{alarm.role}")
        assert resource.inputs["tags"]["alarm"] == alarm.kind
        if alarm.kind == "rotation-failure":
            continue
        assert resource.inputs["alarmActions"] == [topic]
        [name] = resource.inputs["dimensions"].values()
        direction = "reverse" if "-reverse-" in alarm.role else "forward"
        assert name.startswith(watched[direction]), (alarm.role, name)
        assert ("reverse" in name) == (direction == "reverse"), (alarm.role, name)
    assert _named(run, f"{NAME}-alarm-review-depth").inputs["dimensions"] == {
        "QueueName": f"dev-{NAME}-review"
    }


def _drop(*names: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda plan: [r for r in plan if r["name"] not in names]


CASES = [
    (_drop(f"{NAME}-alarm-reverse-dlq-depth"), "'dlq-depth' alarm (alarm-reverse-dlq-depth)"),
    (_drop(f"{NAME}-alarm-reverse-errors"), "'errors' alarm (alarm-reverse-errors)"),
    (_drop(f"{NAME}-alarm-review-depth"), "'review-depth' alarm"),
    (_drop(f"{NAME}-reverse-consumer"), "the reverse direction's consumer"),
    (_drop(f"{NAME}-reverse-queue", f"{NAME}-reverse-queue-policy"), "reverse direction's source"),
    (_drop(f"{NAME}-review", f"{NAME}-review-policy"), "a review queue"),
]


@pytest.fixture(scope="module")
def verdicts(run: ProgramRun) -> list[list[Violation]]:
    plan = [{**r.to_json(), "options": dict(r.options)} for r in run.resources]
    with PolicyHarness(stack="dev", config=stack_config("dev")) as pack:
        clean = pack.check(copy.deepcopy(plan)).violations
        return [clean] + [pack.analyze_stack(m(copy.deepcopy(plan))) for m, _ in CASES]


def test_pack_accepts_both_directions_as_the_integrations_own(
    verdicts: list[list[Violation]],
) -> None:
    assert verdicts[0] == []


@pytest.mark.parametrize(("index", "fragment"), [(i + 1, c[1]) for i, c in enumerate(CASES)])
def test_pack_requires_what_the_second_direction_needs(
    verdicts: list[list[Violation]], index: int, fragment: str
) -> None:
    found = [v.message for v in verdicts[index] if v.policy == "phase-requirements"]
    assert [m for m in found if fragment in m and f"[{NAME}]" in m], found


# ------------------------------------------------------------------ what the commands show


def test_plan_and_check_show_both_directions(
    roadmap_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--stack", "dev", "--roadmap", str(roadmap_file), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    flows = {i["name"]: i["flows"] for i in doc["integrations"]}
    assert flows[NAME] == [
        {"direction": "forward", "source": "marketo", "target": "salesforce"},
        {"direction": "reverse", "source": "salesforce", "target": "marketo"},
    ]
    assert flows["quote-to-order"] == [
        {"direction": "forward", "source": "salesforce", "target": "netsuite"}
    ]

    assert main(["check", "--stack", "dev", "--roadmap", str(roadmap_file)]) == 0
    out = capsys.readouterr().out
    assert f"checked both ways (forward and reverse): {NAME}\n" in out


def test_report_names_both_directions_once_the_way_back_runs() -> None:
    from provisioner.report.model import direction_label

    roadmap = parse_roadmap(_both_ways(copy.deepcopy(EXAMPLE)))

    assert direction_label(roadmap.integration(NAME), "dev") == (
        "both ways: marketo -> salesforce, salesforce -> marketo"
    )
    assert direction_label(roadmap.integration(NAME), "prod") == (
        "both ways (one way until phase 3)"
    )
    assert direction_label(roadmap.integration("quote-to-order"), "dev") == "one way"


def test_cost_prices_the_way_back_at_the_flows_volume(run: ProgramRun) -> None:
    from provisioner.prices import DAYS_PER_MONTH
    from provisioner.pricing import integration_cost

    integ = parse_roadmap(_both_ways(copy.deepcopy(EXAMPLE))).integration(NAME)
    mine = [r for r in run.resources if run.integration_of(r) == NAME]
    forward = [r for r in mine if "reverse" not in r.name]

    def quantities(resources: list[RecordedResource]) -> dict[str, float]:
        return {
            line.item: line.quantity
            for line in integration_cost(integ, resources, "eu-west-1").lines
        }

    both, one_way = quantities(mine), quantities(forward)
    records = integ.service_levels.expected_records_per_day * DAYS_PER_MONTH
    assert both["lambda-requests"] - one_way["lambda-requests"] == pytest.approx(records)
    assert both["sqs-requests"] == pytest.approx(2 * one_way["sqs-requests"])
    assert both["dynamodb-writes"] == pytest.approx(2 * one_way["dynamodb-writes"])
    assert both["alarm"] - one_way["alarm"] == 4  # the way back's DLQ, age, errors, throttles


# ------------------------------------------------------------------ the roadmap's rules


def test_a_scheduled_flow_cannot_run_both_ways() -> None:
    def mutate(data: dict[str, Any]) -> None:
        sync = next(i for i in data["integrations"] if i["name"] == "order-to-invoice")
        sync["direction"] = "bidirectional"
        sync["conflict_rule"] = {"strategy": "source_wins"}

    problems = problems_after(mutate)

    index = [i["name"] for i in EXAMPLE["integrations"]].index("order-to-invoice")
    [problem] = [p for p in problems if p.loc == f"integrations[{index}].direction"]
    assert "batch flows run one way" in problem.msg and "queued pattern" in problem.msg


def test_the_reverse_mapping_is_the_forward_one_inverted() -> None:
    roadmap = parse_roadmap(_both_ways(copy.deepcopy(EXAMPLE)))
    integ = roadmap.integration(NAME)

    forward, reverse = integ.field_mapping("forward"), integ.field_mapping("reverse")

    for obj, spec in forward.items():
        back = reverse[obj]
        assert {t: s for s, t in spec["fields"].items()} == back["fields"]
        assert back["fields"][spec["external_id"]] == back["external_id"]
        assert (back["source_object"], back["target_object"]) == (
            spec["target_object"],
            spec["source_object"],
        )


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"programId": "Marketo_Program_Id__c", "meta.name": "Name"}, "a part of a source"),
        (
            {"programId": "Marketo_Program_Id__c", "name": "Name", "title": "Name"},
            "also mapped from 'name'",
        ),
    ],
)
def test_a_bidirectional_mapping_must_be_invertible(fields: dict[str, str], fragment: str) -> None:
    def mutate(data: dict[str, Any]) -> None:
        _both_ways(data)
        sync = next(i for i in data["integrations"] if i["name"] == NAME)
        sync["field_mappings"][0]["fields"] = fields

    problems = problems_after(mutate)

    hits = [p for p in problems if fragment in p.msg]
    assert hits and all(".field_mappings[0].fields." in p.loc for p in hits), problems
