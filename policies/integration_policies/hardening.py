"""Defence in depth: every integration's logs, environments, topics and secrets under its key
and fence; failed scheduled runs kept; protected tables undeletable.

Stack policies, because each judges a resource against another of the same integration
(the key it names, the role its fence admits, the queue its failures go to):

- `encrypted-with-own-key`: a log group, function environment or topic without the
  integration's own key;
- `key-grants-needed-services`: a key policy granting a service its resources do not need,
  unbound to them, or missing one they need;
- `secret-fenced`: a secret without a resource policy that shuts out every other
  principal, or one that locks out its rotator or its administrator;
- `async-failure-destination`: a function invoked asynchronously without an alarmed
  on-failure queue and deliberate retries;
- `dynamodb-table-resilience`: a state table without on-demand capacity, point-in-time
  recovery or (where the stack protects it) deletion protection;
- `resource-policies-not-public`: a key, queue, topic or secret policy allowing everyone;
- `lambda-supported-runtime`: a function on a runtime Lambda no longer supports.

`controls.py` maps each AWS Foundational Security Best Practices and CIS control to these
and the pack's other policies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from contract.aws_types import (
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    IAM_ROLE,
    IAM_USER,
    KMS_KEY,
    LAMBDA_FUNCTION,
    LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG,
    SCHEDULER_SCHEDULE,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_POLICY,
    SECRETS_MANAGER_SECRET_ROTATION,
    SNS_TOPIC,
    SQS_QUEUE,
)

from ._common import (
    RESOURCE,
    as_list,
    documents,
    is_unknown,
    label,
    list_schema,
    parse_document,
    plain,
    stack_setting,
    statements,
    tags_of,
)
from ._declare import stack_policy
from ._stack import Res, StackView
from .fence import named_principals, secret_fence_problems

__all__ = [
    "ASYNC_FAILURE_DESTINATION",
    "DYNAMODB_TABLE_RESILIENCE",
    "ENCRYPTED_WITH_OWN_KEY",
    "HARDENING_POLICIES",
    "KEY_GRANTS_NEEDED_SERVICES",
    "LAMBDA_SUPPORTED_RUNTIME",
    "RESOURCE_POLICIES_NOT_PUBLIC",
    "SECRET_FENCED",
    "TYPES",
]


# Types these policies rule on besides those other modules read (closed world).
TYPES = frozenset({SECRETS_MANAGER_SECRET_POLICY, LAMBDA_FUNCTION_EVENT_INVOKE_CONFIG})

# Where each type names the key that encrypts it (pulumi-aws input names).
KEY_FIELDS = {
    CLOUDWATCH_LOG_GROUP: "kmsKeyId",
    LAMBDA_FUNCTION: "kmsKeyArn",
    SNS_TOPIC: "kmsMasterKeyId",
}
_WHAT = {
    CLOUDWATCH_LOG_GROUP: "log group",
    LAMBDA_FUNCTION: "function environment",
    SNS_TOPIC: "topic",
}


def _who(res: Res) -> str:
    return f"{label(res.integration)}{res.name}"


def _integration_resources(view: StackView, *types: str) -> Iterator[Res]:
    return (r for r in view.of_type(*types) if r.integration)


# ------------------------------------------------------------------ encrypted-with-own-key


def encrypted_with_own_key(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each log group, function environment and topic is encrypted with its integration's key.

    Rationale: AWS Foundational Security Best Practices and CIS ask for customer-managed keys
    on log data and topics (CloudWatch Logs "Encrypt log data using AWS KMS", SNS.1) and on
    function environments (Lambda developer guide, "Securing environment variables"): the
    AWS-managed key's policy lets any principal of the account decrypt through the service,
    and a shared key breaks one integration's isolation from another. The integration's own
    key policy names its own principals only.

    Config: none.
    """
    view = StackView.shared(args, report)
    for res in _integration_resources(view, *KEY_FIELDS):
        field = KEY_FIELDS[res.type]
        raw = res.props.get(field)
        if is_unknown(raw):
            continue
        what = _WHAT[res.type]
        fix = f"Fix: set {field} to the ARN of {res.integration}'s own KMS key."
        if not raw:
            report(
                f"{_who(res)}: the {what} is encrypted with an AWS-managed key, not "
                f"{res.integration}'s own. {fix}",
                res.urn,
            )
            continue
        key = view.find(raw, KMS_KEY)
        if key is None:
            report(f"{_who(res)}: the {what} names key {raw}, not this stack's. {fix}", res.urn)
        elif key.integration != res.integration:
            report(
                f"{_who(res)}: the {what} is encrypted with {key.integration}'s key "
                f"{key.name}. {fix}",
                res.urn,
            )


