"""DLQ replay: every message goes back exactly once, also when the replay is interrupted."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from test_sync_harness import (
    ORDER_MAPPING,
    FakeSystem,
    Queues,
    consumer_env,
    create_queues,
    drive_queue,
    emf_documents,
    metric_values,
    receive_all,
)

from bench.sync import order_change_event
from provisioner.replay import ReplayResult, replay_dlq

INTEGRATION = "quote-to-order"
MESSAGES = 23  # three SendMessageBatch calls: 10 + 10 + 3


class Crash(Exception):
    """Stands in for the operator's laptop dying mid-replay."""


class CrashAfterSend:
    """An SQS client that dies right after the Nth SendMessageBatch, before the delete."""

    def __init__(self, client: Any, crash_after: int) -> None:
        self.client = client
        self.crash_after = crash_after
        self.sends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        response = self.client.send_message_batch(**kwargs)
        self.sends += 1
        if self.sends == self.crash_after:
            raise Crash("interrupted between send and delete")
        return response


def _replay_crashing_after_second_send_then_again(queues: Queues) -> ReplayResult:
    """Replay dies after its second batch is sent but not deleted; the operator runs it again."""
    crashing = CrashAfterSend(boto3.client("sqs"), crash_after=2)
    with pytest.raises(Crash):
        replay_dlq(
            queues.dlq_url,
            queues.url,
            sqs_client=crashing,
            visibility_timeout=1,
            wait_time_seconds=0,
        )
    time.sleep(1.2)  # the interrupted batch becomes visible in the DLQ again
    return replay_dlq(
        queues.dlq_url, queues.url, sqs_client=boto3.client("sqs"), wait_time_seconds=0
    )


def _fill_dlq(queues: Queues, *, fifo: bool) -> list[str]:
    """Dead-letter MESSAGES order change events as the consumer does (reason attributes)."""
    sqs = boto3.client("sqs")
    order_ids = [f"8015e0000{n:05d}RPLAA" for n in range(MESSAGES)]
    for order_id in order_ids:
        params: dict[str, Any] = {
            "QueueUrl": queues.dlq_url,
            "MessageBody": json.dumps(order_change_event(order_id)),
            "MessageAttributes": {
                "source-system": {"DataType": "String", "StringValue": "salesforce"},
                "failure-reason": {"DataType": "String", "StringValue": "target_rejected"},
                "failure-detail": {"DataType": "String", "StringValue": "HTTP 422 period closed"},
            },
        }
        if fifo:
            params["MessageGroupId"] = order_id
            params["MessageDeduplicationId"] = f"dlq-{order_id}"
        sqs.send_message(**params)
    return order_ids


def _order_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [
        json.loads(m["Body"])["detail"]["payload"]["ChangeEventHeader"]["recordIds"][0]
        for m in messages
    ]


def test_replay_moves_every_dlq_message_back_exactly_once(aws: None) -> None:
    queues = create_queues(f"dev-{INTEGRATION}")
    order_ids = _fill_dlq(queues, fifo=False)

    result = replay_dlq(
        queues.dlq_url, queues.url, sqs_client=boto3.client("sqs"), wait_time_seconds=0
    )

    assert (result.method, result.moved, result.complete) == ("copy", MESSAGES, True)
    assert result.fallback_reason  # moto has no StartMessageMoveTask: it fell back, and says so
    assert result.reasons == Counter({"target_rejected": MESSAGES})
    assert sorted(_order_ids(receive_all(queues.url))) == sorted(order_ids)
    assert receive_all(queues.dlq_url) == []


def test_replay_keeps_attributes_and_group_but_drops_the_failure_diagnosis(aws: None) -> None:
    queues = create_queues(f"dev-{INTEGRATION}", fifo=True)
    _fill_dlq(queues, fifo=True)

    replay_dlq(queues.dlq_url, queues.url, sqs_client=boto3.client("sqs"), wait_time_seconds=0)

    back = receive_all(queues.url)
    assert len(back) == MESSAGES
    for message in back:
        assert message["Attributes"]["MessageGroupId"] == _order_ids([message])[0]
        assert message["MessageAttributes"]["source-system"]["StringValue"] == "salesforce"
        assert "failure-reason" not in message["MessageAttributes"]


def test_fifo_replay_interrupted_after_send_sends_no_message_twice(aws: None) -> None:
    queues = create_queues(f"dev-{INTEGRATION}", fifo=True)
    order_ids = _fill_dlq(queues, fifo=True)
    result = _replay_crashing_after_second_send_then_again(queues)

    assert result.moved == MESSAGES - 10  # everything not deleted by the first run
    back = _order_ids(receive_all(queues.url))
    assert sorted(back) == sorted(order_ids)  # all there, none twice: deduplicated by SQS
    assert receive_all(queues.dlq_url) == []


