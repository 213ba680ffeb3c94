"""Per-stack settings: what differs between stacks, and what in them contradicts the roadmap.

A stack is not an environment: each stack declares the environment whose rules it follows
(`dev`, `staging` or `prod`: the roadmap's phases, rotation limits, protection) and the
prefix of its physical names (default: the stack name), so `dev`, `dev-alice` and
`pr-123` coexist in one account. `roadmap.stack_config` reads them from a stack file or
from Pulumi config; `roadmap.alarm_routing` says where their alarms go.

Usage::

    settings = load_stack_settings(Path("stacks"), "prod")
    stack_problems(settings, roadmap)  # [] when the stack can deploy the roadmap
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from contract.connectors import SNOWFLAKE
from contract.naming import CONFIG_NAMESPACE, PREFIX_PATTERN
from roadmap.alarm_routing import AlarmRouting
from roadmap.budget import salesforce_calls_per_day
from roadmap.concurrency import MIN_UNRESERVED, reserved_concurrency
from roadmap.model import Roadmap
from roadmap.problems import Problem, allowed_pattern

__all__ = [
    "AUDIT_TRAIL_CREATE",
    "AUDIT_TRAIL_NONE",
    "AWS_KEYS",
    "STACK_NAME_PATTERN",
    "SnowflakeStage",
    "StackSettings",
    "stack_problems",
]


# Pulumi stack names: letters, digits, `-`, `_` and `.` (Pulumi docs, "Stacks":
# https://www.pulumi.com/docs/iac/concepts/stacks/).
STACK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"

# Settings of the `aws:` namespace (the provider's own configuration) and their model field.
AWS_KEYS = {"aws:region": "region", "aws:allowedAccountIds": "allowedAccountIds"}

AccountId = Annotated[
    str, StringConstraints(pattern=allowed_pattern(r"^\d{12}$", "a 12-digit AWS account id"))
]
# An IAM role or user as `aws:PrincipalArn` names it (IAM user guide, "IAM identifiers").
PrincipalArn = Annotated[
    str,
    StringConstraints(
        pattern=allowed_pattern(
            r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$",
            "an IAM role or user ARN such as arn:aws:iam::123456789012:role/ci-deployer",
        )
    ),
]

# `auditTrail`: the stack creates its own trail, names an existing (organisation) trail by
# ARN (CloudTrail API reference, "Trail": TrailARN), or has none (not in prod).
AUDIT_TRAIL_CREATE = "create"
AUDIT_TRAIL_NONE = "none"
TRAIL_ARN_PATTERN = r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}$"

# Snowflake's own AWS principal for a storage integration, an IAM user of Snowflake's
# account (IAM user guide, "IAM identifiers").
SNOWFLAKE_USER_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:user/[\w+=,.@/-]{1,64}$"
# sts:AssumeRole ExternalId: 2-1224 characters of [\w+=,.@:/-] (STS API reference,
# AssumeRole: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
EXTERNAL_ID = r"^[\w+=,.@:/-]{2,}$"
EXTERNAL_ID_MAX_LENGTH = 1224
# arn:aws:sqs:region:account:queue, queue names up to 80 characters (SQS CreateQueue).
SQS_QUEUE_ARN = r"^arn:aws[a-z-]*:sqs:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[\w-]{1,80}$"

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
# arn:partition:iam::account:policy/path/name (IAM User Guide, "IAM identifiers", IAM ARNs;
# names and paths use [\w+=,.@-], a path is /-separated).
POLICY_ARN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$"


class SnowflakeStage(BaseModel):
    """What Snowflake tells about one warehouse integration's storage integration and pipe.

    Copied exactly as Snowflake prints them: `DESC INTEGRATION <name>` shows
    STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID, `SHOW PIPES` the pipe's
    notification_channel (Snowflake docs, "Configuring a Snowflake storage integration to
    access Amazon S3" and "Automating Snowpipe for Amazon S3"). Without a channel the stage
    sends no event notification and the loads run by COPY on a schedule.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    storage_aws_iam_user_arn: str = Field(
        alias="storageAwsIamUserArn",
        pattern=allowed_pattern(
            SNOWFLAKE_USER_ARN,
            "the IAM user ARN DESC INTEGRATION prints as STORAGE_AWS_IAM_USER_ARN, such as "
            "arn:aws:iam::123456789001:user/abc1-b-self1234",
        ),
    )
    storage_aws_external_id: str = Field(
        alias="storageAwsExternalId",
        max_length=EXTERNAL_ID_MAX_LENGTH,
        pattern=allowed_pattern(
            EXTERNAL_ID,
            "the value DESC INTEGRATION prints as STORAGE_AWS_EXTERNAL_ID, such as "
            "MYACCOUNT_SFCRole=2_a123456/s0aBCDEfGHIJklmNoPq=",
        ),
    )
    pipe_notification_channel_arn: str | None = Field(
        alias="pipeNotificationChannelArn",
        default=None,
        pattern=allowed_pattern(
            SQS_QUEUE_ARN,
            "the SQS queue ARN SHOW PIPES prints as notification_channel, such as "
            "arn:aws:sqs:eu-west-1:123456789001:sf-snowpipe-AIDA1234567890-abcd",
        ),
    )


class StackSettings(BaseModel):
    """Everything that differs between stacks: the environment's rules and the stack's own."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    environment: Literal["dev", "staging", "prod"]
    # The `{prefix}` of every physical name (contract/naming.py); the stack name by default.
    name_prefix: str = Field(
        alias="namePrefix",
        pattern=allowed_pattern(
            PREFIX_PATTERN,
            "2-16 lower-case letters, digits or hyphens, starting with a letter and ending "
            "with a letter or digit",
        ),
    )
    region: str = Field(
        pattern=allowed_pattern(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "an AWS region such as eu-west-1")
    )
    # `aws:allowedAccountIds`: the AWS provider refuses to run in any other account, so a
    # dev stack's config can never touch prod. The account itself comes from the engine
    # (`aws.get_caller_identity()`), never from a setting.
    allowed_account_ids: tuple[AccountId, ...] = Field(alias="allowedAccountIds", default=())
    max_rotation_days: int = Field(alias="maxRotationDays", ge=1, le=365)
    log_retention_days: int = Field(alias="logRetentionDays")
    alarm_routing: AlarmRouting = Field(alias="alarmRouting", default_factory=AlarmRouting)
    protect_stateful: bool = Field(alias="protectStateful", default=False)
    salesforce_api_allocation: int | None = Field(
        alias="salesforceApiAllocation", default=None, gt=0
    )
    # The account's Lambda concurrent executions (Service Quotas, "Concurrent executions"),
    # less what functions outside this stack reserve in it: `validate` checks the
    # stack's reservations leave AWS's 100 unreserved (roadmap.concurrency). Unset: unchecked.
    lambda_concurrency_limit: int | None = Field(alias="lambdaConcurrencyLimit", default=None, gt=0)
    kill_switch: tuple[str, ...] = Field(alias="killSwitch", default=())
    permissions_boundary_arn: str | None = Field(alias="permissionsBoundaryArn", default=None)
    # Who besides the deploying principal administers the secrets' fences: every principal
    # that runs `pulumi up` on the stack (a CI role, a break-glass role), since the fence
    # written by one deployer shuts out any other (components/credential.py).
    secret_administrator_arns: tuple[PrincipalArn, ...] = Field(
        alias="secretAdministratorArns", default=()
    )
    # Each batch run re-reads this far behind its watermark, for records whose source clock
    # lags (their modified_at lands behind the mark); record versions absorb the re-read.
    batch_overlap_seconds: int = Field(alias="batchOverlapSeconds", default=300, ge=0, le=86400)
    # Who records the integrations' function invocations and secret reads: `create` (the
    # default) gives the stack its own trail (components/audit.py), a trail ARN names an
    # existing organisation trail the rehearsal checks covers them, `none` records nothing
    # beyond the account's 90-day event history (refused in prod).
    audit_trail: str = Field(alias="auditTrail", default=AUDIT_TRAIL_CREATE)
    # Per warehouse integration with a Snowflake target: its storage integration's principal
    # and external id, and its pipe's queue (SnowflakeStage); required from phase 3.
    snowflake: dict[str, SnowflakeStage] = Field(default_factory=dict)
    roadmap: str = "roadmap.yaml"
    # Config keys whose value is (or holds) a secret: a `secure:` value in the stack file.
    # The program passes what comes from them on as Pulumi secrets; offline they read as
    # SECRET. Set by the readers below, not a key of the stack file.
    secret_keys: frozenset[str] = Field(default=frozenset(), exclude=True)

    @field_validator("protect_stateful")
    @classmethod
    def _prod_is_protected(cls, protect: bool, info: ValidationInfo) -> bool:
        # Production keeps its stateful resources (and its secrets' recovery window):
        # a stack of the prod environment cannot opt out.
        if info.data.get("environment") == "prod" and not protect:
            raise ValueError("a prod stack protects its stateful resources; set it to true")
        return protect

    @field_validator("allowed_account_ids", mode="before")
    @classmethod
    def _quoted_accounts(cls, ids: Any) -> Any:
        if isinstance(ids, list | tuple) and any(isinstance(i, int) for i in ids):
            raise ValueError(
                'account ids must be quoted strings (["012345678901"]): as a number an id '
                "loses its leading zeros"
            )
        return ids

    @field_validator("audit_trail")
    @classmethod
    def _audit_trail(cls, value: str, info: ValidationInfo) -> str:
        if value not in (AUDIT_TRAIL_CREATE, AUDIT_TRAIL_NONE) and not re.match(
            TRAIL_ARN_PATTERN, value
        ):
            raise ValueError(
                f"{value!r} is neither `create`, `none` nor a trail ARN "
                "(arn:aws:cloudtrail:<region>:<account>:trail/<name>)"
            )
        if value == AUDIT_TRAIL_NONE and info.data.get("environment") == "prod":
            raise ValueError(
                "a prod stack records who invokes its functions and reads its secrets; "
                "use `create` or the ARN of the organisation trail that covers them"
            )
        return value

    @property
    def existing_trail_arn(self) -> str | None:
        """The organisation trail the stack relies on, when it names one."""
        return self.audit_trail if self.audit_trail.startswith("arn:") else None

    def is_secret(self, key: str) -> bool:
        """True when config key `key` (`alarmRouting`) holds a secret value."""
        return key in self.secret_keys

    @field_validator("permissions_boundary_arn")
    @classmethod
    def _boundary(cls, arn: str | None) -> str | None:
        if arn is not None and not re.match(POLICY_ARN, arn):
            raise ValueError(
                f"{arn!r} is not an IAM managed policy ARN; expected "
                "arn:aws:iam::123456789012:policy/NAME (or remove the setting)"
            )
        return arn

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"{days} is not a CloudWatch Logs retention; use one of: {allowed}")
        return days

    def trigger_enabled(self, integration: str) -> bool:
        """False when the kill switch holds the integration's triggers off (rollback)."""
        return integration not in self.kill_switch


def stack_problems(settings: StackSettings, roadmap: Roadmap) -> list[Problem]:
    """What in the stack's settings contradicts the roadmap it deploys.

    * every kill-switch entry names an integration of the roadmap (a typo would leave the
      trigger it meant to stop running);
    * ``salesforceApiAllocation`` (this stack's org, e.g. a sandbox) covers the Salesforce
      API calls/day of the integrations active in this stack, minus the roadmap's headroom;
    * every ``slack:`` alert path of an integration with alarms here (phase >= 3) has its
      Slack channel in ``alarmRouting.slack`` (or an explicit endpoint), unless the stack
      sends such paths to its fallback e-mail on purpose (``slackFallbackToEmail``, never
      in prod): alarms must not quietly land somewhere nobody reads;
    * the concurrency the stack's functions reserve leaves the account's
      ``lambdaConcurrencyLimit`` at least the 100 unreserved executions AWS requires.
    """
    key = f"config.{CONFIG_NAMESPACE}:"
    problems: list[Problem] = []
    routing = settings.alarm_routing
    if routing.slack_fallback_to_email and settings.environment == "prod":
        problems.append(
            Problem(
                f"{key}alarmRouting.slackFallbackToEmail",
                "prod pages people in Slack through AWS Chatbot, never a fallback e-mail; "
                "remove it and name each slack: path's channel under alarmRouting.slack",
            )
        )
    for integ in roadmap.active(settings.environment):
        path = integ.alert_path
        if (
            path.startswith("slack:")
            and integ.phase(settings.environment) >= 3
            and path not in routing.slack
            and path not in routing.endpoints
            and not routing.slack_fallback_to_email
        ):
            problems.append(
                Problem(
                    f"{key}alarmRouting.slack",
                    f"{integ.name}'s alerts go to {path}, which names no Slack channel here, so "
                    "they would reach only the fallback e-mail; add "
                    f'"{path}": {{workspaceId: T..., channelId: C...}} (the ids AWS Chatbot '
                    "shows once the workspace is authorised), or change the alert path",
                )
            )
    known = [i.name for i in roadmap.integrations]
    problems += _snowflake_problems(settings, roadmap, key)
    for n, name in enumerate(settings.kill_switch):
        if name not in known:
            problems.append(
                Problem(
                    f"{key}killSwitch[{n}]",
                    f"unknown integration {name!r}, so no trigger would stop; use one of: "
                    + ", ".join(known),
                )
            )
    problems += _concurrency_problems(settings, roadmap, key)
    allocation = settings.salesforce_api_allocation
    if allocation is not None:
        headroom = roadmap.settings.api_headroom_percent
        budget = allocation * (100 - headroom) // 100
        for system in (s for s in roadmap.systems if s.salesforce is not None):
            users = [
                i
                for i in roadmap.active(settings.environment)
                if system.name in (i.source, i.target)
            ]
            total = sum(
                salesforce_calls_per_day(i, roadmap, phase=i.phase(settings.environment))
                for i in users
            )
            if total > budget:
                problems.append(
                    Problem(
                        f"{key}salesforceApiAllocation",
                        f"the integrations active in {settings.environment} spend {total:,} "
                        f"{system.name} API calls/day but this org allows {budget:,} "
                        f"({allocation:,} minus the roadmap's {headroom}% headroom); set the "
                        "org's real allocation, or lower the integrations' "
                        "service_levels.expected_records_per_day or schedules",
                    )
                )
    return problems


def _concurrency_problems(settings: StackSettings, roadmap: Roadmap, key: str) -> list[Problem]:
    """The stack's reservations fit the account's concurrency, 100 left unreserved."""
    limit = settings.lambda_concurrency_limit
    reserved = reserved_concurrency(roadmap, settings.environment)
    total = sum(reserved.values())
    if limit is None or total <= limit - MIN_UNRESERVED:
        return []
    each = ", ".join(f"{name} {count}" for name, count in sorted(reserved.items()))
    return [
        Problem(
            f"{key}lambdaConcurrencyLimit",
            f"the webhook ingresses active in {settings.environment} reserve {total} concurrent "
            f"executions ({each}), but an account of {limit} can reserve at most "
            f"{max(limit - MIN_UNRESERVED, 0)}: AWS keeps {MIN_UNRESERVED} unreserved and "
            "refuses the rest at `pulumi up`; raise the account's Lambda concurrency quota "
            "(Service Quotas) and set the new figure here, or lower those integrations' "
            "service_levels.expected_records_per_day",
        )
    ]


def _snowflake_problems(settings: StackSettings, roadmap: Roadmap, key: str) -> list[Problem]:
    """Every staged Snowflake integration here has its storage integration's values.

    An entry for an integration the roadmap lacks is left alone: one stack file serves
    other roadmaps too (`--roadmap`), and such values grant nothing.
    """
    problems: list[Problem] = []
    for integ in roadmap.active(settings.environment):
        warehouse = roadmap.stage_warehouse(integ, settings.environment)
        if warehouse == SNOWFLAKE and integ.name not in settings.snowflake:
            problems.append(
                Problem(
                    f"{key}snowflake.{integ.name}",
                    f"missing: {integ.name} stages its records for Snowflake, whose storage "
                    "integration must be trusted by name; create the storage integration with "
                    "the stage role's ARN (plan shows it), then copy from DESC INTEGRATION: "
                    f"{integ.name}: {{storageAwsIamUserArn: <STORAGE_AWS_IAM_USER_ARN>, "
                    "storageAwsExternalId: <STORAGE_AWS_EXTERNAL_ID>}",
                )
            )
    return problems
