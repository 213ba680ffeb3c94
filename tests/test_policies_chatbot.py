"""chatbot-channel through `AnalyzeStack`: prod's AWS Chatbot Slack channels pass the whole
pack, and each case breaks one of them the way a careless change would."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from program_runs import stack_run
from test_policies_hardening import named, set_input

from contract.alerting import CHATBOT_TYPE
from provisioner.policy_harness import PolicyHarness, Violation, stack_config

pytestmark = pytest.mark.slow

Plan = list[dict[str, Any]]
Mutation = Callable[[Plan], None]
CHANNEL, ROLE = "lead-to-account-alerts-chatbot", "lead-to-account-alerts-chatbot-role"


def prod_stack() -> Plan:
    return [{**r.to_json(), "options": dict(r.options)} for r in stack_run("prod").resources]


def other_topic(plan: Plan) -> None:
    topic = named(plan, "quote-to-order-alerts", ":Topic")["outputs"]["arn"]
    named(plan, CHANNEL)["inputs"]["snsTopicArns"] = [topic]


def grant_role(plan: Plan) -> None:
    role = named(plan, ROLE, ":Role")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [named(plan, "lead-to-account-queue", ":Queue")["outputs"]["arn"]],
            }
        ],
    }
    policy = copy.deepcopy(role)
    policy.update(type="aws:iam/rolePolicy:RolePolicy", name=f"{ROLE}-policy")
    policy["urn"] = role["urn"].replace("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy") + "-p"
    policy["inputs"] = {"role": role["outputs"]["id"], "policy": json.dumps(document)}
    plan.append(policy)


def trust_lambda_too(plan: Plan) -> None:
    role = named(plan, ROLE, ":Role")["inputs"]
    trust = json.loads(role["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["Service"] = [
        "chatbot.amazonaws.com",
        "lambda.amazonaws.com",
    ]
    role["assumeRolePolicy"] = json.dumps(trust)


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
# (mutation, message fragment)
CASES: list[tuple[str, Mutation, str]] = [
    ("admin guardrail", set_input(CHANNEL, "guardrailPolicyArns", [ADMIN]), "has guardrails"),
    ("no guardrail", set_input(CHANNEL, "guardrailPolicyArns", []), "AdministratorAccess"),
    ("members act as the role", set_input(CHANNEL, "userAuthorizationRequired", False),
     "lets channel members act as its role"),
    ("another integration's topic", other_topic, "not lead-to-account's alert topic"),
    ("role granted permissions", grant_role, "is granted permissions"),
    ("role trusted by Lambda too", trust_lambda_too, "trust chatbot.amazonaws.com alone"),
]  # fmt: skip


@pytest.fixture(scope="module")
def results() -> tuple[list[Violation], list[list[Violation]]]:
    clean = prod_stack()
    assert any(r["type"] == CHATBOT_TYPE for r in clean)
    with PolicyHarness(stack="prod", config=stack_config("prod")) as pack:
        baseline = pack.analyze_stack(clean)
        found = []
        for _, mutate, _ in CASES:
            plan = copy.deepcopy(clean)
            mutate(plan)
            found.append(pack.analyze_stack(plan))
    return baseline, found


def test_prods_slack_channels_pass_the_whole_pack(
    results: tuple[list[Violation], list[list[Violation]]],
) -> None:
    assert [v.message for v in results[0] if v.level == "mandatory"] == []


@pytest.mark.parametrize(("index", "fragment"), [(i, c[2]) for i, c in enumerate(CASES)],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_broken_slack_channel_is_refused_naming_the_integration_and_the_fix(
    results: tuple[list[Violation], list[list[Violation]]], index: int, fragment: str
) -> None:
    found = [v for v in results[1][index] if v.policy == "chatbot-channel"]
    hits = [v for v in found if fragment in v.message]
    assert hits, [v.message for v in results[1][index]]
    assert all("[lead-to-account]" in v.message and "Fix:" in v.message for v in hits)
    assert all(v.level == "mandatory" for v in found)