ENCRYPTED_WITH_OWN_KEY = stack_policy(
    "encrypted-with-own-key",
    "Log groups, function environments and topics use their integration's own key.",
    encrypted_with_own_key,
)


# ------------------------------------------------------------- key-grants-needed-services

_LOGS_ACTIONS = {
    "kms:decrypt",
    "kms:decrypt*",
    "kms:describe*",
    "kms:describekey",
    "kms:encrypt",
    "kms:encrypt*",
    "kms:generatedatakey",
    "kms:generatedatakey*",
    "kms:generatedatakeywithoutplaintext",
    "kms:reencrypt*",
    "kms:reencryptfrom",
    "kms:reencryptto",
}
_PUBLISHER_ACTIONS = {"kms:decrypt", "kms:generatedatakey", "kms:generatedatakey*"}
_SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn"}
_LOGS_CONTEXT = "kms:encryptioncontext:aws:logs:arn"


def _service_of(statement: dict[str, Any]) -> list[str]:
    who = statement.get("Principal")
    if isinstance(who, dict):
        return [str(s) for s in as_list(who.get("Service"))]
    return []


def _condition(statement: dict[str, Any], key: str) -> list[str] | None:
    """Values of condition `key` (any operator), or None when the statement has none."""
    found: list[str] | None = None
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            for k, v in block.items():
                if k.lower() == key:
                    found = (found or []) + [str(x) for x in as_list(v)]
    return found


def _encrypted_by(view: StackView, key: Res, *types: str) -> list[Res]:
    field_of = KEY_FIELDS
    return [
        r
        for r in view.of(key.integration or "", *types)
        if view.find(r.props.get(field_of[r.type]), KMS_KEY) is key
    ]


def _publishers(view: StackView, topics: list[Res]) -> set[str]:
    """The services that publish to these topics: alarms (cloudwatch), rules (events)."""
    ids = {i for t in topics for i in t.ids}
    found: set[str] = set()
    for alarm in view.of_type(CLOUDWATCH_METRIC_ALARM):
        actions = [*as_list(alarm.get("alarmActions")), *as_list(alarm.get("okActions"))]
        if ids & {a for a in actions if isinstance(a, str)}:
            found.add("cloudwatch.amazonaws.com")
    if any(t.get("arn") in ids for t in view.of_type(CLOUDWATCH_EVENT_TARGET)):
        found.add("events.amazonaws.com")
    return found


def key_grants_needed_services(args: StackValidationArgs, report: ReportViolation) -> None:
    """An integration key lets exactly the AWS services its encrypted resources need use it.

    Rationale: a service principal in a key policy acts for every account and resource
    unless bound (IAM user guide, "The confused deputy problem"). CloudWatch Logs may use
    the key only for the integration's own log groups, through the encryption context
    `kms:EncryptionContext:aws:logs:arn` (CloudWatch Logs user guide, "Encrypt log data
    using AWS KMS"); CloudWatch alarms and EventBridge only to publish to its encrypted
    topic, from this account (SNS developer guide, "Configure AWS KMS permissions for AWS
    services"). A service the key's resources need but the policy omits fails only in
    AWS, never in an emulator: CloudWatch Logs refuses the log group, and alarms publish to
    an encrypted topic without error but nobody is paged.

    Config: none.
    """
    view = StackView.shared(args, report)
    for key in _integration_resources(view, KMS_KEY):
        document = parse_document(key.props.get("policy"))
        if not isinstance(document, dict):
            continue
        groups = {g.get("name") for g in _encrypted_by(view, key, CLOUDWATCH_LOG_GROUP)}
        needed = _publishers(view, _encrypted_by(view, key, SNS_TOPIC)) | (
            {"logs"} if groups else set()
        )
        granted: set[str] = set()
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for service in _service_of(statement):
                granted.add(_judge_grant(key, statement, service, groups, needed, report))
        for service in sorted(needed - granted):
            shown = "CloudWatch Logs" if service == "logs" else service
            report(
                f"{_who(key)}: {key.integration}'s resources encrypted with the key need "
                f"{shown} to use it, and the key policy does not let it. {_KEY_FIX}",
                key.urn,
            )


