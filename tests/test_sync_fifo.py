"""FIFO integrations: per-group order holds, and a failure holds back only its own group."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    ORDER_MAPPING,
    FakeContext,
    FakeSystem,
    Request,
    consumer_env,
    consumer_handler,
    drive_queue,
    lambda_sqs_event,
    receive_all,
)

from bench.sync import order_change_event

INTEGRATION = "quote-to-order"
ORDER_A = "8015e000000FIFOAAA"
ORDER_B = "8015e000000FIFOBAA"
LIFECYCLE = ("Draft", "Activated", "Shipped")


def _fail_one_invocation_when(
    status: str,
) -> Callable[[Request], tuple[int, dict[str, str], Any] | None]:
    """503 for every attempt one invocation makes to write order A with ``status``."""
    from integration_sync.clients import DEFAULT_MAX_ATTEMPTS

    left = [DEFAULT_MAX_ATTEMPTS]

    def fault(req: Request) -> tuple[int, dict[str, str], Any] | None:
        hit = req.method == "PATCH" and ORDER_A in req.path
        if hit and left[0] > 0 and (req.body or {}).get("orderStatus") == status:
            left[0] -= 1
            return 503, {}, {"error": "ERP maintenance window"}
        return None

    return fault


@pytest.fixture
def fifo_setup(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, Any]:
    netsuite = fake_system()
    netsuite.faults.append(_fail_one_invocation_when("Activated"))
    queues = consumer_env(
        monkeypatch,
        integration=INTEGRATION,
        mapping=ORDER_MAPPING,
        target_url=netsuite.url,
        fifo=True,
    )
    sqs = boto3.client("sqs")
    for step, status in enumerate(LIFECYCLE, start=1):
        for order in (ORDER_A, ORDER_B):
            sqs.send_message(
                QueueUrl=queues.url,
                MessageBody=json.dumps(order_change_event(order, status=status, sequence=step)),
                MessageGroupId=order,  # one group per order: order matters per record
                MessageDeduplicationId=f"{order}-{step}",
            )
    return netsuite, queues


def _statuses(netsuite: FakeSystem, order: str) -> list[str]:
    return [body["orderStatus"] for _, ext_id, body in netsuite.writes if ext_id == order]


def test_failure_skips_the_rest_of_its_group_but_not_other_groups(
    fifo_setup: tuple[FakeSystem, Any],
) -> None:
    netsuite, queues = fifo_setup
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queues.url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]
    event = lambda_sqs_event(messages, queues.arn)

    response = consumer_handler()(event, FakeContext())

    def group_step(message_id: str) -> tuple[str, int]:
        record = next(r for r in event["Records"] if r["messageId"] == message_id)
        body = json.loads(record["body"])["detail"]["payload"]
        return body["ChangeEventHeader"]["recordIds"][0], body["ChangeEventHeader"][
            "sequenceNumber"
        ]

    failed = sorted(group_step(f["itemIdentifier"]) for f in response["batchItemFailures"])
    assert failed == [(ORDER_A, 2), (ORDER_A, 3)]
    assert _statuses(netsuite, ORDER_B) == list(LIFECYCLE)
    assert _statuses(netsuite, ORDER_A) == ["Draft"]


def test_order_per_group_holds_through_retries(fifo_setup: tuple[FakeSystem, Any]) -> None:
    netsuite, queues = fifo_setup

    drive_queue(queues, consumer_handler())

    assert _statuses(netsuite, ORDER_A) == list(LIFECYCLE)
    assert _statuses(netsuite, ORDER_B) == list(LIFECYCLE)
    assert netsuite.records["order"][ORDER_A]["orderStatus"] == "Shipped"
    assert receive_all(queues.url) == [] and receive_all(queues.dlq_url) == []
