"""Stack policies: what each phase must provision, where alarms go, logs, rotation functions."""

from __future__ import annotations

import json

from pulumi_policy import ReportViolation, StackValidationArgs

from contract import environment as var
from contract.aws_types import (
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_METRIC_ALARM,
    IAM_ROLE,
    IAM_USER,
    KMS_KEY,
    LAMBDA_EVENT_SOURCE_MAPPING,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    SCHEDULER_SCHEDULE,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
    SNS_TOPIC,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
)
from contract.naming import RETIRE_EVENT, WEBHOOK_INGRESS_ROLE
from contract.phases import REVERSE, required_alarms

from ._common import as_list, is_unknown, label
from ._declare import stack_policy
from ._stack import Res, StackView


def _conflict(functions: list[Res]) -> dict[str, object]:
    """The forward consumer's conflict policy (`CONFLICT`): set only for bidirectional flows."""
    for function in functions:
        if not function.is_role("consumer"):
            continue
        variables = (function.get("environment") or {}).get("variables") or {}
        raw = variables.get(var.CONFLICT) if isinstance(variables, dict) else None
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    return {}


Gap = tuple[str, str]  # (what is missing, how to fix it)


def _missing(view: StackView, integ: str, phase: int) -> list[Gap]:
    """(what is missing, how to fix) for one integration at its phase."""
    gaps = _credential_gaps(view, integ)
    if phase < 3:
        return gaps
    functions, queues = view.of(integ, LAMBDA_FUNCTION), view.of(integ, SQS_QUEUE)
    gaps += _workflow_gaps(view, integ, functions, queues)
    if phase >= 4:
        gaps += _adjacent_gaps(view, integ, functions)
    # A bidirectional flow's forward consumer carries its side of the conflict rule: the
    # other direction needs its own queue, DLQ and consumer, and a strategy that parks
    # changes for a person needs the review queue.
    conflict = _conflict(functions)
    reverse = bool(conflict)
    review = conflict.get("strategy") == "manual_review"
    if reverse:
        gaps += _reverse_gaps(integ, [*functions, *queues])
    if review and not [q for q in queues if q.role == "review"]:
        gaps.append(("a review queue", f"add {integ}-review for changes parked by manual_review"))
    # A credential rotated by hand (its secret tagged rotation=manual) pages when overdue.
    manual = sorted(
        s.role.removeprefix("cred-")
        for s in view.of(integ, SECRETS_MANAGER_SECRET)
        if s.tags.get("rotation") == "manual"
    )
    # A signed-webhook ingress (its role word, contract.naming) is watched like a consumer.
    ingress = any(f.role == WEBHOOK_INGRESS_ROLE for f in functions)
    alarms = view.alarms(integ)
    required = required_alarms(
        phase, reverse=reverse, review=review, ingress=ingress, manual_credentials=manual
    )
    for alarm in required:
        if not [r for r in alarms.get(alarm.kind, ()) if r.role == alarm.role]:
            gaps.append(
                (f"a '{alarm.kind}' alarm ({alarm.role})", f"add the {integ}-{alarm.role} alarm")
            )
    return gaps


def _credential_gaps(view: StackView, integ: str) -> list[Gap]:
    """Phase 2: the service account, the key and each credential's rotated secret."""
    of = view.of
    secrets = of(integ, SECRETS_MANAGER_SECRET)
    rotated = {
        id(view.find(r.get("secretId"), SECRETS_MANAGER_SECRET))
        for r in of(integ, SECRETS_MANAGER_SECRET_ROTATION)
    }
    need = [
        (
            # The service account itself: the rotation or stage role is no substitute.
            any(r.role == "role" for r in of(integ, IAM_ROLE)),
            "an IAM role (service account)",
            "the ServiceAccount role",
        ),
        (bool(of(integ, KMS_KEY)), "a KMS key", "the integration key"),
        (bool(secrets), "a credential secret", "a secret per roadmap credential"),
    ]
    gaps = [(what, f"provision {fix}") for ok, what, fix in need if not ok]
    gaps += [
        (f"rotation for secret {s.name}", "add a SecretRotation with the rotation function")
        for s in secrets
        if id(s) not in rotated
    ]
    return gaps


