"""The consumer writes in collections: a batch in as few target calls as the vendor allows.

Against the Salesforce fake (sObject Collections upsert, per-record results) on 127.0.0.1,
with the consumer's real state table, DLQ and idempotency records in moto.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from test_sync_harness import (
    FakeContext,
    Queues,
    consumer_env,
    consumer_handler,
    create_secret,
    direct_event,
    emf_documents,
    lambda_sqs_event,
    metric_values,
    receive_all,
)

from contract.metrics import namespace
from integration_sync.collection_calls import calls
from provisioner.rehearsal.vendors import VendorServer
from provisioner.rehearsal.vendors.salesforce import PREFIX, SalesforceFake

INTEGRATION = "credit-status-to-crm"
NAMESPACE = namespace(INTEGRATION)
# credit-status-to-crm: NetSuite customers' credit status onto Salesforce Accounts, and
# their contacts onto Contacts, each upserted by the NetSuite id.
MAPPING = {
    "customer": {
        "external_id": "NetSuite_Id__c",
        "target_object": "Account",
        "fields": {"id": "NetSuite_Id__c", "creditStatus": "Credit_Status__c"},
    },
    "contact": {
        "external_id": "NetSuite_Id__c",
        "target_object": "Contact",
        "fields": {"id": "NetSuite_Id__c", "email": "Email"},
    },
}
COLLECTION_PATH = f"{PREFIX}/composite/sobjects/{{}}/NetSuite_Id__c"


@pytest.fixture(scope="module", name="server")
def server_fixture() -> Iterator[VendorServer]:
    with VendorServer(SalesforceFake()) as server:
        yield server


@dataclass
class Org:
    fake: SalesforceFake
    queues: Queues

    def collection_calls(self, obj: str) -> int:
        path = COLLECTION_PATH.format(obj)
        return sum(1 for method, called in self.fake.calls if (method, called) == ("PATCH", path))


@pytest.fixture(name="org")
def org_fixture(server: VendorServer, aws: None, monkeypatch: pytest.MonkeyPatch) -> Org:
    fake = server.reset("salesforce")
    assert isinstance(fake, SalesforceFake)
    secret = create_secret(f"dev-{INTEGRATION}-cred-{uuid.uuid4().hex[:6]}", fake.credential())
    queues = consumer_env(
        monkeypatch,
        integration=INTEGRATION,
        mapping=MAPPING,
        target_url=fake.base_url,
        source_system="netsuite",
        target_system="salesforce",
        target_connector="salesforce",
        target_secret_arn=secret,
    )
    return Org(fake, queues)


def change(obj: str, number: int, *, version: int | None = 1) -> dict[str, Any]:
    """A NetSuite change as JSON; without a version only its event id recognises a repeat."""
    data: dict[str, Any] = {"id": f"NS-{number}"}
    data.update(
        {"creditStatus": f"Hold {version}"}
        if obj == "customer"
        else {"email": f"ap{number}@example.com"}
    )
    body = {"object": obj, "id": f"NS-{number}", "event_id": f"ns-{obj}-{number}-v{version}"}
    return {**body, "data": data} if version is None else {**body, "version": version, "data": data}


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def test_a_batch_is_written_in_one_collection_call_per_object(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies = [change("customer", n) for n in range(7)] + [change("contact", n) for n in range(3)]

    response = consumer_handler()(direct_event(list(bodies)), FakeContext())

    assert response == {"batchItemFailures": []}
    assert (org.collection_calls("Account"), org.collection_calls("Contact")) == (1, 1)
    assert len(org.fake.stored("Account")) == 7
    assert org.fake.stored("Contact")["NS-2"]["Email"] == "ap2@example.com"
    docs = emf_documents(capsys.readouterr().out)
    assert sum(metric_values(docs, "RecordsSynced", namespace=NAMESPACE)) == 10


def test_a_record_salesforce_refuses_goes_to_the_dlq_alone_with_its_reason(org: Org) -> None:
    org.fake.reject("NS-2")
    event = direct_event([change("customer", n) for n in range(4)])
    refused = event["Records"][2]["messageId"]

    response = consumer_handler()(event, FakeContext())

    assert response == {"batchItemFailures": []}  # the refused one is safely in the DLQ
    assert org.collection_calls("Account") == 1
    assert sorted(org.fake.stored("Account")) == ["NS-0", "NS-1", "NS-3"]
    [dead] = receive_all(org.queues.dlq_url)
    attributes = dead["MessageAttributes"]
    assert attributes["source-message-id"]["StringValue"] == refused
    assert attributes["failure-reason"]["StringValue"] == "target_rejected"
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in attributes["failure-detail"]["StringValue"]


def test_a_collection_call_that_fails_retries_only_its_own_records(org: Org) -> None:
    from integration_sync.clients import DEFAULT_MAX_ATTEMPTS

    event = direct_event([change("customer", 1), change("contact", 1), change("customer", 2)])
    org.fake.throttle(DEFAULT_MAX_ATTEMPTS)  # every attempt of the first (Account) call

    response = consumer_handler()(event, FakeContext())

    records = event["Records"]
    assert failed_ids(response) == {records[0]["messageId"], records[2]["messageId"]}
    assert "NS-1" in org.fake.stored("Contact")
    assert org.fake.stored("Account") == {}
    retried = consumer_handler()({"Records": [records[0], records[2]]}, FakeContext())
    assert retried == {"batchItemFailures": []}
    assert sorted(org.fake.stored("Account")) == ["NS-1", "NS-2"]


def test_duplicates_and_stale_changes_are_skipped_record_by_record(
    org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer_handler()(
        direct_event([change("customer", 1, version=2), change("customer", 2, version=None)]),
        FakeContext(),
    )
    capsys.readouterr()
    stale, repeat, new = (
        change("customer", 1, version=1),
        change("customer", 2, version=None),
        change("customer", 3),
    )

    response = consumer_handler()(direct_event([stale, repeat, new]), FakeContext())

    assert response == {"batchItemFailures": []}
    assert org.collection_calls("Account") == 2  # the second call carries NS-3 only
    assert org.fake.stored("Account")["NS-1"]["Credit_Status__c"] == "Hold 2"
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "StaleWritesSkipped", namespace=NAMESPACE) == [1.0]
    assert metric_values(docs, "DuplicatesSkipped", namespace=NAMESPACE) == [1.0]
    assert metric_values(docs, "RecordsSynced", namespace=NAMESPACE) == [1.0]


def test_two_changes_of_one_record_in_a_batch_are_written_in_order(org: Org) -> None:
    bodies = [change("customer", 1, version=1), change("customer", 1, version=2)]

    response = consumer_handler()(direct_event(list(bodies)), FakeContext())

    assert response == {"batchItemFailures": []}
    assert org.collection_calls("Account") == 2  # never twice in one request
    assert org.fake.stored("Account")["NS-1"]["Credit_Status__c"] == "Hold 2"


def test_a_fifo_group_keeps_its_order_across_objects_when_a_call_fails(
    server: VendorServer, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration_sync.clients import DEFAULT_MAX_ATTEMPTS

    fake = server.reset("salesforce")
    queues = consumer_env(
        monkeypatch,
        integration=INTEGRATION,
        mapping=MAPPING,
        target_url=fake.base_url,
        fifo=True,
        source_system="netsuite",
        target_system="salesforce",
        target_connector="salesforce",
        target_secret_arn=create_secret("dev-fifo-cred", fake.credential()),
    )
    messages = [
        # group NS-1: its customer, then its contact; group NS-2: a contact alone
        _fifo_message(change("customer", 1), "NS-1"),
        _fifo_message(change("contact", 1), "NS-1"),
        _fifo_message(change("contact", 2), "NS-2"),
    ]
    event = lambda_sqs_event(messages, "arn:aws:sqs:eu-central-1:111111111111:q.fifo")
    fake.throttle(DEFAULT_MAX_ATTEMPTS)  # the Account call fails; the Contact call is next

    response = consumer_handler()(event, FakeContext())

    ids = [m["MessageId"] for m in messages]
    assert failed_ids(response) == {ids[0], ids[1]}  # NS-1's contact waits for its customer
    assert sorted(fake.stored("Contact")) == ["NS-2"]
    assert receive_all(queues.dlq_url) == []


def _fifo_message(body: dict[str, Any], group: str) -> dict[str, Any]:
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": f"rh-{uuid.uuid4().hex[:8]}",
        "Body": json.dumps(body),
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "MessageGroupId": group,
            "MessageDeduplicationId": uuid.uuid4().hex,
            "SequenceNumber": "1",
        },
    }


# -- the planner alone -------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    key: str
    identity: str
    lanes: tuple[str, ...]
    position: int


def test_planner_fills_calls_up_to_the_vendor_limit() -> None:
    writes = [Planned("Account", f"a{n}", (f"m{n}",), n) for n in range(450)]

    sizes = [len(batch) for batch in calls(writes, size=lambda w: 200, blocked={})]

    assert sizes == [200, 200, 50]


def test_planner_never_writes_a_later_change_of_a_lane_before_an_earlier_one() -> None:
    writes = [
        Planned("Account", "a1", ("g1",), 0),
        Planned("Contact", "c1", ("g1",), 1),  # must wait for g1's Account write
        Planned("Account", "a2", ("g1",), 2),  # behind c1 in g1: not in the first call
        Planned("Contact", "c2", ("g2",), 3),
    ]

    order = [[w.identity for w in batch] for batch in calls(writes, size=lambda w: 200, blocked={})]

    assert order == [["a1"], ["c1", "c2"], ["a2"]]


def test_planner_holds_back_a_blocked_lane_from_the_failed_position_on() -> None:
    writes = [Planned("Account", f"a{n}", ("g1",), n) for n in range(3)]
    blocked: dict[Hashable, int] = {"g1": 1}

    order = [
        [w.identity for w in batch] for batch in calls(writes, size=lambda w: 200, blocked=blocked)
    ]

    assert order == [["a0"]]
