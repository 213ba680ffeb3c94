"""The Lambda SQS poller, as the rehearsal plays it: send, receive as the role, hand over, settle.

AWS's poller receives a batch with the function's execution role, hands the function the
records (camelCase attributes), then deletes every message the function did not report
failed (``batchItemFailures``). The checks do the same with the integration role's STS
credentials (``Poller``), and the emulator's recorder judges each of those requests against
the role's policies on the queue it names (a receive also for ``kms:Decrypt`` on the
queue's customer-managed key, through SQS), so a role that cannot receive from or delete
on its own queue fails them. The judgement is the role's alone (moto's IAM enforcement would
be switched for every caller of the emulator at once), so several integrations' records
may travel at the same time.

Usage::

    poller = Poller.of(deployment, role, f"rehearsal-{integration.name}")
    send(admin, queue.id, body, group=record_id, dedup=marker)
    messages = received(poller, queue.id, marker)
    event = batch_event(messages, queue.outputs["arn"], deployment.aws.region)
    failed = settle(poller, queue.id, messages, lambdas.invoke(consumer, event))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provisioner.rehearsal.access import EvaluatedCalls, assume, role_policies

if TYPE_CHECKING:
    from provisioner.rehearsal.emulator import Emulator
    from provisioner.rehearsal.lambda_runner import Invocation
    from provisioner.rehearsal.runner import Deployment

__all__ = ["Poller", "batch_event", "drain_for", "receive", "received", "send", "settle"]


@dataclass(frozen=True)
class Poller:
    """An SQS client with a role's STS credentials, whose requests are judged as the role's."""

    aws: Emulator
    role_arn: str
    sqs: Any
    calls: EvaluatedCalls

    @classmethod
    def of(cls, deployment: Deployment, role: Any, session: str) -> Poller:
        """The poller of a function whose execution role is the deployed ``role``."""
        aws, arn = deployment.aws, str(role.outputs["arn"])
        sqs = aws.client("sqs", assume(aws, arn, session[:64]))
        calls = EvaluatedCalls(aws, f"role {role.id}", role_policies(aws, role.id), arn)
        return cls(aws, arn, sqs, calls)

    @contextmanager
    def judged(self) -> Iterator[Any]:
        """The client, its requests judged by the emulator's recorder during the block."""
        with self.aws.recorder.judging(self.role_arn, self.calls):
            yield self.sqs


def send(sqs: Any, url: str, body: str, *, group: str, dedup: str) -> None:
    """Send ``body``; a FIFO queue takes it in message group ``group``, deduplicated by
    ``dedup``."""
    message: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        message |= {"MessageGroupId": group, "MessageDeduplicationId": dedup}
    sqs.send_message(**message)


def receive(sqs: Any, url: str, *, visibility: int) -> list[dict[str, Any]]:
    """Up to 10 messages with all their attributes, invisible for ``visibility`` seconds."""
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


def received(poller: Poller, url: str, marker: str, *, want: int = 1) -> list[dict[str, Any]]:
    """The messages carrying `marker`, received as the Lambda poller does (judged as the
    role's); up to `want` receives, since SQS may answer with fewer messages than it holds."""
    messages: list[dict[str, Any]] = []
    with poller.judged() as sqs:
        for _ in range(want):
            got = receive(sqs, url, visibility=30)
            messages += [m for m in got if marker in m["Body"]]
            if len(messages) >= want:
                break
    return messages


def settle(
    poller: Poller,
    url: str,
    messages: list[dict[str, Any]],
    invocation: Invocation,
) -> set[str]:
    """What the Lambda poller does with the consumer's answer: delete every received
    message not reported failed, with the poller's credentials; returns the failed ids. A
    failed invocation deletes none: the whole batch becomes visible again (Lambda developer
    guide, "Handling errors for an SQS event source in Lambda").

    Until deleted, a received message stays in flight for its visibility timeout, and in a
    FIFO queue an in-flight message holds back every later message of its group
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html):
    a check that sends the same record again must settle the first batch first, or its
    next receive comes back empty.
    """
    if invocation.error is not None:
        return {m["MessageId"] for m in messages}
    failed = {f["itemIdentifier"] for f in invocation.payload.get("batchItemFailures", [])}
    with poller.judged() as sqs:
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return failed


def batch_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event the poller invokes the function with for ``messages``."""
    return {"Records": [_lambda_record(m, queue_arn, region) for m in messages]}


def _lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record shape the Lambda SQS poller hands to the function (camelCase attributes)."""
    attributes = {
        k: v
        for k, v in message.get("Attributes", {}).items()
        if k
        in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
        )
    }
    message_attributes = {
        k: {
            "stringValue": v.get("StringValue"),
            "binaryValue": v.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": v.get("DataType", "String"),
        }
        for k, v in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def drain_for(sqs: Any, url: str, marker: str, *, delete: bool) -> list[dict[str, Any]]:
    """Messages carrying ``marker`` in ``url`` (deleted when asked; others left visible)."""
    found = []
    for message in receive(sqs, url, visibility=0):
        if marker in message["Body"]:
            found.append(message)
            if delete:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found
