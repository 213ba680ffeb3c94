"""Bidirectional sync: field ownership, each conflict strategy each way, echo suppression.

Campaigns flow between Marketo (the integration's source) and Salesforce (its target). The
forward direction (Marketo -> Salesforce) owns ``Name``; the reverse direction owns the
owner's e-mail; ``Status`` is covered by the conflict rule, so both directions write it and
the strategy decides when both changed it at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from test_sync_harness import (
    FakeSystem,
    consumer_env,
    create_queues,
    create_state_table,
    direct_event,
    emf_documents,
    metric_values,
    receive_all,
)

from contract import environment as var

INTEGRATION = "campaign-sync"
SALESFORCE_USER = "0055e000004XsyncAAA"  # the integration's own user in Salesforce
FORWARD_MAPPING = {
    "campaign": {
        "external_id": "Marketo_Program_Id__c",
        "source_object": "program",
        "target_object": "Campaign",
        "fields": {
            "programId": "Marketo_Program_Id__c",
            "name": "Name",
            "status": "Status",
            "budget": "Budget__c",
        },
    }
}
REVERSE_MAPPING = {
    "campaign": {
        "external_id": "programId",
        "source_object": "Campaign",
        "target_object": "program",
        "fields": {
            "Marketo_Program_Id__c": "programId",
            "Name": "name",
            "Status": "status",
            "Owner_Email__c": "ownerEmail",
        },
    }
}
RULES = {
    "forward": {"campaign": {"own": ["Name"], "contested": ["Status"]}},
    "reverse": {"campaign": {"own": ["ownerEmail"], "contested": ["status"]}},
}


def _policy(direction: str, strategy: str) -> dict[str, Any]:
    return {
        "direction": direction,
        "strategy": strategy,
        "objects": RULES[direction],
        "echo_authors": [SALESFORCE_USER] if direction == "reverse" else [],
    }


def _marketo_change(program: str, *, at: float, **data: Any) -> dict[str, Any]:
    return {
        "object": "program",
        "event_id": f"mkto-{program}-{at}",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "id": program,
        "data": {"programId": program, **data},
    }


def _salesforce_change(
    program: str, *, at: float, author: str = "0055e0000042hUmAN", **data: Any
) -> Any:
    return {
        "payload": {
            "ChangeEventHeader": {
                "entityName": "Campaign",
                "recordIds": ["7015e000001CAMPAA"],
                "changeType": "UPDATE",
                "transactionKey": f"txn-{program}-{at}",
                "sequenceNumber": 1,
                "commitTimestamp": int(at * 1000),
                "commitUser": author,
                "changedFields": sorted(data),
            },
            "Marketo_Program_Id__c": program,
            **data,
        }
    }


# ----------------------------------------------------------------- the resolver, each way


@pytest.fixture
def state(aws: None) -> dict[str, str]:
    queues = create_queues("dev-campaign-sync-review")
    return {"table": create_state_table("dev-campaign-sync-state"), "review": queues.url}


def _resolver(state: dict[str, str], direction: str, strategy: str) -> Any:
    from integration_sync.config import parse_field_mapping
    from integration_sync.conflict import ConflictPolicy, ConflictResolver

    mapping = FORWARD_MAPPING if direction == "forward" else REVERSE_MAPPING
    policy = ConflictPolicy.parse(json.dumps(_policy(direction, strategy)))
    assert policy is not None
    return ConflictResolver(
        policy,
        parse_field_mapping(json.dumps(mapping)),
        state["table"],
        review_queue_url=state["review"],
    )


def _through(resolver: Any, body: dict[str, Any], direction: str) -> Any:
    """Run one change through the gate with a successful write; return the decision."""
    from integration_sync.config import parse_field_mapping
    from integration_sync.envelope import parse_body
    from integration_sync.mapping import to_target_write

    mapping = FORWARD_MAPPING if direction == "forward" else REVERSE_MAPPING
    [change] = parse_body(json.dumps(body))
    write = to_target_write(change, parse_field_mapping(json.dumps(mapping)))
    with resolver.gate(change, write, json.dumps(body)) as decision:
        return decision


def _concurrent_edits(state: dict[str, str], strategy: str, first: str) -> tuple[Any, Any]:
    """Both sides change Status at about the same time; ``first`` is applied first.

    The second change happened before the first was applied into its source, so neither
    side saw the other's edit: a conflict. Returns (first decision, second decision).
    """
    now = time.time()
    marketo = _marketo_change("1042", at=now - 60, status="On Hold")
    salesforce = _salesforce_change("1042", at=now - 30, Status="Completed")
    second = "reverse" if first == "forward" else "forward"
    bodies = {"forward": marketo, "reverse": salesforce}
    a = _through(_resolver(state, first, strategy), bodies[first], first)
    b = _through(_resolver(state, second, strategy), bodies[second], second)
    return a, b


@pytest.mark.parametrize(
    ("strategy", "first", "second_outcome", "second_writes_status"),
    [
        ("source_wins", "forward", "conflict-lost", False),  # Salesforce's edit loses
        ("source_wins", "reverse", "conflict-won", True),  # Marketo's edit overrides
        ("target_wins", "forward", "conflict-won", True),
        ("target_wins", "reverse", "conflict-lost", False),
        ("last_writer_wins", "forward", "conflict-won", True),  # Salesforce's is later
        ("last_writer_wins", "reverse", "conflict-lost", False),  # Marketo's is older
    ],
)
def test_concurrent_edit_of_a_contested_field_is_settled_by_the_strategy(
    state: dict[str, str],
    strategy: str,
    first: str,
    second_outcome: str,
    second_writes_status: bool,
) -> None:
    applied, decision = _concurrent_edits(state, strategy, first)

    assert applied.outcome == "write"
    assert decision.outcome == second_outcome, decision
    field = "status" if first == "forward" else "Status"
    written = decision.write.body if decision.write else {}
    assert (field in written) is second_writes_status, decision


def test_manual_review_parks_the_change_with_its_original_message(state: dict[str, str]) -> None:
    _, decision = _concurrent_edits(state, "manual_review", "forward")

    assert decision.outcome == "parked" and decision.write is None, decision
    [parked] = receive_all(state["review"])
    assert json.loads(parked["Body"])["payload"]["Status"] == "Completed"
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert attributes["failure-reason"] == "conflict_review"
    assert attributes["conflict-record"] == "Campaign/1042"
    assert "changed on both sides" in attributes["failure-detail"]


def test_a_change_made_after_the_other_write_arrived_is_no_conflict(state: dict[str, str]) -> None:
    now = time.time()
    _through(
        _resolver(state, "forward", "source_wins"),
        _marketo_change("1042", at=now - 60, status="On Hold"),
        "forward",
    )
    later = _salesforce_change("1042", at=now + 5, Status="Completed")

    decision = _through(_resolver(state, "reverse", "source_wins"), later, "reverse")

    assert decision.outcome == "write" and decision.write.body == {"status": "Completed"}


def test_nothing_is_recorded_or_parked_when_the_write_fails(state: dict[str, str]) -> None:
    from integration_sync.config import parse_field_mapping
    from integration_sync.envelope import parse_body
    from integration_sync.mapping import to_target_write

    _concurrent_edits(state, "manual_review", "reverse")  # Salesforce's edit applied first
    receive_all(state["review"])  # nothing parked yet: the first change was written whole
    body = _marketo_change("1042", at=time.time() - 90, status="On Hold", name="Spring launch")
    [change] = parse_body(json.dumps(body))
    write = to_target_write(change, parse_field_mapping(json.dumps(FORWARD_MAPPING)))

    resolver = _resolver(state, "forward", "manual_review")
    with pytest.raises(ConnectionError), resolver.gate(change, write, "{}") as decision:
        assert decision.outcome == "parked"
        assert decision.write.body == {"Name": "Spring launch"}
        raise ConnectionError("target unreachable")

    assert receive_all(state["review"]) == []


# ----------------------------------------------------------------- in the consumer


@pytest.fixture
def targets(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Salesforce and Marketo fakes; the consumer env is switched per direction."""
    salesforce, marketo = fake_system(), fake_system()
    queues = consumer_env(
        monkeypatch,
        integration=INTEGRATION,
        mapping=FORWARD_MAPPING,
        target_url=salesforce.url,
        source_system="marketo",
        target_system="salesforce",
    )

    def direction(name: str, strategy: str = "last_writer_wins") -> Callable[..., Any]:
        from integration_sync.consumer import handler

        forward = name == "forward"
        monkeypatch.setenv(
            var.FIELD_MAPPING, json.dumps(FORWARD_MAPPING if forward else REVERSE_MAPPING)
        )
        monkeypatch.setenv(var.TARGET_BASE_URL, salesforce.url if forward else marketo.url)
        monkeypatch.setenv(var.CONFLICT, json.dumps(_policy(name, strategy)))
        return handler

    return {"salesforce": salesforce, "marketo": marketo, "queues": queues, "direction": direction}