_KEY_FIX = "Fix: grant services as components/credential.py does."


def _judge_grant(
    key: Res,
    statement: dict[str, Any],
    service: str,
    groups: set[Any],
    needed: set[str],
    report: ReportViolation,
) -> str:
    """Report what one Allow to a service grants beyond its need; the service's short name."""
    name = "logs" if service.startswith("logs.") else service
    actions = {str(a).lower() for a in as_list(statement.get("Action"))}
    if name == "logs":
        extra = actions - _LOGS_ACTIONS
        _judge_logs_context(key, statement, groups, report)
    elif name in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
        extra = actions - _PUBLISHER_ACTIONS
        if not any(_condition(statement, k) for k in _SOURCE_KEYS):
            report(
                f"{_who(key)}: {service} may use the key on behalf of any account. "
                "Fix: add an aws:SourceAccount or aws:SourceArn condition.",
                key.urn,
            )
        if name not in needed:
            report(
                f"{_who(key)}: grants {service} although none of "
                f"{key.integration}'s encrypted topics is published to by it. "
                "Fix: remove the statement.",
                key.urn,
            )
    else:
        extra = set()
        report(
            f"{_who(key)}: grants {service}, which no resource of "
            f"{key.integration} needs. Fix: remove the statement.",
            key.urn,
        )
    if extra:
        report(
            f"{_who(key)}: grants {service} {', '.join(sorted(extra))}, more than it "
            f"needs. {_KEY_FIX}",
            key.urn,
        )
    return name


def _judge_logs_context(
    key: Res, statement: dict[str, Any], groups: set[Any], report: ReportViolation
) -> None:
    """CloudWatch Logs' grant names exactly the key's own log groups in its context."""
    context = _condition(statement, _LOGS_CONTEXT)
    named = {c.split(":log-group:", 1)[-1] for c in context or []}
    if context is None or any("*" in n for n in named):
        report(
            f"{_who(key)}: CloudWatch Logs may use the key for any log group. "
            f"Fix: bind it with {_LOGS_CONTEXT} to the integration's log "
            "group ARNs.",
            key.urn,
        )
    elif strangers := sorted(n for n in named if n not in groups):
        report(
            f"{_who(key)}: CloudWatch Logs may use the key for log groups "
            f"that are not {key.integration}'s or not encrypted with it: "
            f"{', '.join(strangers)}. {_KEY_FIX}",
            key.urn,
        )
    elif missing := sorted(str(g) for g in groups if g not in named):
        report(
            f"{_who(key)}: log groups {', '.join(missing)} are encrypted with "
            "the key but CloudWatch Logs may not use it for them (AWS refuses "
            f"to create them). Fix: add their ARNs to {_LOGS_CONTEXT}.",
            key.urn,
        )


KEY_GRANTS_NEEDED_SERVICES = stack_policy(
    "key-grants-needed-services",
    "Integration keys grant exactly the services their resources need, bound to them.",
    key_grants_needed_services,
)


# ------------------------------------------------------------------------- secret-fenced


def _account_of(*arns: Any) -> str:
    for arn in arns:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) >= 6 and parts[4].isdigit():
            return parts[4]
    return "000000000000"  # no ARN known yet: any account stands for "not named"


def _role_arn(role: Res | None, account: str) -> str | None:
    if role is None:
        return None
    arn = role.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    name = role.get("name")
    return f"arn:aws:iam::{account}:role/{name}" if isinstance(name, str) else None


def _pusher_arn(view: StackView, secret: Res, account: str) -> str | None:
    """The external pusher whose access key `secret` holds: its user has the secret's name
    (docs/contracts.md, "IAM principals per integration")."""
    name = secret.get("name")
    for user in view.of(secret.integration or "", IAM_USER):
        if isinstance(name, str) and user.get("name") == name:
            arn = user.get("arn")
            if isinstance(arn, str) and arn.startswith("arn:"):
                return arn
            return f"arn:aws:iam::{account}:user/{name}"
    return None


def _fence_of(view: StackView, secret: Res) -> tuple[Res, Any] | None:
    for policy in view.of_type(SECRETS_MANAGER_SECRET_POLICY):
        if view.find(policy.get("secretArn"), SECRETS_MANAGER_SECRET) is secret:
            return policy, policy.props.get("policy")
    if secret.props.get("policy"):
        return secret, secret.props.get("policy")
    return None


