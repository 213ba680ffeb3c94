"""Where a stack's alarms go: each alert path's subscription (SNS endpoint or AWS Chatbot
Slack channel), and whether it delivers once deployed.

Usage::

    routing = settings.alarm_routing
    routing.delivery("pagerduty:revops-oncall").state  # 'confirmed'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from roadmap.problems import allowed_pattern

__all__ = ["AlarmEndpoint", "AlarmRouting", "Delivery", "SlackChannel"]


class AlarmEndpoint(BaseModel):
    """Where one alert path's SNS topic delivers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    protocol: Literal["email", "https", "sqs", "lambda"]
    endpoint: str = Field(min_length=3)


class SlackChannel(BaseModel):
    """The Slack channel an alert path's AWS Chatbot configuration posts to."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    # AWS Chatbot API reference, CreateSlackChannelConfiguration: SlackTeamId
    # `^[0-9A-Z]{1,255}$`, SlackChannelId `^[A-Za-z0-9]+$` (1-255).
    workspace_id: str = Field(
        alias="workspaceId",
        pattern=allowed_pattern(
            r"^[0-9A-Z]{1,255}$", "the Slack workspace (team) id, e.g. T07EA123LEP"
        ),
    )
    channel_id: str = Field(
        alias="channelId",
        pattern=allowed_pattern(r"^[A-Za-z0-9]{1,255}$", "the Slack channel id, e.g. C07EZ1ABC23"),
    )


@dataclass(frozen=True)
class Delivery:
    """Whether an alert path's subscription delivers once deployed, and why (or why not).

    ``confirmed``: SNS delivers as soon as the subscription exists (SQS, Lambda) or the
    endpoint confirms it itself (HTTPS, e.g. PagerDuty's CloudWatch integration), which the
    deployment waits for. ``pending``: an e-mail subscription delivers nothing until someone
    opens the confirmation mail (SNS Developer Guide, "Email notifications").
    A ``slack:`` path with a channel in ``alarmRouting.slack`` gets an AWS Chatbot Slack
    channel configuration: ``waiting`` on a person, who authorises the workspace for Chatbot
    once in the Chatbot console (Chatbot administrator guide, "Tutorial: Get started with
    Slack"); nothing here can tell whether that was done. ``misrouted``: a ``slack:`` path
    reaches only the fallback e-mail, since no Slack channel is configured for it
    (``stack_problems`` refuses that unless the stack says ``slackFallbackToEmail``).
    ``none``: nobody is subscribed.
    """

    endpoint: AlarmEndpoint | None
    state: Literal["confirmed", "pending", "waiting", "misrouted", "none"]
    reason: str


class AlarmRouting(BaseModel):
    """How alert paths map to subscriptions in this environment."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    fallback_email: str | None = Field(default=None, alias="fallbackEmail")
    endpoints: dict[str, AlarmEndpoint] = Field(default_factory=dict)
    # `slack:` alert path -> the channel its AWS Chatbot configuration posts to.
    slack: dict[str, SlackChannel] = Field(default_factory=dict)
    # A stack without Slack (a sandbox) may send `slack:` paths to fallbackEmail, saying so.
    slack_fallback_to_email: bool = Field(default=False, alias="slackFallbackToEmail")

    @field_validator("slack")
    @classmethod
    def _slack_paths(cls, value: dict[str, SlackChannel]) -> dict[str, SlackChannel]:
        wrong = [path for path in value if not path.startswith("slack:")]
        if wrong:
            raise ValueError(
                f"alarmRouting.slack names alert paths, each starting with 'slack:'; got {wrong}"
            )
        return value

    def slack_channel(self, alert_path: str) -> SlackChannel | None:
        """The Chatbot channel of a ``slack:`` path (None: none configured here)."""
        return self.slack.get(alert_path)

    def endpoint_for(self, alert_path: str) -> AlarmEndpoint | None:
        """The explicit endpoint, an `email:` path's own address, or the fallback email
        (none for a `slack:` path that has its Chatbot channel)."""
        if alert_path in self.endpoints:
            return self.endpoints[alert_path]
        if alert_path in self.slack:
            return None
        channel, _, target = alert_path.partition(":")
        if channel == "email":
            return AlarmEndpoint(protocol="email", endpoint=target)
        if self.fallback_email:
            return AlarmEndpoint(protocol="email", endpoint=self.fallback_email)
        return None

    def delivery(self, alert_path: str) -> Delivery:
        """How ``alert_path``'s alarms arrive (see ``Delivery``)."""
        channel = self.slack_channel(alert_path)
        if channel is not None and alert_path not in self.endpoints:
            return Delivery(
                None,
                "waiting",
                f"AWS Chatbot posts to Slack channel {channel.channel_id} of workspace "
                f"{channel.workspace_id}; pending until an administrator authorises that "
                "workspace in the AWS Chatbot console (a one-time manual step)",
            )
        endpoint = self.endpoint_for(alert_path)
        if endpoint is None:
            return Delivery(None, "none", "no endpoint and no fallbackEmail: nobody is paged")
        where = f"{endpoint.protocol} {endpoint.endpoint}"
        if alert_path.startswith("slack:") and alert_path not in self.endpoints:
            if self.slack_fallback_to_email:
                return Delivery(
                    endpoint,
                    "pending",
                    f"{alert_path} goes to the fallback e-mail {endpoint.endpoint} on purpose "
                    "here (slackFallbackToEmail); pending until someone confirms the "
                    "subscription e-mail",
                )
            return Delivery(
                endpoint,
                "misrouted",
                f"{alert_path} has no Slack channel (AWS Chatbot) configured here; its alarms "
                f"go to the fallback e-mail {endpoint.endpoint} instead",
            )
        if endpoint.protocol == "email":
            return Delivery(
                endpoint,
                "pending",
                f"{where}: pending until someone confirms the subscription e-mail",
            )
        if endpoint.protocol == "https":
            return Delivery(endpoint, "confirmed", f"{where} (confirms itself on deploy)")
        return Delivery(endpoint, "confirmed", where)
