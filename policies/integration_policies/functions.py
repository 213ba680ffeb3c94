"""Function policies (one resource at a time): log retention, SQS triggers, invoke permissions."""

from __future__ import annotations

from typing import Any

from contract.aws_types import CLOUDWATCH_LOG_GROUP, LAMBDA_EVENT_SOURCE_MAPPING, LAMBDA_PERMISSION
from contract.naming import WEBHOOK_INGRESS_ROLE

from ._common import (
    EnvironmentBound,
    as_int,
    as_list,
    config_int,
    environment_of,
    is_unknown,
    tags_of,
)
from ._declare import Report, Subject, resource_policy

MIN_RETENTION_DAYS = EnvironmentBound("minRetentionDays", 1, {"dev": 7, "staging": 30, "prod": 365})


def log_group_retention(group: Subject, report: Report) -> None:
    """Every log group has a retention, at least the environment's minimum (prod one year).

    Rationale: CloudWatch Logs keeps logs forever by default (cost, and personal data from
    CRM records kept past its purpose); Security Hub control CloudWatch.16 asks for at least
    a year where logs are audit evidence, which is production here.

    Config:
      minRetentionDays (integer): floor for every environment; default 1.
      minRetentionDaysByEnvironment (object env -> integer): default {dev: 7, staging: 30,
        prod: 365}; environment from the `environment` tag, else the stack's setting.
    """
    props = group.props
    days = props.get("retentionInDays")
    if is_unknown(days):
        return
    floor = max(MIN_RETENTION_DAYS.values(group.config, environment_of(tags_of(props))))
    value = as_int(days)
    if not value:
        report(f"{group.who} keeps logs forever. Fix: set retention_in_days={floor}.")
    elif value < floor:
        report(
            f"{group.who} keeps logs {value} days; this environment needs >= {floor}. "
            f"Fix: set retention_in_days to the stack's logRetentionDays (>= {floor})."
        )


LOG_GROUP_RETENTION = resource_policy(
    "log-group-retention",
    "Log groups have a retention of at least the environment's minimum.",
    log_group_retention,
    CLOUDWATCH_LOG_GROUP,
    config=MIN_RETENTION_DAYS.schema(),
)


def sqs_trigger_settings(trigger: Subject, report: Report) -> None:
    """SQS triggers report partial batch failures and cap their concurrency.

    Rationale: Lambda developer guide "Using Lambda with Amazon SQS": without
    `ReportBatchItemFailures` one bad record makes the whole batch retry (duplicates in
    Salesforce or the ERP); `ScalingConfig.MaximumConcurrency` (2..1000) caps parallel calls
    to the target's API -- derived from the integration's Salesforce API budget -- without
    reserved concurrency, which would throttle the poller and push records to the DLQ.

    The batch is one AWS accepts, which the emulator does not check ("Lambda parameters for
    Amazon SQS event source mappings",
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html, and
    CreateEventSourceMapping in the Lambda API reference): BatchSize at most 10 for a FIFO
    queue, 10,000 for a standard one; MaximumBatchingWindowInSeconds 0-300, none for a FIFO
    queue, and at least 1 when BatchSize is above 10.

    Config:
      maxConcurrency (integer): upper bound for MaximumConcurrency; default 1000 (AWS maximum).
    """
    props = trigger.props
    source = props.get("eventSourceArn")
    if not isinstance(source, str) or is_unknown(source) or not source.startswith("arn:aws:sqs:"):
        return
    for problem in _batch_problems(props, fifo=source.endswith(".fifo")):
        report(f"{trigger.who} {problem}")
    types = props.get("functionResponseTypes")
    if not is_unknown(types) and "ReportBatchItemFailures" not in as_list(types):
        report(
            f"{trigger.who} retries whole batches. Fix: set "
            'function_response_types=["ReportBatchItemFailures"].'
        )
    scaling = props.get("scalingConfig")
    if is_unknown(scaling):
        return
    raw = scaling.get("maximumConcurrency") if isinstance(scaling, dict) else None
    if is_unknown(raw):
        return
    high = config_int(trigger.config, "maxConcurrency", 1000)
    value = as_int(raw)
    if value is None or not 2 <= value <= high:
        report(
            f"{trigger.who} has maximumConcurrency={value}; allowed 2..{high}. Fix: set "
            "scaling_config.maximum_concurrency from the integration's API budget."
        )


# SQS event source mappings (Lambda developer guide, as cited in sqs_trigger_settings).
SQS_BATCH_DEFAULT, SQS_FIFO_MAX_BATCH, SQS_MAX_BATCH = 10, 10, 10_000
SQS_MAX_WINDOW_SECONDS = 300


