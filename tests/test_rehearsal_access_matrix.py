"""The SQS access matrix in the emulator: who signs each probe, whose policies it judges,
and a foreign queue its resource policy opens is caught by evaluation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components._scope import LAMBDA_TRUST_POLICY, policy_document
from contract.aws_types import (
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER,
    IAM_USER_POLICY,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from provisioner.rehearsal.access import (
    IdentityPolicies,
    SigningClient,
    assume,
    identity_policies,
    sqs_matrix,
)
from provisioner.rehearsal.backend import AwsCreator
from provisioner.rehearsal.emulator import Emulator
from provisioner.rehearsal.inventory import Inventory

pytestmark = pytest.mark.slow

# More than FOREIGN_LIVE_SAMPLE others each, so some foreign queues are judged by
# evaluation alone.
INTEGRATIONS = ("quote-to-order", "invoice-sync", "lead-to-account", "ticket-escalation")
# What a role needs on its own queue (the Lambda SQS trigger's polling).
CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


@pytest.fixture
def aws() -> Any:
    with Emulator(region="eu-west-1", account_id="111111111111") as emulator:
        yield emulator


def _deploy(creator: AwsCreator, name: str) -> dict[str, Any]:
    """One integration's role and queue, the role consuming its own queue; the queue's
    policy denies plain HTTP to everyone, as every deployed queue's does."""
    _, queue = creator.create(SQS_QUEUE, f"{name}-queue", {"name": f"dev-{name}-queue"})
    role, outputs = creator.create(
        IAM_ROLE, f"{name}-role", {"name": f"dev-{name}", "assumeRolePolicy": LAMBDA_TRUST_POLICY}
    )
    consume = {"Effect": "Allow", "Action": CONSUME, "Resource": queue["arn"]}
    creator.create(
        IAM_ROLE_POLICY,
        f"{name}-role-policy",
        {"role": role, "name": "consume", "policy": policy_document([consume])},
    )
    return {"queue": queue, "role": outputs}


def _queue_policy(queue: dict[str, Any], *allowed: str) -> str:
    """The plain-HTTP Deny for everyone, and SendMessage allowed to ``allowed`` ARNs."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue["arn"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if allowed:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": list(allowed)},
                "Action": "sqs:SendMessage",
                "Resource": queue["arn"],
            }
        )
    return policy_document(statements)


def test_a_foreign_queue_its_policy_opens_to_a_role_fails_that_roles_matrix(
    aws: Emulator,
) -> None:
    creator = AwsCreator(aws)
    deployed = {name: _deploy(creator, name) for name in INTEGRATIONS}
    opened_to = deployed["quote-to-order"]["role"]["arn"]
    for name, parts in deployed.items():
        allowed = () if name == "quote-to-order" else (opened_to,)
        creator.create(
            SQS_QUEUE_POLICY,
            f"{name}-queue-policy",
            {"queueUrl": parts["queue"]["url"], "policy": _queue_policy(parts["queue"], *allowed)},
        )

    checks = {
        c.name: c for c in sqs_matrix(aws, Inventory.from_created(creator.created, INTEGRATIONS))
    }

    opened = checks["access-matrix:sqs:quote-to-order"]
    assert not opened.ok
    for name in INTEGRATIONS[1:]:
        queue = f"dev-{name}-queue"
        assert f"may sqs:SendMessage on {name}'s queue {queue} (evaluated)" in opened.detail
    assert all(checks[f"access-matrix:sqs:{name}"].ok for name in INTEGRATIONS[1:])


def test_a_signing_client_calls_as_the_principal_it_was_last_given(aws: Emulator) -> None:
    creator = AwsCreator(aws)
    first, second = (_deploy(creator, name) for name in INTEGRATIONS[:2])
    signing = SigningClient(aws, "sqs")
    credentials = [assume(aws, parts["role"]["arn"]) for parts in (first, second)]
    with aws.iam_enforced():
        for own, other, signer in (
            (first, second, credentials[0]),
            (second, first, credentials[1]),
        ):
            sqs = signing.sign_as(signer)
            sqs.get_queue_attributes(QueueUrl=own["queue"]["url"], AttributeNames=["QueueArn"])
            with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
                sqs.get_queue_attributes(
                    QueueUrl=other["queue"]["url"], AttributeNames=["QueueArn"]
                )


def test_policies_read_all_at_once_are_each_principals_own(aws: Emulator) -> None:
    creator = AwsCreator(aws)
    parts = _deploy(creator, "quote-to-order")
    send = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": parts["queue"]["arn"]}
    managed, _ = creator.create(
        IAM_POLICY, "quote-to-order-send", {"name": "dev-send", "policy": policy_document([send])}
    )
    creator.create(
        IAM_ROLE_POLICY_ATTACHMENT,
        "quote-to-order-role-send",
        {"role": parts["role"]["name"], "policyArn": managed},
    )
    user, _ = creator.create(IAM_USER, "quote-to-order-pusher", {"name": "dev-pusher"})
    creator.create(
        IAM_USER_POLICY,
        "quote-to-order-pusher-policy",
        {"user": user, "name": "send", "policy": policy_document([send])},
    )

    every = IdentityPolicies(aws)

    for kind, name in (("role", parts["role"]["name"]), ("user", user)):
        assert sorted(map(json.dumps, every(kind, name))) == sorted(
            map(json.dumps, identity_policies(aws, kind, name))
        )
    assert len(every("role", parts["role"]["name"])) == 2
