"""`could_allow`: the evaluation that proves a principal is denied on another's queue, and the
index that spares the evaluation of queues a principal's policies cannot name."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.rehearsal.access import could_allow
from provisioner.rehearsal.access.evaluation import ArnIndex

QUEUE = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-queue.fifo"
OTHER = "arn:aws:sqs:eu-west-1:111111111111:dev-quote-to-order-queue.fifo"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource: Any, action: Any = "sqs:ReceiveMessage", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


CASES = [
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
    # No Resource: moto applies the statement to every resource.
    ([policy({"Effect": "Allow", "Action": "sqs:ReceiveMessage"})], True),
    ([policy(allow("*", "cloudwatch:PutMetricData"))], False),
]


@pytest.mark.parametrize(("documents", "expected"), CASES)
def test_could_allow(documents: list[dict[str, Any]], expected: bool) -> None:
    assert could_allow(documents, "sqs:ReceiveMessage", QUEUE) is expected


@pytest.mark.parametrize(("documents", "expected"), CASES)
def test_a_queue_the_index_leaves_out_is_one_no_statement_can_allow(
    documents: list[dict[str, Any]], expected: bool
) -> None:
    nameable = ArnIndex([QUEUE, OTHER]).nameable(documents, ["sqs:ReceiveMessage"])

    assert QUEUE in nameable or not could_allow(documents, "sqs:ReceiveMessage", QUEUE)
    if expected:
        assert QUEUE in nameable


def test_the_index_names_only_what_a_statement_of_the_actions_can_match() -> None:
    own = "arn:aws:sqs:eu-west-1:111111111111:dev-lead-to-account-"
    documents = [
        policy(allow(f"{own}*"), allow("*", "cloudwatch:PutMetricData")),
        policy(allow(f"{own}dlq", "sqs:SendMessage")),
    ]
    index = ArnIndex([QUEUE, OTHER, f"{own}dlq", f"{own}x-queue"])

    assert set(index.nameable(documents, ["sqs:ReceiveMessage"])) == {
        QUEUE,
        f"{own}dlq",
        f"{own}x-queue",
    }
    assert set(index.nameable(documents, ["sqs:SendMessage"])) == {f"{own}dlq"}
    assert set(index.nameable(documents, ["cloudwatch:PutMetricData"])) == {
        QUEUE,
        OTHER,
        f"{own}dlq",
        f"{own}x-queue",
    }


def test_evaluated_calls_name_each_foreign_secret_its_own_policies_allow() -> None:
    from provisioner.rehearsal.access import EvaluatedCalls
    from provisioner.rehearsal.emulator import Emulator

    secrets = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:"
    own, other = f"{secrets}dev-lead-to-account-cred-a", f"{secrets}dev-quote-to-order-cred-b"
    actions = ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
    emulator = Emulator(region="eu-west-1", account_id="111111111111")  # never started
    scoped = [policy(allow(f"{secrets}dev-lead-to-account-*", list(actions)))]
    wide = [*scoped, policy(allow("*", "secretsmanager:GetSecretValue"))]

    allowed = EvaluatedCalls(emulator, "role a", scoped).identity_allowed([own, other], actions)
    overreach = EvaluatedCalls(emulator, "role a", wide).identity_allowed([other], actions)

    assert allowed == [(actions[0], own), (actions[1], own)]
    assert overreach == [("secretsmanager:GetSecretValue", other)]