def _rotator_arn(view: StackView, secret: Res, account: str) -> str | None:
    for rotation in view.of_type(SECRETS_MANAGER_SECRET_ROTATION):
        if view.find(rotation.get("secretId"), SECRETS_MANAGER_SECRET) is secret:
            function = view.find(rotation.get("rotationLambdaArn"), LAMBDA_FUNCTION)
            role = view.find(function.get("role"), IAM_ROLE) if function else None
            return _role_arn(role, account) or (
                function.get("role") if function is not None else None
            )
    return None


def secret_fenced(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each credential secret carries a resource policy that shuts out every other principal.

    Rationale: without one, access rests on identity policies alone, so any principal in
    the account granted `secretsmanager:GetSecretValue` on `*` reads every integration's
    credentials (Secrets Manager user guide, "Resource-based policies"). The fence denies
    everyone but the integration's role (read), its rotation role (write) and the stack's
    deploying principal (administration, never the value), and must not lock out the
    rotator's four steps or the administrator's hold on the policy itself: a Deny that
    catches them stops rotation, or can be lifted only by the account's root user.

    Config: none.
    """
    view = StackView.shared(args, report)
    for secret in _integration_resources(view, SECRETS_MANAGER_SECRET):
        integ = secret.integration or ""
        found = _fence_of(view, secret)
        base_fix = (
            "Fix: attach an aws.secretsmanager.SecretPolicy that denies every principal but "
            "the integration's role, its rotation role and the deploying principal."
        )
        if found is None:
            report(
                f"{_who(secret)} has no resource policy: any principal in the account granted "
                f"GetSecretValue on * reads it. {base_fix}",
                secret.urn,
            )
            continue
        holder, raw = found
        document = parse_document(raw)
        if document is None:
            continue  # unknown until the secret exists (preview)
        if isinstance(document, str):
            report(f"{_who(holder)}: {document}. {base_fix}", holder.urn)
            continue
        account = _account_of(secret.get("arn"), *named_principals(document))
        own_roles = [
            arn for r in view.of(integ, IAM_ROLE) if (arn := _role_arn(r, account)) is not None
        ]
        for problem, fix in secret_fence_problems(
            document,
            integration=integ,
            account=account,
            own_roles=own_roles,
            rotator=_rotator_arn(view, secret, account),
            pusher=_pusher_arn(view, secret, account),
        ):
            report(f"{_who(secret)}: {problem}. Fix: {fix}.", holder.urn)


SECRET_FENCED = stack_policy(
    "secret-fenced",
    "Secrets have a resource policy shutting out all but their integration's roles.",
    secret_fenced,
)


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
                f"{_who(function)} is invoked asynchronously by {caller.name} but has no "
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
                f"{_who(function)}: failed runs go to {destination or 'nowhere'}, not a queue of "
                f"{integ}. {fix}",
                config.urn,
            )
        elif not _alarmed(view, integ, queue):
            report(
                f"{_who(function)}: failed runs go to {queue.name}, which no alarm watches. Fix: "
                "add a dlq-depth alarm on it that notifies the alert topic.",
                config.urn,
            )
        for field, default in (
            ("maximumRetryAttempts", "2 retries"),
            ("maximumEventAgeInSeconds", "6 hours"),
        ):
            if config.props.get(field) is None:
                report(
                    f"{_who(function)}: {field} is left at Lambda's default ({default}). Fix: "
                    "set it deliberately (components/function.py).",
                    config.urn,
                )


ASYNC_FAILURE_DESTINATION = stack_policy(
    "async-failure-destination",
    "Asynchronously invoked functions keep failed runs in an alarmed queue.",
    async_failure_destination,
)


# -------------------------------------------------------------- dynamodb-table-resilience


def dynamodb_table_resilience(args: StackValidationArgs, report: ReportViolation) -> None:
    """State tables scale on demand, keep point-in-time recovery, and refuse DeleteTable
    wherever the stack protects stateful resources.

    Rationale: AWS Foundational Security Best Practices DynamoDB.1 (capacity follows demand:
    on-demand here, as sync traffic is bursty), DynamoDB.2 (point-in-time recovery: the
    idempotency records and watermarks decide what is synced again after a bad deploy) and
    DynamoDB.6 (deletion protection). Pulumi's `protect` guards only deletions made through
    this stack; deletion protection stops a DeleteTable from the console, the CLI or another
    tool (DynamoDB developer guide, "Using deletion protection"), so a table the stack
    protects (`protectStateful`, or marked `protect`) must have it.

    Config: none.
    """
    protect_stack = (stack_setting("protectStateful") or "").lower() == "true"
    for resource in args.resources:
        if resource.resource_type != DYNAMODB_TABLE:
            continue
        props = plain(resource.props)
        who = f"{label((tags_of(props) or {}).get('integration'))}{resource.name}"
        protected = protect_stack or bool(getattr(resource.opts, "protect", False))
        value = props.get("deletionProtectionEnabled")
        if protected and not is_unknown(value) and value is not True:
            report(
                f"{who} is protected by the stack but can be deleted outside it. "
                "Fix: set deletion_protection_enabled=True.",
                resource.urn,
            )
        recovery = props.get("pointInTimeRecovery")
        if not is_unknown(recovery) and not (recovery or {}).get("enabled"):
            report(
                f"{who} has no point-in-time recovery. Fix: set point_in_time_recovery="
                '{"enabled": True}.',
                resource.urn,
            )
        billing = props.get("billingMode")
        if not is_unknown(billing) and billing != "PAY_PER_REQUEST":
            report(
                f"{who} has provisioned capacity that does not follow demand. Fix: set "
                'billing_mode="PAY_PER_REQUEST".',
                resource.urn,
            )


DYNAMODB_TABLE_RESILIENCE = stack_policy(
    "dynamodb-table-resilience",
    "State tables scale on demand, keep point-in-time recovery and, where protected, "
    "deletion protection.",
    dynamodb_table_resilience,
)


# ------------------------------------------------------------ resource-policies-not-public

_ACCOUNT_KEYS = {
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:sourceorgid",
}


def _public(statement: dict[str, Any]) -> bool:
    """An Allow to everyone (`*` or AWS `*`) that no account-binding condition narrows."""
    if statement.get("Effect") != "Allow":
        return False
    who = statement.get("Principal")
    everyone = who == "*" or (isinstance(who, dict) and "*" in as_list(who.get("AWS")))
    return everyone and not any(_condition(statement, key) for key in _ACCOUNT_KEYS)


def resource_policies_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    """No resource policy (key, queue, topic, secret) allows everyone.

    Rationale: AWS Foundational Security Best Practices KMS.5, SQS.3 and SNS.4: an Allow
    whose principal is `*` without a condition binding it to an account or organisation
    (aws:SourceAccount, aws:PrincipalAccount, aws:PrincipalOrgID...) opens the resource to
    every AWS account (IAM user guide, "AWS JSON policy elements: Principal").

    Config: none.
    """
    view = StackView.shared(args, report)
    for res in view.resources:
        for field, kind, document in documents(res.type, res.props):
            if kind != RESOURCE or not isinstance(document, dict):
                continue
            for statement in statements(document):
                if _public(statement):
                    report(
                        f"{_who(res)}: {field} allows {statement.get('Action')} to every AWS "
                        "account. Fix: name the principals, or bind `*` to this account with "
                        "an aws:SourceAccount or aws:PrincipalAccount condition.",
                        res.urn,
                    )


RESOURCE_POLICIES_NOT_PUBLIC = stack_policy(
    "resource-policies-not-public",
    "Key, queue, topic and secret policies allow nobody outside the account.",
    resource_policies_not_public,
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
            f"{_who(function)} runs on {runtime or 'no declared runtime'}, not a supported "
            f"one. Fix: use one of {', '.join(allowed)}.",
            function.urn,
        )


LAMBDA_SUPPORTED_RUNTIME = stack_policy(
    "lambda-supported-runtime",
    "Functions run on a runtime Lambda supports.",
    lambda_supported_runtime,
    config={"runtimes": list_schema(DEFAULT_RUNTIMES)},
)


HARDENING_POLICIES = [
    ENCRYPTED_WITH_OWN_KEY,
    KEY_GRANTS_NEEDED_SERVICES,
    SECRET_FENCED,
    ASYNC_FAILURE_DESTINATION,
    DYNAMODB_TABLE_RESILIENCE,
    RESOURCE_POLICIES_NOT_PUBLIC,
    LAMBDA_SUPPORTED_RUNTIME,
]