def _workflow_gaps(
    view: StackView, integ: str, functions: list[Res], queues: list[Res]
) -> list[Gap]:
    """Phase 3: the sync function, its trigger, the alert topic, the queues and their policies."""
    of = view.of
    gaps: list[Gap] = []
    if not [f for f in functions if f.is_role("consumer", "batch")]:
        gaps.append(("a sync function", "add the consumer (queued) or batch (scheduled) function"))
    if not [
        t
        for t in of(integ, LAMBDA_EVENT_SOURCE_MAPPING, CLOUDWATCH_EVENT_RULE, SCHEDULER_SCHEDULE)
        if not t.tags.get("alarm")
    ]:
        gaps.append(("a trigger", "add the SQS event source mapping or the schedule rule"))
    if not of(integ, SNS_TOPIC):
        gaps.append(("an alert topic", "add the SNS topic for the integration's alert path"))
    if not [q for q in queues if q.is_role("dlq")]:
        gaps.append(("a dead-letter queue", f"add {integ}-dlq and send failed records to it"))
    if of(integ, LAMBDA_EVENT_SOURCE_MAPPING) and not [q for q in queues if q.is_role("queue")]:
        gaps.append(("a source queue", f"add {integ}-queue"))
    policies = of(integ, SQS_QUEUE_POLICY)
    for queue in queues:
        if not any(view.find(p.get("queueUrl"), SQS_QUEUE) is queue for p in policies):
            gaps.append((f"a queue policy on {queue.name}", "attach the HTTPS-only queue policy"))
    return gaps


def _adjacent_gaps(view: StackView, integ: str, functions: list[Res]) -> list[Gap]:
    """Phase 4: the reconciliation job and the dashboard."""
    gaps: list[Gap] = []
    if not [f for f in functions if f.is_role("reconcile")]:
        gaps.append(("a reconciliation job", f"add {integ}-reconcile and its schedule"))
    if not [r for r in view.groups[integ] if r.type.endswith(":Dashboard")]:
        gaps.append(("a dashboard", f"add {integ}-dashboard"))
    return gaps


def _reverse_gaps(integ: str, resources: list[Res]) -> list[Gap]:
    """The way back of a bidirectional flow: its own consumer, source queue and DLQ."""
    return [
        (what, f"add {integ}-{role}: a bidirectional flow syncs both ways")
        for role, what in (
            (f"{REVERSE}-consumer", "the reverse direction's consumer"),
            (f"{REVERSE}-queue", "the reverse direction's source queue"),
            (f"{REVERSE}-dlq", "the reverse direction's dead-letter queue"),
        )
        if not [r for r in resources if r.role == role]
    ]


