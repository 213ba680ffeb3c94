"""Required tags on every taggable resource, and their formats (docs/contracts.md "Tags")."""

from __future__ import annotations

import re

from contract import aws_types as aws
from contract.phases import ALARM_KINDS, ENVIRONMENTS

from ._common import (
    ALERT_PATH_RE,
    NAME_RE,
    config_list,
    environment_of,
    list_schema,
    stack_setting,
    tags_of,
)
from ._declare import Report, Subject, resource_policy
from .audit import is_stack_resource

# Resource types of pulumi-aws 7 that accept `tags` and that an integration may create.
DEFAULT_TAGGABLE_TYPES = [
    aws.CLOUDWATCH_COMPOSITE_ALARM,
    aws.CLOUDWATCH_EVENT_BUS,
    aws.CLOUDWATCH_EVENT_RULE,
    aws.CLOUDWATCH_LOG_GROUP,
    aws.CLOUDWATCH_METRIC_ALARM,
    aws.DYNAMODB_TABLE,
    aws.IAM_POLICY,
    aws.IAM_ROLE,
    aws.IAM_USER,
    aws.KMS_KEY,
    aws.LAMBDA_EVENT_SOURCE_MAPPING,
    aws.LAMBDA_FUNCTION,
    aws.SCHEDULER_SCHEDULE_GROUP,
    aws.SECRETS_MANAGER_SECRET,
    aws.SNS_TOPIC,
    aws.SQS_QUEUE,
]
REQUIRED = ["integration", "owner", "phase", "environment", "runbook", "alert-path"]
ALARM_TYPES = (aws.CLOUDWATCH_METRIC_ALARM, aws.CLOUDWATCH_EVENT_RULE)
_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "integration": (NAME_RE, "the integration's name from the roadmap"),
    "owner": (re.compile(r"^\S.{0,254}$"), "the owner team"),
    "phase": (re.compile(r"^[2-5]$"), '"2".."5", the phase in this environment'),
    "environment": (re.compile(rf"^({'|'.join(ENVIRONMENTS)})$"), "dev, staging or prod"),
    "runbook": (re.compile(r"^https://\S+$"), "an https:// runbook URL"),
    "alert-path": (ALERT_PATH_RE, "<channel>:<target>, e.g. pagerduty:revops-oncall"),
}


def required_tags(res: Subject, report: Report) -> None:
    """Every taggable resource carries integration, owner, phase, environment, runbook, alert-path.

    The stack's own audit resources (`audit.is_stack_resource`) carry `environment` only.

    Rationale: AWS tagging best practices (cost allocation, ownership, automation) and the
    integration operating model: whoever is paged must find the owner team, the runbook and
    the alert path from the resource alone. The `alarm` tag marks alarms only and names one
    of the alarm kinds of docs/contracts.md; the environment tag must match the stack's.

    Config:
      requiredTags (list of str): default the six keys above.
      taggableTypes (list of str): resource types checked; default the pulumi-aws 7 types an
        integration creates that accept tags.
    """
    config = res.config
    if res.type not in config_list(config, "taggableTypes", DEFAULT_TAGGABLE_TYPES):
        return
    tags = tags_of(res.props)
    if tags is None:
        return  # unknown during preview: cannot judge
    required = config_list(config, "requiredTags", REQUIRED)
    if is_stack_resource(res.name):  # the stack's audit trail belongs to no integration
        required = [k for k in required if k == "environment"]
    missing = [k for k in required if not tags.get(k)]
    if missing:
        report(
            f"{res.who} lacks tag(s) {', '.join(missing)}. Fix: pass the integration's "
            "standard tags (docs/contracts.md) to this resource."
        )
    for key, (pattern, expected) in _FORMATS.items():
        value = tags.get(key)
        if value and not pattern.match(value):
            report(f"{res.who} tag {key}={value!r} is malformed; expected {expected}.")
    stack_env = stack_setting("environment") or environment_of(None)
    if tags.get("environment") and stack_env and tags["environment"] != stack_env:
        report(
            f"{res.who} is tagged environment={tags['environment']} in the {stack_env} "
            f"stack. Fix: tag it environment={stack_env}."
        )
    kind = tags.get("alarm")
    if kind is not None and res.type not in ALARM_TYPES:
        report(f"{res.who} has an alarm tag but is not an alarm. Fix: remove it.")
    elif kind is not None and kind not in ALARM_KINDS:
        report(
            f"{res.who} tag alarm={kind!r} is not an alarm kind; expected one of "
            f"{', '.join(ALARM_KINDS)}."
        )


REQUIRED_TAGS = resource_policy(
    "required-tags",
    "Taggable resources carry the integration's standard, well-formed tags.",
    required_tags,
    config={
        "requiredTags": list_schema(REQUIRED),
        "taggableTypes": list_schema(DEFAULT_TAGGABLE_TYPES),
    },
)
