"""`could_allow`: the evaluation that proves a principal is denied on another's queue."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.rehearsal.access import could_allow

QUEUE = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-queue.fifo"
OTHER = "arn:aws:sqs:eu-west-1:111111111111:dev-quote-to-order-queue.fifo"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource: Any, action: Any = "sqs:ReceiveMessage", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ([policy(allow(OTHER))], False),
        ([policy(allow([OTHER, QUEUE]))], True),
        ([policy(allow("arn:aws:sqs:eu-west-1:111111111111:dev-lead-*"))], True),
        ([policy(allow("*", "sqs:*"))], True),
        ([policy(allow(QUEUE, "sqs:SendMessage"))], False),
        # A conditioned Allow may grant in some request: it counts.
        ([policy(allow(QUEUE, Condition={"Bool": {"aws:SecureTransport": "false"}}))], True),
        # An unconditional Deny takes any Allow back; a conditioned one cannot be relied on.
        ([policy(allow(QUEUE), {"Effect": "Deny", "Action": "sqs:*", "Resource": QUEUE})], False),
        (
            [
                policy(allow(QUEUE)),
                policy(
                    {
                        "Effect": "Deny",
                        "Action": "sqs:*",
                        "Resource": QUEUE,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ),
            ],
            True,
        ),
        # NotAction: every action but the one named.
        ([policy({"Effect": "Allow", "NotAction": "sqs:SendMessage", "Resource": QUEUE})], True),
        ([policy({"Effect": "Allow", "NotAction": "sqs:Receive*", "Resource": QUEUE})], False),
    ],
)
def test_could_allow(documents: list[dict[str, Any]], expected: bool) -> None:
    assert could_allow(documents, "sqs:ReceiveMessage", QUEUE) is expected