def test_consumer_writes_only_the_fields_its_direction_owns_or_shares(
    targets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    handler = targets["direction"]("forward")
    change = _marketo_change(
        "1042", at=time.time(), name="Spring launch", status="Active", budget=5
    )

    response = handler(direct_event([change]), None)

    assert response == {"batchItemFailures": []}
    # Budget__c is Salesforce's own field: Marketo's value is never written over it.
    assert targets["salesforce"].writes == [
        ("Campaign", "1042", {"Name": "Spring launch", "Status": "Active"})
    ]
    assert metric_values(emf_documents(capsys.readouterr().out), "ConflictsResolved") == [1]


def test_consumer_does_not_send_its_own_write_back(
    targets: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    targets["direction"]("forward")(
        direct_event([_marketo_change("1042", at=now - 5, name="Spring launch", status="Active")]),
        None,
    )
    reverse = targets["direction"]("reverse")
    # Salesforce's change event for what the forward direction just wrote, seen by the reverse
    # consumer: once with another user as author (values match), once as the integration user.
    echo_by_values = _salesforce_change("1042", at=now, Name="Spring launch", Status="Active")
    echo_by_author = _salesforce_change(
        "1042", at=now + 1, author=SALESFORCE_USER, Status="Cancelled"
    )
    real_edit = _salesforce_change("1042", at=now + 2, Status="Completed")

    response = reverse(direct_event([echo_by_values, echo_by_author, real_edit]), None)

    assert response == {"batchItemFailures": []}
    assert targets["marketo"].writes == [("program", "1042", {"status": "Completed"})]
    assert sum(metric_values(emf_documents(capsys.readouterr().out), "EchoesSuppressed")) == 2


# ----------------------------------------------------------------- what the program passes


def test_program_gives_a_bidirectional_consumer_its_side_of_the_conflict_rule() -> None:
    import copy

    from roadmap_examples import EXAMPLE

    from roadmap.io import parse_roadmap

    data = copy.deepcopy(EXAMPLE)
    campaign = next(o for o in data["objects"] if o["name"] == "campaign")
    campaign["field_owners"] = {"Status": "salesforce"}  # Salesforce runs campaign status
    sync = next(i for i in data["integrations"] if i["name"] == "campaign-sync")
    sync["conflict_rule"] = {
        "strategy": "last_writer_wins",
        # The roadmap checks both directions' writes of the mapped fields against ownership.
        "fields": ["Marketo_Program_Id__c", "Name", "Status"],
        "own_users": {"marketo": "mkto-api-user-7", "salesforce": SALESFORCE_USER},
    }
    roadmap = parse_roadmap(data)

    contract = roadmap.integration("campaign-sync").conflict_contract(roadmap)

    assert contract == {
        "direction": "forward",
        "strategy": "last_writer_wins",
        "objects": {"campaign": {"own": ["Name"], "contested": ["Status"]}},
        "echo_authors": ["mkto-api-user-7"],
    }
    assert roadmap.integration("quote-to-order").conflict_contract(roadmap) is None