def _batch_problems(props: dict[str, Any], *, fifo: bool) -> list[str]:
    raw_size, raw_window = props.get("batchSize"), props.get("maximumBatchingWindowInSeconds")
    if is_unknown(raw_size) or is_unknown(raw_window):
        return []
    size = as_int(raw_size) if raw_size is not None else SQS_BATCH_DEFAULT
    window = as_int(raw_window) if raw_window is not None else 0
    if size is None or window is None:
        return [f"has batchSize={raw_size!r}, maximumBatchingWindowInSeconds={raw_window!r}"]
    top = SQS_FIFO_MAX_BATCH if fifo else SQS_MAX_BATCH
    problems = []
    if not 1 <= size <= top:
        kind = "a FIFO" if fifo else "a standard"
        problems.append(f"has batchSize={size}; {kind} queue takes 1..{top}. Fix: set batch_size")
    if fifo and window:
        problems.append(
            f"has maximumBatchingWindowInSeconds={window}, which FIFO queues do not support. "
            "Fix: leave maximum_batching_window_in_seconds unset"
        )
    elif not 0 <= window <= SQS_MAX_WINDOW_SECONDS:
        problems.append(
            f"has maximumBatchingWindowInSeconds={window}; allowed 0..{SQS_MAX_WINDOW_SECONDS}"
        )
    elif size > SQS_BATCH_DEFAULT and window < 1:
        problems.append(
            f"has batchSize={size} without a batching window; above 10 records AWS requires "
            "maximum_batching_window_in_seconds >= 1"
        )
    return problems


SQS_TRIGGER_SETTINGS = resource_policy(
    "sqs-trigger-settings",
    "SQS triggers use ReportBatchItemFailures and MaximumConcurrency.",
    sqs_trigger_settings,
    LAMBDA_EVENT_SOURCE_MAPPING,
    config={"maxConcurrency": {"type": "integer", "maximum": 1000, "default": 1000}},
)


def _signed_ingress_url(props: dict[str, Any]) -> bool:
    """The permission a public function URL needs, on a signed-webhook ingress (by name)."""
    function = props.get("function")
    return (
        props.get("action") == "lambda:InvokeFunctionUrl"
        and props.get("functionUrlAuthType") == "NONE"
        and isinstance(function, str)
        and function.endswith(f"-{WEBHOOK_INGRESS_ROLE}")
    )


def lambda_permission_scoped(permission: Subject, report: Report) -> None:
    """A function may be invoked only by a named service from this account (confused deputy).

    Rationale: Lambda developer guide "Resource-based policies" and the IAM "confused deputy"
    guidance: a service principal without `source_account`/`source_arn` lets that service
    invoke the function on behalf of any AWS account; `*` makes it public, which only a
    signed-webhook ingress's function URL may be (`lambda:InvokeFunctionUrl` with auth type
    NONE: vendors cannot sign AWS requests, the handler checks their signature; the
    contract.naming role word `webhook`, its owner checked by `least-privilege-reach`). A
    rotation function
    is invoked by `secretsmanager.amazonaws.com` with `source_account` set to this account
    (Secrets Manager user guide, "Lambda rotation functions").

    Which account a `source_account` names is judged with the whole stack in view, by
    `least-privilege-reach` (the deploying account is the one the stack's resources are in).

    Config: none.
    """
    props = permission.props
    principal, account = props.get("principal"), props.get("sourceAccount")
    if is_unknown(principal):
        return
    if principal == "*" and _signed_ingress_url(props):
        return  # whose function it is: least-privilege-reach, with the whole stack in view
    if principal == "*" or not isinstance(principal, str):
        report(f"{permission.who} lets anyone invoke the function. Fix: name the principal.")
        return
    if not principal.endswith(".amazonaws.com") or is_unknown(account):
        return
    if principal == "secretsmanager.amazonaws.com" and not account:
        report(
            f"{permission.who} lets Secrets Manager of any account invoke the rotation "
            "function. Fix: set source_account to this account's id."
        )
    elif not account and not props.get("sourceArn"):
        report(
            f"{permission.who} lets {principal} invoke the function for any account. Fix: set "
            "source_arn (the rule/topic ARN) or source_account."
        )


LAMBDA_PERMISSION_SCOPED = resource_policy(
    "lambda-permission-scoped",
    "Lambda invoke permissions name a service and this account.",
    lambda_permission_scoped,
    LAMBDA_PERMISSION,
)
