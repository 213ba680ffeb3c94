"""Fault injection on the sync path: the consumer, the batch job and ``replay``, each stopped at
every step by an exception and by a timeout, then run again.

A timeout is ``LambdaTimeout``, a ``BaseException``: like Lambda ending an invocation, no
``except Exception`` of ours sees it (and what it leaves half done stays half done: the
in-progress idempotency marker, a claimed but unapplied record version, a message sent but
not deleted). An exception is an ordinary ``ConnectionError`` at the same place. Each case
then runs the same step again as production would (SQS redelivers the batch, the next
schedule runs the job, the operator re-runs ``replay``) and asserts:

* no message lost: every change is in the target at its newest version, or parked in the
  DLQ when the target refuses it for good;
* no stale overwrite: an older version of a record is never written after a newer one;
* no duplicate write: each (record, version) is written once. The one exception is a stop
  between the target accepting a write and the version being recorded as applied: nothing
  can tell that write happened, so the retry writes the same version again, an upsert by
  external id that leaves the target as it was (asserted: at most twice, only there).

Python still runs ``finally`` blocks on the way out of a ``BaseException``; the only one
on these paths publishes the consumer's metrics. A real SIGKILL of the batch job in a
subprocess is test_sync_batch.py's. Everything here runs in process against moto and the
fake systems the other sync tests use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from test_sync_harness import (
    ORDER_MAPPING,
    FakeContext,
    FakeSystem,
    Queues,
    consumer_env,
    create_state_table,
    invoice_env,
    invoice_record,
    lambda_sqs_event,
    receive_all,
    settle_at_once,
)

from bench.sync import order_change_event


class LambdaTimeout(BaseException):
    """Lambda ends the invocation: no ``except Exception`` of ours runs."""


STOPS: dict[str, Callable[[str], BaseException]] = {
    "timeout": LambdaTimeout,
    "exception": lambda where: ConnectionError(f"connection reset at {where}"),
}


@pytest.fixture
def stop_at(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, bool]]:
    """Arm one stop: at an AWS API call (before it is sent or after it answered) or around a
    Python callable; it fires once, the first time ``when`` holds."""

    def arm(
        kind: str,
        *,
        operation: str | None = None,
        function: tuple[Any, str] | None = None,
        after: bool = False,
        when: Callable[[dict[str, Any]], bool] = lambda _params: True,
    ) -> dict[str, bool]:
        fired = {"done": False}

        def fire(where: str) -> None:
            fired["done"] = True
            raise STOPS[kind](where)

        if operation is not None:
            original = BaseClient._make_api_call

            def call(self: Any, name: str, params: dict[str, Any]) -> Any:
                armed = name == operation and not fired["done"] and when(params)
                if armed and not after:
                    fire(f"before {name}")
                result = original(self, name, params)
                if armed and after:
                    fire(f"after {name}")
                return result

            monkeypatch.setattr(BaseClient, "_make_api_call", call)
        if function is not None:
            owner, attribute = function
            wrapped = getattr(owner, attribute)

            def around(*args: Any, **kwargs: Any) -> Any:
                armed = not fired["done"] and when({})
                if armed and not after:
                    fire(f"before {attribute}")
                result = wrapped(*args, **kwargs)
                if armed and after:
                    fire(f"after {attribute}")
                return result

            monkeypatch.setattr(owner, attribute, around)
        return fired

    return arm


def _claims(params: dict[str, Any]) -> bool:
    return "SET #v = :v" in str(params.get("UpdateExpression", ""))


def _marks_applied(params: dict[str, Any]) -> bool:
    return "SET #a = :true" in str(params.get("UpdateExpression", ""))


def _writes(system: FakeSystem, obj: str) -> list[tuple[str, dict[str, Any]]]:
    return [(i, body) for o, i, body in system.writes if o == obj]


# ----------------------------------------------------------------------------- consumer

INTEGRATION = "quote-to-order"
ORDER_A, ORDER_B, POISON = "8015e000000FLTAAA2", "8015e000000FLTBAA2", "8015e000000FLTCAA2"


def _target_upsert() -> tuple[Any, str]:
    from integration_sync.clients import TargetApi

    return TargetApi, "upsert"


# (step, how to arm it, a stop there may leave the same version written twice)
CONSUMER_STEPS: list[tuple[str, dict[str, Any], bool]] = [
    ("idempotency marker saved", {"operation": "PutItem"}, False),
    ("idempotency marker saved, then stop", {"operation": "PutItem", "after": True}, False),
    ("version claimed", {"operation": "UpdateItem", "when": _claims}, False),
    ("version claimed, then stop", {"operation": "UpdateItem", "when": _claims, "after": True},
     False),
    ("target write", {"function": "upsert"}, False),
    ("target accepted, nothing recorded", {"function": "upsert", "after": True}, True),
    ("version marked applied", {"operation": "UpdateItem", "when": _marks_applied}, True),
    ("version marked applied, then stop",
     {"operation": "UpdateItem", "when": _marks_applied, "after": True}, False),
    ("parked in the DLQ", {"operation": "SendMessage"}, False),
    ("parked in the DLQ, not acknowledged", {"operation": "SendMessage", "after": True}, False),
]  # fmt: skip


@pytest.fixture
def netsuite(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSystem]:
    from integration_sync import consumer

    system = fake_system()
    system.queues = consumer_env(
        monkeypatch, integration=INTEGRATION, mapping=ORDER_MAPPING, target_url=system.url
    )
    system.fail_record(POISON, 422)  # NetSuite refuses this order for good: it is parked
    consumer._consumers.clear()  # fresh clients for this moto and this environment
    yield system
    consumer._consumers.clear()


def _send_changes(queues: Queues) -> None:
    """Order A as Draft then Activated (two versions), order B once, and a poison order."""
    sqs = boto3.client("sqs")
    now = int(time.time() * 1000) - 10_000
    changes = [
        order_change_event(ORDER_A, status="Draft", sequence=1, commit_ms=now),
        order_change_event(ORDER_A, status="Activated", sequence=2, commit_ms=now + 1_000),
        order_change_event(ORDER_B, status="Activated", sequence=1, commit_ms=now + 2_000),
        order_change_event(POISON, status="Activated", sequence=1, commit_ms=now + 3_000),
    ]
    for change in changes:
        sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(change))


def _expire_in_progress_markers() -> None:
    """SQS redelivers a failed record after the visibility timeout (360 s), long after the
    failed invocation's deadline (60 s), when the in-progress idempotency marker it left has
    expired (Powertools sets it to the invocation's remaining time); the test moves the
    markers' expiry into the past instead of waiting."""
    ddb = boto3.client("dynamodb")
    table = f"dev-{INTEGRATION}-state"
    for item in ddb.scan(TableName=table)["Items"]:
        if item.get("status", {}).get("S") == "INPROGRESS":
            ddb.update_item(
                TableName=table,
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": {"N": "0"}},
            )


def _drive(queues: Queues) -> int:
    """The SQS event source mapping: batches of 2, a stopped invocation's batch comes back.
    Returns how many invocations stopped."""
    from integration_sync.consumer import handler

    sqs, stopped = boto3.client("sqs"), 0
    for _ in range(30):
        messages = sqs.receive_message(
            QueueUrl=queues.url,
            MaxNumberOfMessages=2,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return stopped
        try:
            response = handler(lambda_sqs_event(messages, queues.arn), FakeContext())
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except (LambdaTimeout, ConnectionError):
            stopped += 1
            failed = {m["MessageId"] for m in messages}  # the whole batch comes back
        if failed:
            _expire_in_progress_markers()
        settle_at_once(sqs, queues.url, messages, failed)
    raise AssertionError("the queue never drained")


@pytest.mark.parametrize("kind", sorted(STOPS))
@pytest.mark.parametrize(
    ("step", "arming", "may_rewrite"), CONSUMER_STEPS, ids=[s[0] for s in CONSUMER_STEPS]
)
def test_consumer_stopped_at_each_step_loses_nothing_and_never_writes_stale_or_twice(
    netsuite: FakeSystem,
    stop_at: Callable[..., dict[str, bool]],
    kind: str,
    step: str,
    arming: dict[str, Any],
    may_rewrite: bool,
) -> None:
    queues = netsuite.queues
    assert queues is not None
    _send_changes(queues)
    arm = dict(arming)
    if arm.pop("function", None):
        arm["function"] = _target_upsert()
    fired = stop_at(kind, **arm)

    _drive(queues)

    assert fired["done"], f"the run never reached {step}"
    orders = dict(_writes(netsuite, "order"))
    assert set(orders) == {ORDER_A, ORDER_B}  # nothing lost; the poison order never written
    assert netsuite.written("order")[ORDER_A]["orderStatus"] == "Activated"  # no stale overwrite
    statuses = [body["orderStatus"] for i, body in _writes(netsuite, "order") if i == ORDER_A]
    assert "Draft" not in statuses[statuses.index("Activated") :]
    counts = {
        (i, body["orderStatus"]): sum(
            1
            for j, b in _writes(netsuite, "order")
            if (j, b["orderStatus"]) == (i, body["orderStatus"])
        )
        for i, body in _writes(netsuite, "order")
    }
    rewritten = [k for k, n in counts.items() if n > 1]
    assert len(rewritten) <= (1 if may_rewrite else 0), counts
    assert all(n <= 2 for n in counts.values()), counts
    parked = [json.loads(m["Body"]) for m in receive_all(queues.dlq_url)]
    ids = {p["detail"]["payload"]["ChangeEventHeader"]["recordIds"][0] for p in parked}
    assert ids == {POISON}  # the refused order is parked, nothing else
    assert receive_all(queues.url) == []


# ----------------------------------------------------------------------------- batch job

BATCH = "order-to-invoice"
BATCH_TABLE = f"dev-{BATCH}-state"
INVOICES, PAGE = 12, 5


def _commits_watermark(params: dict[str, Any]) -> bool:
    return str(params.get("Item", {}).get("id", {}).get("S", "")).startswith("watermark#")


def _source_page() -> tuple[Any, str]:
    from integration_sync.clients import SourceApi

    return SourceApi, "changes"


# (step, how to arm it, a stop there may leave the same version written twice); each stop
# falls in the second page, after the first one was committed.
IN_PAGE_TWO = {"nth": PAGE + 2}  # per record: the second record of page two
SECOND = {"nth": 2}  # per page
BATCH_STEPS: list[tuple[str, dict[str, Any], bool]] = [
    ("source page read", {"function": "changes", **SECOND}, False),
    ("source page read, then stop", {"function": "changes", "after": True, **SECOND}, False),
    ("version claimed", {"operation": "UpdateItem", "when": _claims, **IN_PAGE_TWO}, False),
    ("target write", {"function": "upsert", **IN_PAGE_TWO}, False),
    ("target accepted, nothing recorded",
     {"function": "upsert", "after": True, **IN_PAGE_TWO}, True),
    ("version marked applied",
     {"operation": "UpdateItem", "when": _marks_applied, **IN_PAGE_TWO}, True),
    ("watermark commit", {"operation": "PutItem", "when": _commits_watermark, **SECOND}, False),
    ("watermark committed, then stop",
     {"operation": "PutItem", "when": _commits_watermark, "after": True, **SECOND}, False),
]  # fmt: skip


@pytest.fixture
def erp(
    aws: None, fake_system: Callable[[], FakeSystem], monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeSystem, FakeSystem]:
    """NetSuite's invoice feed (with an invoice changed twice) and Xero as the target."""
    create_state_table(BATCH_TABLE)
    netsuite, xero = fake_system(), fake_system()
    start = datetime.now(UTC) - timedelta(hours=1)
    feed = [
        invoice_record(
            n, modified_at=(start + timedelta(seconds=60 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        for n in range(INVOICES)
    ]
    # Invoice 0 changed again later: its newer total must win.
    later = (start + timedelta(seconds=60 * INVOICES)).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed.append(invoice_record(0, modified_at=later, total=999.0))
    netsuite.feed["invoice"] = feed
    invoice_env(monkeypatch, netsuite, xero, integration=BATCH, state_table=BATCH_TABLE)
    return netsuite, xero


def _run_batch() -> dict[str, Any]:
    from integration_sync.batch import handler

    return handler({"page_size": PAGE}, FakeContext(timeout_seconds=300))


@pytest.mark.parametrize("kind", sorted(STOPS))
@pytest.mark.parametrize(
    ("step", "arming", "may_rewrite"), BATCH_STEPS, ids=[s[0] for s in BATCH_STEPS]
)
def test_batch_job_stopped_at_each_step_resumes_without_loss_stale_or_duplicate_writes(
    erp: tuple[FakeSystem, FakeSystem],
    stop_at: Callable[..., dict[str, bool]],
    kind: str,
    step: str,
    arming: dict[str, Any],
    may_rewrite: bool,
) -> None:
    netsuite, xero = erp
    arm = dict(arming)
    function = arm.pop("function", None)
    if function == "changes":
        arm["function"] = _source_page()
    elif function == "upsert":
        arm["function"] = _target_upsert()
    seen, nth = {"n": 0}, int(arm.pop("nth"))
    condition = arm.pop("when", lambda _p: True)

    def in_page_two(params: dict[str, Any]) -> bool:
        if not condition(params):
            return False
        seen["n"] += 1
        return seen["n"] >= nth

    fired = stop_at(kind, when=in_page_two, **arm)

    results = []
    for _ in range(3):  # the next scheduled runs
        try:
            results.append(_run_batch())
        except (LambdaTimeout, ConnectionError):
            continue
        if results[-1]["complete"]:
            break

    assert fired["done"], f"the job never reached {step}"
    assert results and results[-1]["complete"] is True
    written = xero.written("invoice")
    references = {r["data"]["externalId"] for r in netsuite.feed["invoice"]}
    assert set(written) == references  # nothing lost
    assert written["NS-INV-10000"]["Total"] == 999.0  # the newer change of invoice 0 won
    totals = [b["Total"] for i, b in _writes(xero, "invoice") if i == "NS-INV-10000"]
    assert 1250.0 not in totals[totals.index(999.0) :]  # never overwritten by the older one
    counts = {i: xero.write_count("invoice", i) for i in references}
    expected = {i: 2 if i == "NS-INV-10000" else 1 for i in references}  # two versions of 0
    extra = {i: counts[i] - expected[i] for i in references if counts[i] != expected[i]}
    assert all(n == 1 for n in extra.values()) and len(extra) <= (1 if may_rewrite else 0), counts


# ----------------------------------------------------------------------------- replay

PARKED = 12  # two receive batches of 10 and 2


REPLAY_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("DLQ batch received", {"operation": "ReceiveMessage", "after": True}),
    ("copies sent", {"operation": "SendMessageBatch"}),
    ("copies sent, originals not deleted", {"operation": "SendMessageBatch", "after": True}),
    ("originals deleted", {"operation": "DeleteMessageBatch"}),
    ("originals deleted, then stop", {"operation": "DeleteMessageBatch", "after": True}),
]


@pytest.mark.parametrize("kind", sorted(STOPS))
@pytest.mark.parametrize(("step", "arming"), REPLAY_STEPS, ids=[s[0] for s in REPLAY_STEPS])
def test_replay_stopped_at_each_step_then_run_again_moves_every_message_and_writes_it_once(
    netsuite: FakeSystem,
    stop_at: Callable[..., dict[str, bool]],
    kind: str,
    step: str,
    arming: dict[str, Any],
) -> None:
    from provisioner.replay import replay_dlq

    queues = netsuite.queues
    assert queues is not None
    sqs = boto3.client("sqs")
    orders = [f"8015e0000{n:05d}RPFAA" for n in range(PARKED)]
    for order in orders:  # parked while NetSuite was down; it is back now
        sqs.send_message(
            QueueUrl=queues.dlq_url,
            MessageBody=json.dumps(order_change_event(order)),
            MessageAttributes={
                "failure-reason": {"DataType": "String", "StringValue": "target_unavailable"}
            },
        )
    fired = stop_at(kind, **arming)
    try:
        replay_dlq(
            queues.dlq_url,
            queues.url,
            sqs_client=boto3.client("sqs"),
            use_move_task=False,
            visibility_timeout=1,
            wait_time_seconds=0,
        )
    except (LambdaTimeout, ConnectionError):
        time.sleep(1.1)  # what the stopped run received becomes visible in the DLQ again
    assert fired["done"], f"replay never reached {step}"

    replay_dlq(
        queues.dlq_url,
        queues.url,
        sqs_client=boto3.client("sqs"),
        use_move_task=False,
        wait_time_seconds=0,
    )
    _drive(queues)

    assert receive_all(queues.dlq_url) == []
    assert sorted(netsuite.written("order")) == sorted(orders)  # every message back
    assert all(netsuite.write_count("order", order) == 1 for order in orders)  # once each