def test_standard_replay_interrupted_after_send_is_absorbed_by_idempotency(
    aws: None,
    fake_system: Callable[[], FakeSystem],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    netsuite = fake_system()
    queues = consumer_env(
        monkeypatch, integration=INTEGRATION, mapping=ORDER_MAPPING, target_url=netsuite.url
    )
    order_ids = _fill_dlq(queues, fifo=False)
    _replay_crashing_after_second_send_then_again(queues)
    capsys.readouterr()

    from integration_sync.consumer import handler

    drive_queue(queues, handler)

    assert receive_all(queues.dlq_url) == []
    assert sorted(netsuite.written("order")) == sorted(order_ids)
    assert all(netsuite.write_count("order", order_id) == 1 for order_id in order_ids)
    # The second batch was sent twice (interrupted before its delete): 10 repeats skipped.
    assert sum(metric_values(emf_documents(capsys.readouterr().out), "DuplicatesSkipped")) == 10


def test_message_whose_copy_failed_stays_in_the_dlq(aws: None) -> None:
    queues = create_queues(f"dev-{INTEGRATION}")
    _fill_dlq(queues, fifo=False)
    real = boto3.client("sqs")

    class RejectFirstEntry:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
            response = real.send_message_batch(QueueUrl=QueueUrl, Entries=Entries[1:])
            failed = {"Id": Entries[0]["Id"], "SenderFault": False, "Code": "InternalError"}
            return {**response, "Failed": [*response.get("Failed", []), failed]}

    result = replay_dlq(
        queues.dlq_url,
        queues.url,
        sqs_client=RejectFirstEntry(),
        visibility_timeout=30,
        wait_time_seconds=0,
    )

    assert result.send_failures == 3 and result.moved == MESSAGES - 3 and not result.complete
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=queues.dlq_url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 3  # still there, not deleted


def test_move_task_is_used_where_sqs_supports_it() -> None:
    calls: list[str] = []

    class MoveTaskSqs:
        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> Any:
            name = QueueUrl.rsplit("/", 1)[-1]
            return {"Attributes": {"QueueArn": f"arn:aws:sqs:eu-west-1:123456789012:{name}"}}

        def start_message_move_task(self, SourceArn: str, DestinationArn: str) -> Any:
            calls.append(f"start {SourceArn} -> {DestinationArn}")
            return {"TaskHandle": "eyJ0YXNrSWQiOiJkYzE2"}

        def list_message_move_tasks(self, SourceArn: str, MaxResults: int) -> Any:
            return {
                "Results": [
                    {
                        "TaskHandle": "eyJ0YXNrSWQiOiJkYzE2",
                        "Status": "COMPLETED",
                        "ApproximateNumberOfMessagesMoved": 7,
                    }
                ]
            }

        def receive_message(self, **_: Any) -> Any:
            raise AssertionError("must not copy when the move task is available")

    base = "https://sqs.eu-west-1.amazonaws.com/123456789012"
    result = replay_dlq(
        f"{base}/prod-quote-to-order-dlq",
        f"{base}/prod-quote-to-order-queue",
        sqs_client=MoveTaskSqs(),
    )

    assert (result.method, result.moved, result.task_status) == ("move-task", 7, "COMPLETED")
    assert calls == [
        "start arn:aws:sqs:eu-west-1:123456789012:prod-quote-to-order-dlq"
        " -> arn:aws:sqs:eu-west-1:123456789012:prod-quote-to-order-queue"
    ]


def test_replay_ends_when_the_consumer_keeps_re_parking_what_it_moved(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    netsuite = fake_system()
    queues = consumer_env(
        monkeypatch, integration=INTEGRATION, mapping=ORDER_MAPPING, target_url=netsuite.url
    )
    order_ids = _fill_dlq(queues, fifo=False)
    for order_id in order_ids:  # the cause is not fixed: NetSuite still rejects every one
        netsuite.fail_record(order_id, 422)
    from integration_sync.consumer import handler

    real = boto3.client("sqs")

    class ConsumerRunsAlongside:
        """The deployed consumer drains the source queue right after each batch arrives."""

        sends = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def send_message_batch(self, **kwargs: Any) -> Any:
            self.sends += 1
            assert self.sends <= MESSAGES, "replay keeps moving what the consumer re-parks"
            response = real.send_message_batch(**kwargs)
            drive_queue(queues, handler)
            return response

    result = replay_dlq(
        queues.dlq_url, queues.url, sqs_client=ConsumerRunsAlongside(), wait_time_seconds=0
    )

    assert (result.moved, result.reparked, result.skipped) == (MESSAGES, MESSAGES, 0)
    # Nothing lost: every record is parked again, visible for the run after the fix.
    assert sorted(_order_ids(receive_all(queues.dlq_url))) == sorted(order_ids)
    assert receive_all(queues.url) == []
