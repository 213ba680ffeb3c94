"""Required tags on every taggable resource, and their formats (docs/contracts.md "Tags")."""

from __future__ import annotations

import re

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from contract.aws_types import (
    CLOUDWATCH_COMPOSITE_ALARM,
    CLOUDWATCH_EVENT_BUS,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    IAM_POLICY,
    IAM_ROLE,
    IAM_USER,
    KMS_KEY,
    LAMBDA_EVENT_SOURCE_MAPPING,
    LAMBDA_FUNCTION,
    SCHEDULER_SCHEDULE_GROUP,
    SECRETS_MANAGER_SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
)
from contract.phases import ALARM_KINDS

from ._common import (
    ALERT_PATH_RE,
    ENVIRONMENTS,
    NAME_RE,
    config_list,
    environment_of,
    integration_hint,
    label,
    plain,
    stack_setting,
    tags_of,
)
from .audit import is_stack_resource

# Resource types of pulumi-aws 7 that accept `tags` and that an integration may create.
DEFAULT_TAGGABLE_TYPES = [
    CLOUDWATCH_COMPOSITE_ALARM,
    CLOUDWATCH_EVENT_BUS,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    IAM_POLICY,
    IAM_ROLE,
    IAM_USER,
    KMS_KEY,
    LAMBDA_EVENT_SOURCE_MAPPING,
    LAMBDA_FUNCTION,
    SCHEDULER_SCHEDULE_GROUP,
    SECRETS_MANAGER_SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
]
REQUIRED = ["integration", "owner", "phase", "environment", "runbook", "alert-path"]
ALARM_TYPES = (CLOUDWATCH_METRIC_ALARM, CLOUDWATCH_EVENT_RULE)
_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "integration": (NAME_RE, "the integration's name from the roadmap"),
    "owner": (re.compile(r"^\S.{0,254}$"), "the owner team"),
    "phase": (re.compile(r"^[2-5]$"), '"2".."5", the phase in this environment'),
    "environment": (re.compile(rf"^({'|'.join(ENVIRONMENTS)})$"), "dev, staging or prod"),
    "runbook": (re.compile(r"^https://\S+$"), "an https:// runbook URL"),
    "alert-path": (ALERT_PATH_RE, "<channel>:<target>, e.g. pagerduty:revops-oncall"),
}


def required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
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
    config = args.get_config()
    if args.resource_type not in config_list(config, "taggableTypes", DEFAULT_TAGGABLE_TYPES):
        return
    props = plain(args.props)
    tags = tags_of(props)
    if tags is None:
        return  # unknown during preview: cannot judge
    who = label(integration_hint(props, args.name))
    required = config_list(config, "requiredTags", REQUIRED)
    if is_stack_resource(args.name):  # the stack's audit trail belongs to no integration
        required = [k for k in required if k == "environment"]
    missing = [k for k in required if not tags.get(k)]
    if missing:
        report(
            f"{who}{args.name} lacks tag(s) {', '.join(missing)}. Fix: pass the integration's "
            "standard tags (docs/contracts.md) to this resource.",
            None,
        )
    for key, (pattern, expected) in _FORMATS.items():
        value = tags.get(key)
        if value and not pattern.match(value):
            report(f"{who}{args.name} tag {key}={value!r} is malformed; expected {expected}.", None)
    stack_env = stack_setting("environment") or environment_of(None)
    if tags.get("environment") and stack_env and tags["environment"] != stack_env:
        report(
            f"{who}{args.name} is tagged environment={tags['environment']} in the {stack_env} "
            f"stack. Fix: tag it environment={stack_env}.",
            None,
        )
    kind = tags.get("alarm")
    if kind is not None and args.resource_type not in ALARM_TYPES:
        report(f"{who}{args.name} has an alarm tag but is not an alarm. Fix: remove it.", None)
    elif kind is not None and kind not in ALARM_KINDS:
        report(
            f"{who}{args.name} tag alarm={kind!r} is not an alarm kind; expected one of "
            f"{', '.join(ALARM_KINDS)}.",
            None,
        )


REQUIRED_TAGS = ResourceValidationPolicy(
    name="required-tags",
    description="Taggable resources carry the integration's standard, well-formed tags.",
    validate=required_tags,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {"type": "array", "items": {"type": "string"}, "default": REQUIRED},
            "taggableTypes": {
                "type": "array",
                "items": {"type": "string"},
                "default": DEFAULT_TAGGABLE_TYPES,
            },
        }
    ),
)