def phase_requirements(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each integration provisions everything its phase requires (README, phase table).

    Rationale: the roadmap's rollout phases. Phase 2 (cleanup): service account, KMS key,
    credential secrets, each rotated. Phase 3 (first workflow): sync function, trigger, alert
    topic, DLQ (failed records), a source queue when an SQS trigger exists, an HTTPS-only
    policy on every queue, and alarms on DLQ depth, age of oldest message, errors, throttles
    and rotation failure -- the alarms AWS recommends for Lambda and SQS workloads.
    Phase 4 (adjacent systems): reconciliation job, dashboard, reconciliation-gap and
    stale-sync alarms. Phase 5: latency (p99 vs timeout) and API-budget alarms (Salesforce
    daily API allocation). The phase is the resources' `phase` tag. A bidirectional flow
    (its consumer carries `CONFLICT`) needs the reverse direction's queue, DLQ, consumer and
    their alarms too, a `manual_review` strategy a review queue with a depth alarm, and each
    secret tagged `rotation=manual` (a credential its vendor issues only by hand) a
    secret-age alarm; the alarms required are `contract.phases`'s.

    Config: none.
    """
    view = StackView.shared(args, report)
    for integ in sorted(view.groups):
        phase = view.phase(integ)
        if phase is None or phase < 2:
            continue
        for what, fix in _missing(view, integ, phase):
            report(f"{label(integ)}phase {phase} requires {what}. Fix: {fix}.", None)


PHASE_REQUIREMENTS = stack_policy(
    "phase-requirements",
    "Every resource an integration's phase requires is present.",
    phase_requirements,
)


def _alert_topics(view: StackView, integ: str) -> set[str]:
    path = view.tag(integ, "alert-path")
    return {
        ident
        for t in view.of(integ, SNS_TOPIC)
        if not t.tags.get("alert-path") or t.tags.get("alert-path") == path
        for ident in t.ids
    }


def alarms_route_to_alert_path(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every alarm notifies the SNS topic of its own integration's alert path.

    Rationale: an alarm nobody receives is no alarm (AWS Well-Architected Operational
    Excellence OPS08/OPS10: alerts reach the owning team). docs/contracts.md: an alarm's
    `alarmActions`, and a rotation-failure EventBridge rule's target, are the integration's
    SNS topic for its `alert-path`; never another team's topic.

    Config: none.
    """
    view = StackView.shared(args, report)
    targets: dict[str, list[str]] = {}
    for target in view.of_type(CLOUDWATCH_EVENT_TARGET):
        rule = view.find(target.get("rule"), CLOUDWATCH_EVENT_RULE)
        if rule is not None:
            targets.setdefault(rule.urn, []).append(str(target.get("arn")))
    for integ in sorted(view.groups):
        topics = _alert_topics(view, integ)
        for kind, alarms in sorted(view.alarms(integ).items()):
            for alarm in alarms:
                if alarm.type == CLOUDWATCH_METRIC_ALARM:
                    actions = [str(a) for a in as_list(alarm.get("alarmActions"))]
                    where = "alarm_actions"
                elif alarm.type == CLOUDWATCH_EVENT_RULE:
                    actions, where = targets.get(alarm.urn, []), "its event target"
                else:
                    continue
                wrong = [a for a in actions if a not in topics]
                if not actions or wrong:
                    shown = ", ".join(wrong) if wrong else "nothing"
                    report(
                        f"{label(integ)}{alarm.name} ({kind}) notifies {shown}. Fix: set "
                        f"{where} to {integ}'s alert topic ({integ}-alerts).",
                        alarm.urn,
                    )


ALARMS_ROUTE_TO_ALERT_PATH = stack_policy(
    "alarms-route-to-alert-path",
    "Every alarm notifies its integration's alert topic.",
    alarms_route_to_alert_path,
)


def _function_name(function: Res) -> str | None:
    name = function.get("name")
    return name if isinstance(name, str) else None


def lambda_log_groups(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every function writes to a log group the stack manages (and so has a retention).

    Rationale: Lambda creates `/aws/lambda/<name>` on first invocation with "never expire"
    retention when the group does not exist (Lambda developer guide, "Sending Lambda function
    logs to CloudWatch Logs"); creating it in code is what lets `log-group-retention` apply.

    Config: none.
    """
    view = StackView.shared(args, report)
    groups = {g.get("name") for g in view.of_type(CLOUDWATCH_LOG_GROUP)}
    for function in view.of_type(LAMBDA_FUNCTION):
        name = _function_name(function)
        logging = function.get("loggingConfig") or {}
        custom = logging.get("logGroup") if isinstance(logging, dict) else None
        expected = custom or (f"/aws/lambda/{name}" if name else None)
        if expected and expected not in groups:
            report(
                f"{function.who} logs to {expected}, which the "
                f"stack does not create. Fix: add a LogGroup named {expected} with retention.",
                function.urn,
            )


LAMBDA_LOG_GROUPS = stack_policy(
    "lambda-log-groups",
    "Every function's log group is created by the stack.",
    lambda_log_groups,
)


def rotation_function_invocation(args: StackValidationArgs, report: ReportViolation) -> None:
    """Rotation functions are invocable only by Secrets Manager from this account.

    Rationale: Secrets Manager user guide "Lambda rotation functions" / "Permissions for
    rotation": the rotation function can read and write every version of the credential;
    only `secretsmanager.amazonaws.com`, with `source_account` set (confused-deputy
    protection), may invoke it, and it must be allowed to, or rotation silently fails. The
    one exception is the integration's own retirement schedule (`_retire_schedule`), which
    sends nothing but the event that deactivates its pushers' superseded keys.

    Config: none.
    """
    view = StackView.shared(args, report)
    permissions = list(view.of_type(LAMBDA_PERMISSION))
    checked: set[str] = set()
    for rotation in view.of_type(SECRETS_MANAGER_SECRET_ROTATION):
        function = view.find(rotation.get("rotationLambdaArn"), LAMBDA_FUNCTION)
        if function is None or function.urn in checked:
            continue
        checked.add(function.urn)
        mine = [p for p in permissions if view.find(p.get("function"), LAMBDA_FUNCTION) is function]
        who = label(function.integration)
        good = [
            p
            for p in mine
            if p.get("principal") == "secretsmanager.amazonaws.com" and p.get("sourceAccount")
        ]
        if not good:
            report(
                f"{who}{function.name} rotates secrets but Secrets Manager may not invoke it. "
                "Fix: add a lambda.Permission with principal secretsmanager.amazonaws.com and "
                "source_account = this account.",
                function.urn,
            )
        for other in mine:
            if other.get("principal") == "secretsmanager.amazonaws.com":
                continue
            if other.get("principal") == "events.amazonaws.com" and _retire_schedule(
                view, function, other
            ):
                continue
            report(
                f"{who}{function.name} may also be invoked by {other.get('principal')}. "
                f"Fix: remove {other.name}; only Secrets Manager invokes rotation (and the "
                f"integration's own schedule {function.integration}-rotation-schedule, with "
                f"nothing but the {RETIRE_EVENT!r} event for its pushers' secrets).",
                other.urn,
            )


def _retire_schedule(view: StackView, function: Res, permission: Res) -> bool:
    """`permission` lets only the integration's own retirement schedule invoke `function`.

    The one exception to "only Secrets Manager": a rule of the same integration with the
    role word `rotation-schedule`, on a schedule (an event pattern would forward events
    anyone in the account can put), whose every target at the function sends exactly the
    retirement event (contract.naming.RETIRE_EVENT) for the integration's own pushers'
    secrets, never a rotation step.
    """
    source = permission.props.get("sourceArn")
    if is_unknown(source):
        return True  # judged on `pulumi up`, when the rule's ARN is known
    rule = view.find(source, CLOUDWATCH_EVENT_RULE)
    if (
        rule is None
        or rule.integration != function.integration
        or not rule.is_role("rotation-schedule")
        or not rule.get("scheduleExpression")
        or rule.get("eventPattern")
    ):
        return False
    targets = [
        t
        for t in view.of_type(CLOUDWATCH_EVENT_TARGET)
        if view.find(t.get("rule"), CLOUDWATCH_EVENT_RULE) is rule
        and view.find(t.get("arn"), LAMBDA_FUNCTION) is function
    ]
    return bool(targets) and all(_retire_input(view, function, t) for t in targets)


def _retire_input(view: StackView, function: Res, target: Res) -> bool:
    raw = target.props.get("input")
    if is_unknown(raw):
        return True  # the secrets' ARNs are known on `pulumi up`
    try:
        event = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return False
    if not isinstance(event, dict) or set(event) != {RETIRE_EVENT}:
        return False
    ids = event[RETIRE_EVENT].get("SecretIds") if isinstance(event[RETIRE_EVENT], dict) else None
    pushers = {u.get("name") for u in view.of(function.integration or "", IAM_USER)} - {None}
    secrets = [view.find(i, SECRETS_MANAGER_SECRET) for i in ids] if isinstance(ids, list) else []
    return bool(secrets) and all(
        s is not None and s.integration == function.integration and s.get("name") in pushers
        for s in secrets
    )


ROTATION_FUNCTION_INVOCATION = stack_policy(
    "rotation-function-invocation",
    "Rotation functions are invocable only by Secrets Manager from this account.",
    rotation_function_invocation,
)
