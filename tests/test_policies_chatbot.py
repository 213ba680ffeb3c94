"""chatbot-channel through `AnalyzeStack`: prod's AWS Chatbot Slack channels pass the whole
pack, and each case breaks one of them the way a careless change would."""

from __future__ import annotations

import copy
import json

import policy_cases as cases
import pytest
from policy_cases import Mutation, Plan, Verdicts, named, set_input

from contract.aws_types import CHATBOT_SLACK_CHANNEL_CONFIGURATION, IAM_ROLE, IAM_ROLE_POLICY

pytestmark = pytest.mark.slow

CHANNEL, ROLE = "lead-to-account-alerts-chatbot", "lead-to-account-alerts-chatbot-role"


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
    policy.update(type=IAM_ROLE_POLICY, name=f"{ROLE}-policy")
    policy["urn"] = role["urn"].replace(IAM_ROLE, IAM_ROLE_POLICY) + "-p"
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
def results() -> Verdicts:
    clean = cases.recorded_stack("prod")
    assert any(r["type"] == CHATBOT_SLACK_CHANNEL_CONFIGURATION for r in clean)
    return cases.judge(clean, [c[1] for c in CASES], stack="prod")


def test_prods_slack_channels_pass_the_whole_pack(
    results: Verdicts,
) -> None:
    assert [v.message for v in results[0] if v.level == "mandatory"] == []


@cases.each_case(("fragment",), CASES, 2)
def test_a_broken_slack_channel_is_refused_naming_the_integration_and_the_fix(
    results: Verdicts, index: int, fragment: str
) -> None:
    cases.assert_refused(results[1][index], "chatbot-channel", fragment, "lead-to-account")
