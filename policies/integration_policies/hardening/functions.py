"""Lambda: failed asynchronous runs kept in an alarmed queue, supported runtimes, and a
reserved share of the account's concurrency behind every public function URL."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_METRIC_ALARM,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION_URL,
    SCHEDULER_SCHEDULE,
    SQS_QUEUE,
)

from .._common import as_int, as_list, is_unknown, list_schema
from .._declare import stack_policy
from .._stack import Res, StackView

# -------------------------------------------------------------- async-failure-destination


def _async_callers(view: StackView) -> dict[str, tuple[Res, Res]]:
    """Function URN -> (function, what invokes it asynchronously)."""
    found: dict[str, tuple[Res, Res]] = {}
    for target in view.of_type(CLOUDWATCH_EVENT_TARGET):
        function = view.find(target.get("arn"), LAMBDA_FUNCTION)
        if function is not None:
            found.setdefault(function.urn, (function, target))
    for schedule in view.of_type(SCHEDULER_SCHEDULE):
        arn = (schedule.get("target") or {}).get("arn")
        function = view.find(arn, LAMBDA_FUNCTION)
        if function is not None:
            found.setdefault(function.urn, (function, schedule))
    return found


def _alarmed(view: StackView, integ: str, queue: Res) -> bool:
    name = queue.get("name")
    for alarm in view.of(integ, CLOUDWATCH_METRIC_ALARM):
        dimensions = alarm.get("dimensions") or {}
        if dimensions.get("QueueName") == name and as_list(alarm.get("alarmActions")):
            return True
    return False


def async_failure_destination(args: StackValidationArgs, report: ReportViolation) -> None:
    """Functions invoked asynchronously send failed runs to an alarmed queue, retries set.

    Rationale: Lambda retries an asynchronous invocation at most twice, keeps it at most six
    hours, and then discards it unless an on-failure destination is set (Lambda developer
    guide, "Retaining records of asynchronous invocations"); a failed scheduled sync is then
    gone without a trace. The destination is a queue of the integration with an alarm on its
    depth, so someone hears of it, and retries and event age are chosen, not defaults.

    Config: none.
    """
    view = StackView.shared(args, report)
    configs = list(view.of_type(LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG))
    for function, caller in _async_callers(view).values():
        integ = function.integration or ""
        mine = [c for c in configs if view.find(c.get("functionName"), LAMBDA_FUNCTION) is function]
        fix = (
            "Fix: add an aws.lambda_.FunctionEventInvokeConfig with destination_config."
            f"on_failure set to {integ}'s DLQ."
        )
        if not mine:
            report(
                f"{function.who} is invoked asynchronously by {caller.name} but has no "
                f"on-failure destination: a run that fails its retries is lost. {fix}",
                function.urn,
            )
            continue
        config = mine[0]
        destination = ((config.get("destinationConfig") or {}).get("onFailure") or {}).get(
            "destination"
        )
        if is_unknown(destination):
            continue
        queue = view.find(destination, SQS_QUEUE)
        if queue is None or queue.integration != integ:
            report(
                f"{function.who}: failed runs go to {destination or 'nowhere'}, not a queue of "
                f"{integ}. {fix}",
                config.urn,
            )
        elif not _alarmed(view, integ, queue):
            report(
                f"{function.who}: failed runs go to {queue.name}, which no alarm watches. Fix: "
                "add a dlq-depth alarm on it that notifies the alert topic.",
                config.urn,
            )
        for field, default in (
            ("maximumRetryAttempts", "2 retries"),
            ("maximumEventAgeInSeconds", "6 hours"),
        ):
            if config.props.get(field) is None:
                report(
                    f"{function.who}: {field} is left at Lambda's default ({default}). Fix: "
                    "set it deliberately (components/function.py).",
                    config.urn,
                )


ASYNC_FAILURE_DESTINATION = stack_policy(
    "async-failure-destination",
    "Asynchronously invoked functions keep failed runs in an alarmed queue.",
    async_failure_destination,
)


# ------------------------------------------------------------------ lambda-supported-runtime

# Python runtimes Lambda supports, with their deprecation dates (Lambda developer guide,
# "Lambda runtimes": https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
DEFAULT_RUNTIMES = ["python3.11", "python3.12", "python3.13"]


def lambda_supported_runtime(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every function runs on a runtime Lambda still supports.

    Rationale: AWS Foundational Security Best Practices Lambda.2: a deprecated runtime gets
    no security patches, and Lambda blocks creating, then updating, functions on it.

    Config:
      runtimes (list of strings): allowed runtimes; default python3.11 to python3.13.
    """
    view = StackView.shared(args, report)
    allowed = [str(r) for r in as_list(args.get_config().get("runtimes"))] or DEFAULT_RUNTIMES
    for function in view.of_type(LAMBDA_FUNCTION):
        runtime = function.props.get("runtime")
        if is_unknown(runtime) or runtime in allowed:
            continue
        report(
            f"{function.who} runs on {runtime or 'no declared runtime'}, not a supported "
            f"one. Fix: use one of {', '.join(allowed)}.",
            function.urn,
        )


LAMBDA_SUPPORTED_RUNTIME = stack_policy(
    "lambda-supported-runtime",
    "Functions run on a runtime Lambda supports.",
    lambda_supported_runtime,
    config={"runtimes": list_schema(DEFAULT_RUNTIMES)},
)


# ------------------------------------------------------------- public-url-reserved-concurrency


def public_url_reserved_concurrency(args: StackValidationArgs, report: ReportViolation) -> None:
    """A function behind a public URL (authorization NONE) reserves concurrency, above 0.

    Rationale: anyone can call a URL without AWS authentication, and every request starts an
    invocation, one the handler refuses (a bad signature) too. Unreserved, a flood there takes
    the account's whole concurrency and every other function is throttled; reserved
    concurrency is the function's own share and its ceiling (Lambda developer guide,
    "Configuring reserved concurrency for a function"). 0 would throttle every delivery.

    Config: none.
    """
    view = StackView.shared(args, report)
    for url in view.of_type(LAMBDA_FUNCTION_URL):
        auth = url.props.get("authorizationType")
        function = view.find(url.props.get("functionName"), LAMBDA_FUNCTION)
        if auth != "NONE" or function is None:
            # An AWS_IAM URL takes signed calls only; a function not in the stack is not ours.
            continue
        reserved = function.props.get("reservedConcurrentExecutions")
        if is_unknown(reserved):
            continue
        count = as_int(reserved)
        if count is None or count <= 0:
            has = "no reserved concurrency" if count is None or count < 0 else "0 reserved"
            report(
                f"{function.who} answers a public function URL ({url.name}, authorization "
                f"NONE) with {has}: a flood of requests, refused ones too, could take the "
                "account's whole concurrency and throttle every other function. Fix: set "
                "reserved_concurrent_executions above 0 (roadmap/concurrency.py sizes it from "
                "the integration's volume).",
                function.urn,
            )


PUBLIC_URL_RESERVED_CONCURRENCY = stack_policy(
    "public-url-reserved-concurrency",
    "Functions behind a public function URL reserve their own concurrency.",
    public_url_reserved_concurrency,
)
