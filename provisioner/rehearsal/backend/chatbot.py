"""AWS Chatbot: a ``slack:`` alert path's Slack channel configuration, recorded, not created.

moto has no AWS Chatbot (docs/moto-differences.md). What the emulator can answer is
checked: the role exists and AWS Chatbot alone may assume it, every topic exists, each
guardrail is a policy ARN, and the Slack ids have the shapes the Chatbot API accepts
(CreateSlackChannelConfiguration API reference). The configuration is then kept in
``Ctx.recorded``, where its finder looks.

Usage::

    RESOURCES[CHATBOT_SLACK_CHANNEL_CONFIGURATION].create(ctx, "quote-to-order-alerts-chatbot", i)
"""

from __future__ import annotations

import json
import re

from botocore.exceptions import ClientError

from contract import aws_types
from contract.alerting import CHATBOT_SERVICE
from provisioner.rehearsal.backend import base
from provisioner.rehearsal.backend.base import Created, Ctx, Inputs, Resource

__all__ = ["RESOURCES"]


def _role_problems(c: Ctx, i: Inputs) -> list[str]:
    role_name = str(i.get("iamRoleArn", "")).rsplit("/", 1)[-1]
    try:
        trust = c("iam").get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    except ClientError as err:
        return [f"role {role_name}: {err}"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    services = [
        p
        for st in trust.get("Statement", [])
        for p in base.as_list((st.get("Principal") or {}).get("Service"))
    ]
    if services != [CHATBOT_SERVICE]:
        return [f"role {role_name} is trusted by {services}, not {CHATBOT_SERVICE} alone"]
    return []


def _topic_problems(c: Ctx, i: Inputs) -> list[str]:
    problems = []
    for topic in base.as_list(i.get("snsTopicArns")):
        try:
            c("sns").get_topic_attributes(TopicArn=topic)
        except ClientError as err:
            problems.append(f"topic {topic}: {err}")
    return problems


def _shape_problems(i: Inputs) -> list[str]:
    problems = []
    for policy in base.as_list(i.get("guardrailPolicyArns")):
        # moto does not load AWS managed policies; their ARN shape is what can be checked.
        if not re.fullmatch(r"arn:aws:iam::(aws|\d{12}):policy/[\w+=,.@/-]+", str(policy)):
            problems.append(f"guardrail {policy!r} is not an IAM policy ARN")
    if not re.fullmatch(r"[0-9A-Z]{1,255}", str(i.get("slackTeamId", ""))):
        problems.append(f"slackTeamId {i.get('slackTeamId')!r} is not a Slack workspace id")
    if not re.fullmatch(r"[A-Za-z0-9]{1,255}", str(i.get("slackChannelId", ""))):
        problems.append(f"slackChannelId {i.get('slackChannelId')!r} is not a Slack channel id")
    return problems


def _slack_channel(c: Ctx, name: str, i: Inputs) -> Created:
    problems = [*_role_problems(c, i), *_topic_problems(c, i), *_shape_problems(i)]
    if problems:
        raise base.CreationFailed(f"AWS Chatbot configuration {name!r}: " + "; ".join(problems))
    config_name = base.physical(name, i, "configurationName")
    arn = f"arn:aws:chatbot::{c.account}:chat-configuration/slack-channel/{config_name}"
    c.recorded[arn] = base.state(i, chatConfigurationArn=arn)
    return arn, c.recorded[arn]


RESOURCES: dict[str, Resource] = {
    aws_types.CHATBOT_SLACK_CHANNEL_CONFIGURATION: Resource(
        _slack_channel, lambda c, rid, o: c.recorded[rid]
    ),
}
