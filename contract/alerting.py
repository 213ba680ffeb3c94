"""Alert paths, and how a `slack:` one reaches Slack: an AWS Chatbot Slack channel
configuration.

An alert path (`pagerduty:revops-oncall`) is `<channel>:<target>` (`ALERT_PATH`): the
roadmap validates it, the components tag resources and name topics with it, the policy
pack checks the tag.

The Chatbot configuration is defined once; the components create it, the policy pack
judges it and the rehearsal checks what the emulator cannot create.

- The configuration `{prefix}-{integration}-alerts-chatbot` posts what the integration's
  alert topic receives to one Slack channel (`alarmRouting.slack` in the stack file).
- It runs as its own IAM role of the same name, trusted by AWS Chatbot alone and granted
  nothing: relaying notifications needs no permission (Chatbot administrator guide,
  "Understanding permissions": the channel role is for commands run from the channel).
- Its channel guardrail is read-only (`CHATBOT_GUARDRAILS`): without one, Chatbot applies
  AdministratorAccess (CreateSlackChannelConfiguration API reference,
  GuardrailPolicyArns), and every channel member must use their own IAM identity
  (`UserAuthorizationRequired`).
"""

from __future__ import annotations

__all__ = [
    "ALERT_CHANNELS",
    "ALERT_PATH",
    "CHATBOT_GUARDRAILS",
    "CHATBOT_ROLE",
    "CHATBOT_SERVICE",
]

ALERT_CHANNELS = ("pagerduty", "opsgenie", "slack", "email", "teams")
# Alert paths become AWS tag values and SNS topic names: no '#', no spaces.
ALERT_PATH = rf"^({'|'.join(ALERT_CHANNELS)}):[A-Za-z0-9@._+-]{{2,100}}$"

CHATBOT_SERVICE = "chatbot.amazonaws.com"
# The role word of both the configuration and its role (contract.naming: `alerts-...`).
CHATBOT_ROLE = "alerts-chatbot"
# AWS managed, read-only: look at alarms and metrics from the channel, change nothing.
CHATBOT_GUARDRAILS = ("arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",)
