"""The SQS consumer: retries only what can succeed, dead-letters what cannot, skips repeats."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest
from test_sync_harness import (
    FakeContext,
    FakeSystem,
    Queues,
    consumer_env,
    consumer_handler,
    create_secret,
    direct_event,
    drive_queue,
    emf_documents,
    metric_values,
    receive_all,
)

from bench.sync import order_change_event
from contract import environment as var
from contract.metrics import namespace

INTEGRATION = "quote-to-order"
NAMESPACE = namespace(INTEGRATION)


def _queues(system: FakeSystem) -> Queues:
    assert system.queues is not None
    return system.queues


def test_order_change_event_is_upserted_by_external_id(
    netsuite: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    event = direct_event(
        [order_change_event("8015e000000ABCDAA2", status="Activated", order_number="00000107")]
    )

    response = consumer_handler()(event, FakeContext())

    assert response == {"batchItemFailures": []}
    assert netsuite.written("order") == {
        "8015e000000ABCDAA2": {
            "externalId": "8015e000000ABCDAA2",
            "tranId": "00000107",
            "tranDate": "2024-05-02",
            "orderStatus": "Activated",
        }
    }
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "RecordsSynced", namespace=NAMESPACE) == [1.0]
    assert metric_values(docs, "ApiCallsUsed", namespace=NAMESPACE) == [1.0]
    assert all(doc["service"] == INTEGRATION for doc in docs)
    assert 0 <= metric_values(docs, "SyncLagSeconds")[0] < 60


def test_one_bad_record_in_a_batch_retries_only_that_record(netsuite: FakeSystem) -> None:
    netsuite.fail_record("8015e000000BAD0AAA", 503)
    ids = ["8015e000000GOOD1AA", "8015e000000BAD0AAA", "8015e000000GOOD2AA"]
    event = direct_event([order_change_event(i) for i in ids])
    bad_message_id = event["Records"][1]["messageId"]

    response = consumer_handler()(event, FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": bad_message_id}]}
    assert sorted(netsuite.written("order")) == ["8015e000000GOOD1AA", "8015e000000GOOD2AA"]


def test_retried_record_succeeds_once_the_target_recovers(netsuite: FakeSystem) -> None:
    netsuite.fail_record("8015e000000FLAKYAA", 500, times=4)  # one invocation's 4 attempts
    event = direct_event([order_change_event("8015e000000FLAKYAA")])

    first = consumer_handler()(event, FakeContext())
    second = consumer_handler()(event, FakeContext())

    assert len(first["batchItemFailures"]) == 1
    assert second == {"batchItemFailures": []}
    assert "8015e000000FLAKYAA" in netsuite.written("order")


def test_schema_mismatch_goes_to_dlq_at_once_with_reason(
    netsuite: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    # An Opportunity change arriving on the quote-to-order queue: no mapping for it.
    event = order_change_event("0065e00000B2xYzAAJ")
    event["detail"]["payload"]["ChangeEventHeader"]["entityName"] = "Opportunity"
    lambda_event = direct_event([event])

    response = consumer_handler()(lambda_event, FakeContext())

    assert response == {"batchItemFailures": []}  # handled: it is safely in the DLQ
    [dead] = receive_all(_queues(netsuite).dlq_url)
    assert json.loads(dead["Body"]) == event
    attributes = dead["MessageAttributes"]
    assert attributes["failure-reason"]["StringValue"] == "schema_mismatch"
    assert "Opportunity" in attributes["failure-detail"]["StringValue"]
    assert attributes["source-message-id"]["StringValue"] == lambda_event["Records"][0]["messageId"]
    assert netsuite.requests == []
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "SchemaMismatches") == [1.0]
    assert metric_values(docs, "RecordsFailed") == [1.0]


def test_compound_field_mapped_as_scalar_is_a_schema_mismatch(netsuite: FakeSystem) -> None:
    event = order_change_event("8015e000000CMPDAAQ", extra={"Status": {"value": "Activated"}})

    consumer_handler()(direct_event([event]), FakeContext())

    [dead] = receive_all(_queues(netsuite).dlq_url)
    assert dead["MessageAttributes"]["failure-reason"]["StringValue"] == "schema_mismatch"


def test_body_that_is_not_json_goes_to_dlq_as_validation_failure(netsuite: FakeSystem) -> None:
    response = consumer_handler()(
        direct_event(["<soapenv:Envelope>not json</soapenv:Envelope>"]), FakeContext()
    )

    assert response == {"batchItemFailures": []}
    [dead] = receive_all(_queues(netsuite).dlq_url)
    assert dead["MessageAttributes"]["failure-reason"]["StringValue"] == "validation"


def test_record_the_target_rejects_goes_to_dlq_at_once(netsuite: FakeSystem) -> None:
    netsuite.fail_record("8015e000000REJCTAA", 422)

    response = consumer_handler()(
        direct_event([order_change_event("8015e000000REJCTAA")]), FakeContext()
    )

    assert response == {"batchItemFailures": []}
    [dead] = receive_all(_queues(netsuite).dlq_url)
    assert dead["MessageAttributes"]["failure-reason"]["StringValue"] == "target_rejected"
    assert len(netsuite.requests) == 1  # permanent: not retried


def test_permanent_failure_is_not_acknowledged_when_the_dlq_send_fails(
    netsuite: FakeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var.DLQ_URL, _queues(netsuite).dlq_url.replace("-dlq", "-missing-dlq"))
    event = direct_event(["not json"])

    response = consumer_handler()(event, FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_duplicate_delivery_changes_nothing(
    netsuite: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    change = order_change_event(
        "8015e000000DUPL1AA", transaction_key="0004f1c7-7d3e-a8e2-dupl", sequence=3
    )
    consumer_handler()(direct_event([change]), FakeContext())
    netsuite.records["order"]["8015e000000DUPL1AA"]["orderStatus"] = (
        "Billed"  # edited in NetSuite since
    )

    # The same event again, as a new SQS message (at-least-once delivery, or a relay retry).
    response = consumer_handler()(direct_event([change]), FakeContext())

    assert response == {"batchItemFailures": []}
    assert netsuite.write_count("order", "8015e000000DUPL1AA") == 1
    assert netsuite.records["order"]["8015e000000DUPL1AA"]["orderStatus"] == "Billed"
    docs = emf_documents(capsys.readouterr().out)
    assert metric_values(docs, "DuplicatesSkipped") == [1.0]
    assert metric_values(docs, "RecordsSynced") == [1.0]


def test_rate_limited_target_is_waited_for_then_succeeds(
    netsuite: FakeSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    netsuite.rate_limit(2, retry_after="1")

    response = consumer_handler()(
        direct_event([order_change_event("8015e000000RATE1AA")]), FakeContext()
    )

    assert response == {"batchItemFailures": []}
    assert "8015e000000RATE1AA" in netsuite.written("order")
    times = [r.at for r in netsuite.requests]
    assert [r.method for r in netsuite.requests] == ["PATCH", "PATCH", "PATCH"]
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95  # Retry-After honoured
    assert metric_values(emf_documents(capsys.readouterr().out), "ApiCallsUsed") == [3.0]


def test_rate_limit_longer_than_the_invocation_can_wait_is_retried_by_sqs(
    netsuite: FakeSystem,
) -> None:
    netsuite.rate_limit(1, retry_after="3600")
    event = direct_event([order_change_event("8015e000000RATE2AA")])

    response = consumer_handler()(event, FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(netsuite.requests) == 1


def test_poison_record_lands_in_dlq_after_max_receives(netsuite: FakeSystem) -> None:
    queues = _queues(netsuite)
    netsuite.fail_record("8015e000000POISNAA", 500)  # fails every time: SQS must redrive it
    sqs = boto3.client("sqs")
    for order_id in ("8015e000000POISNAA", "8015e000000FINE1AA"):
        sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(order_change_event(order_id)))

    drive_queue(queues, consumer_handler())

    [dead] = receive_all(queues.dlq_url)
    assert json.loads(dead["Body"])["detail"]["payload"]["ChangeEventHeader"]["recordIds"] == [
        "8015e000000POISNAA"
    ]
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= 1
    patches = [r for r in netsuite.requests if r.path.endswith("8015e000000POISNAA")]
    assert len(patches) == 5 * 4  # maxReceiveCount 5 x 4 attempts per invocation
    assert "8015e000000FINE1AA" in netsuite.written("order")
    assert receive_all(queues.url) == []


def _target_key(
    netsuite: FakeSystem, monkeypatch: pytest.MonkeyPatch, name: str, doc: dict[str, str]
) -> str:
    """The target's API key in Secrets Manager, named to the consumer; NetSuite requires it."""
    arn = create_secret(name, doc)
    monkeypatch.setenv(var.TARGET_CREDENTIAL_SECRET_ARN, arn)
    netsuite.required_auth = f"Bearer {doc['api_key']}"
    return arn


