"""The rehearsal's Lambda poller: receives and deletes as the function's role, judged on the
queue each request names by the emulator's recorder, for that role alone."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_rehearsal_emulator import TRUST  # the Lambda service's trust policy

from contract.aws_types import IAM_ROLE, IAM_ROLE_POLICY
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.checks.poller import Poller, received, send, settle
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.lambda_runner import Invocation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def aws() -> Any:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


def _deployed(aws: Emulator, name: str, actions: list[str], on: list[str]) -> Any:
    """A role allowed ``actions`` on the queues ``on`` (by logical name), as the inventory
    holds it (``id`` its name, ``outputs`` its state)."""
    creator = AwsCreator(aws)
    sqs = aws.admin("sqs")
    arns = [
        sqs.get_queue_attributes(QueueUrl=url(aws, q), AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for q in on
    ]
    role_name, role = creator.create(
        IAM_ROLE, f"{name}-role", {"name": f"dev-{name}-role", "assumeRolePolicy": TRUST}
    )
    statement = {"Effect": "Allow", "Action": actions, "Resource": arns}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    creator.create(IAM_ROLE_POLICY, f"{name}-policy", {"role": role_name, "policy": policy})
    return SimpleNamespace(id=role_name, outputs=role)


def url(aws: Emulator, queue: str) -> str:
    """The URL of the queue ``dev-{queue}``, made if it is not there yet."""
    found = aws.admin("sqs").create_queue(QueueName=f"dev-{queue}")
    return str(found["QueueUrl"])


def _poller(aws: Emulator, role: Any) -> Poller:
    return Poller.of(SimpleNamespace(aws=aws), role, "rehearsal-poller-test")  # type: ignore[arg-type]


def _done(payload: dict[str, Any]) -> Invocation:
    return Invocation("dev-consumer", payload, None, "")


def test_own_queue_received_and_settled_as_the_role(aws: Emulator) -> None:
    own = url(aws, "own-queue")
    role = _deployed(aws, "own", ["sqs:ReceiveMessage", "sqs:DeleteMessage"], ["own-queue"])
    poller = _poller(aws, role)
    send(aws.admin("sqs"), own, '{"n": "marker-1"}', group="g", dedup="d")
    messages = received(poller, own, "marker-1")
    assert [json.loads(m["Body"]) for m in messages] == [{"n": "marker-1"}]
    assert settle(poller, own, messages, _done({"batchItemFailures": []})) == set()
    # Judged on the queue's ARN, and deleted: nothing is left to receive.
    arn = "arn:aws:sqs:eu-west-1:111111111111:dev-own-queue"
    assert ("sqs:ReceiveMessage", arn) in poller.calls.evaluated
    assert ("sqs:DeleteMessage", arn) in poller.calls.evaluated
    assert (
        aws.admin("sqs").receive_message(QueueUrl=own, VisibilityTimeout=0).get("Messages") is None
    )


def test_another_queue_is_refused_naming_the_action_and_queue(aws: Emulator) -> None:
    own, other = url(aws, "mine"), url(aws, "theirs")
    role = _deployed(aws, "mine", ["sqs:ReceiveMessage", "sqs:DeleteMessage"], ["mine"])
    send(aws.admin("sqs"), other, '{"n": "marker-2"}', group="g", dedup="d")
    with pytest.raises(ClientError) as refused:
        received(_poller(aws, role), other, "marker-2")
    message = str(refused.value)
    assert "sqs:ReceiveMessage" in message and "dev-theirs" in message, message
    # The refused receive took nothing: the message is still there for its own role.
    left = aws.admin("sqs").receive_message(QueueUrl=other, VisibilityTimeout=0)["Messages"]
    assert [m["Body"] for m in left] == ['{"n": "marker-2"}']
    assert received(_poller(aws, role), own, "none") == []


def test_a_role_that_may_receive_but_not_delete_cannot_settle(aws: Emulator) -> None:
    queue = url(aws, "no-delete")
    role = _deployed(aws, "no-delete", ["sqs:ReceiveMessage"], ["no-delete"])
    poller = _poller(aws, role)
    send(aws.admin("sqs"), queue, '{"n": "marker-3"}', group="g", dedup="d")
    messages = received(poller, queue, "marker-3")
    with pytest.raises(ClientError, match=r"sqs:DeleteMessage"):
        settle(poller, queue, messages, _done({}))


def test_judging_one_role_leaves_every_other_caller_served(aws: Emulator) -> None:
    """No switch for the whole emulator: while a poller is judged, the deployer (a key no
    IAM policy names) is served as before, which is what lets integrations run at once."""
    queue = url(aws, "shared")
    role = _deployed(aws, "shared", ["sqs:ReceiveMessage"], ["elsewhere"])
    poller = _poller(aws, role)
    with poller.judged() as sqs:
        aws.admin("sqs").send_message(QueueUrl=queue, MessageBody="from the deployer")
        with pytest.raises(ClientError, match=r"not authorized"):
            sqs.receive_message(QueueUrl=queue)
    assert aws.admin("sqs").receive_message(QueueUrl=queue)["Messages"]


@pytest.mark.parametrize(
    ("via", "allowed"),
    [(None, False), ("secretsmanager", False), ("sqs", True)],
)
def test_receiving_from_a_queue_under_its_own_key_needs_decrypt_through_sqs(
    aws: Emulator, via: str | None, allowed: bool
) -> None:
    """SQS decrypts for the receiver with the queue's customer-managed key: the role needs
    kms:Decrypt on that key, taken through SQS (moto does not ask for it)."""
    key = aws.admin("kms").create_key()["KeyMetadata"]
    queue = aws.admin("sqs").create_queue(
        QueueName=f"dev-sealed-{via}", Attributes={"KmsMasterKeyId": key["KeyId"]}
    )["QueueUrl"]
    role = _deployed(aws, f"sealed-{via}", ["sqs:ReceiveMessage"], [f"sealed-{via}"])
    if via is not None:
        grant = {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key["Arn"],
            "Condition": {"StringEquals": {"kms:ViaService": f"{via}.eu-west-1.amazonaws.com"}},
        }
        aws.admin("iam").put_role_policy(
            RoleName=role.id,
            PolicyName="decrypt",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
        )
    send(aws.admin("sqs"), queue, '{"n": "sealed"}', group="g", dedup="d")
    poller = _poller(aws, role)
    if allowed:
        assert [m["Body"] for m in received(poller, queue, "sealed")] == ['{"n": "sealed"}']
    else:
        with pytest.raises(ClientError, match=r"kms:Decrypt on " + key["Arn"]):
            received(poller, queue, "sealed")
    assert ("kms:Decrypt", key["Arn"]) in poller.calls.evaluated