def _assert_synced(netsuite: FakeSystem, order_id: str) -> None:
    """The consumer, given one change of ``order_id``, writes it and fails nothing."""
    response = consumer_handler()(direct_event([order_change_event(order_id)]), FakeContext())
    assert response == {"batchItemFailures": []}
    assert order_id in netsuite.written("order")


def test_credentials_come_from_secrets_manager(
    netsuite: FakeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    _target_key(
        netsuite,
        monkeypatch,
        "dev/quote-to-order/netsuite-api",
        {"kind": "api_key", "api_key": "nsk_live_9f2c", "header": "Authorization"},
    )

    _assert_synced(netsuite, "8015e000000AUTH1AA")


def test_rotated_credentials_are_reread_after_a_401(
    netsuite: FakeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {"kind": "api_key", "api_key": "old"}
    arn = _target_key(netsuite, monkeypatch, "dev/quote-to-order/netsuite-rot", old)
    _assert_synced(netsuite, "8015e000000ROT01AA")
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({**old, "api_key": "new"})
    )
    netsuite.required_auth = "Bearer new"

    _assert_synced(netsuite, "8015e000000ROT02AA")


def test_plain_json_from_another_system_is_synced(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    salesforce = fake_system()
    mapping = {
        "lead": {
            "external_id": "Marketo_Lead_Id__c",
            "fields": {
                "id": "Marketo_Lead_Id__c",
                "email": "Email",
                "company": "Company",
                "leadScore": "Lead_Score__c",
            },
        }
    }
    consumer_env(
        monkeypatch,
        integration="lead-to-account",
        mapping=mapping,
        target_url=salesforce.url,
        source_system="marketo",
        target_system="salesforce",
    )
    body = {
        "object": "lead",
        "event_id": "mkto-activity-88213",
        "occurred_at": "2024-05-02T09:58:11Z",
        "data": {
            "id": 88213,
            "email": "ana.ruiz@example.com",
            "company": "Acme GmbH",
            "leadScore": 72,
            "unsubscribed": False,
        },
    }

    response = consumer_handler()(direct_event([body]), FakeContext())

    assert response == {"batchItemFailures": []}
    assert salesforce.written("lead") == {
        "88213": {
            "Marketo_Lead_Id__c": "88213",
            "Email": "ana.ruiz@example.com",
            "Company": "Acme GmbH",
            "Lead_Score__c": 72,
        }
    }


def test_handler_waits_no_longer_than_the_invocation_allows(netsuite: FakeSystem) -> None:
    # A 2 s Retry-After does not fit in a 6 s invocation that keeps a 5 s margin: the record
    # goes back to SQS after one attempt instead of waiting out the rate limit in the
    # invocation. Judged by what the target saw, not by the wall clock.
    netsuite.rate_limit(5, retry_after="2")

    response = consumer_handler()(
        direct_event([order_change_event("8015e000000SLOW1AA")]), FakeContext(timeout_seconds=6)
    )

    assert len(response["batchItemFailures"]) == 1
    writes = [r for r in netsuite.requests if r.method in ("PATCH", "PUT", "POST", "DELETE")]
    assert len(writes) == 1, [f"{r.method} {r.path}" for r in netsuite.requests]


def test_a_cold_consumer_builds_every_aws_client_from_one_boto3_session(
    netsuite: FakeSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS, DynamoDB (state and idempotency) and Secrets Manager clients all come from the
    default session: a session of their own would read botocore's endpoint data and models
    again, tens of milliseconds of every cold start each."""
    _target_key(
        netsuite,
        monkeypatch,
        "dev/quote-to-order/netsuite-api",
        {"kind": "api_key", "api_key": "nsk_live_5e1a", "header": "Authorization"},
    )
    sessions: list[boto3.session.Session] = []
    made = boto3.session.Session.__init__

    def counted(session: boto3.session.Session, *args: object, **kwargs: object) -> None:
        sessions.append(session)
        made(session, *args, **kwargs)

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a cold execution environment
    monkeypatch.setattr(boto3.session.Session, "__init__", counted)

    _assert_synced(netsuite, "8015e000000COLD1AA")

    assert sessions == [boto3.DEFAULT_SESSION]
