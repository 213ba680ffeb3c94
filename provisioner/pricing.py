"""The monthly cost of what the program provisions: fixed items and usage from service levels.

One cost model over a planned integration's resources, priced from the dated table in
`provisioner/prices.py`:

- fixed: customer-managed KMS keys, their rotated key material, secrets, alarms,
  dashboards, and the custom metrics the sync functions publish;
- usage, estimated from the roadmap's `service_levels.expected_records_per_day` and the
  resources as planned (memory, schedules, FIFO, rotation periods): Lambda requests and
  GB-seconds, SQS requests, DynamoDB on-demand writes, Secrets Manager API calls,
  CloudWatch Logs ingestion and KMS requests.

Usage::

    cost = integration_cost(integ, resources, region="eu-west-1")
    cost.total_usd, [(line.item, line.quantity, line.usd) for line in cost.lines]

Free tiers are not deducted (they are per account, shared with everything else in it).
A region without prices in the table is refused (`PriceError`) rather than guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from components.stage import EXPIRE_AFTER_DAYS
from contract.aws_types import (
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_METRIC_ALARM,
    DYNAMODB_TABLE,
    KMS_KEY,
    LAMBDA_FUNCTION,
    S3_BUCKET,
    SECRETS_MANAGER_SECRET,
    SECRETS_MANAGER_SECRET_ROTATION,
    SQS_QUEUE,
)
from contract.metrics import CUSTOM_METRICS, RECONCILIATION_GAP, namespace
from provisioner.paths import FUNCTIONS_BUNDLE
from provisioner.prices import DAYS_PER_MONTH, PRICE_BY_ITEM, SECONDS_PER_MONTH, Price
from roadmap.budget import runs_per_day
from roadmap.integrations import Integration

__all__ = [
    "CostLine",
    "IntegrationCost",
    "integration_cost",
    "runs_per_month",
    "stack_cost",
]


# One staged row of a warehouse pipeline: its mapped columns as a JSON line.
STAGED_BYTES_PER_RECORD = 512

# ---------------------------------------------------------------- usage assumptions
# Each is a round, stated figure; change it here and every estimate follows.
SECONDS_PER_RECORD = 0.5  # one upsert into the target API plus two DynamoDB calls
# A signed-webhook ingress verifies, records the delivery id and enqueues: no outside call.
INGRESS_SECONDS_PER_DELIVERY = 0.1
# A bidirectional flow's way back is priced at the flow's volume: the roadmap states one
# volume per flow, and a change on either side is as likely (an upper bound, not a guess).
RECONCILE_SECONDS_PER_RUN = 60.0  # one listing of each side per object
ROTATION_SECONDS_PER_STEP = 2.0
ROTATION_STEPS = 4  # createSecret, setSecret, testSecret, finishSecret
ROTATION_SECRETS_CALLS = 8  # describe, get x3, put, update stage x2, list versions
ROTATION_KMS_REQUESTS = 4  # decrypts of the reads and one data key for the put
LOG_BYTES_PER_RECORD = 1024  # the structured log line and the EMF metrics blob
LOG_BYTES_PER_INVOCATION = 350  # START, END and REPORT lines
STATE_WRITES_PER_RECORD = 2  # idempotency: in-progress put, then the completed update
# Lambda's SQS event source polls with five concurrent long polls of up to 20 s each while
# idle (Lambda developer guide, "Using Lambda with Amazon SQS": scaling and processing).
IDLE_POLLERS = 5
LONG_POLL_SECONDS = 20
SQS_REQUESTS_PER_RECORD = 3  # send, receive, delete
# A cached data key or table key is re-requested from KMS every reuse period by each
# caller (SQS: KmsDataKeyReusePeriodSeconds; DynamoDB: about five minutes).
DATA_KEY_REUSE_SECONDS = 300


def _bundle_constant(module: str, name: str) -> Any:
    """A literal constant of the sync bundle, read from its source (the bundle is not ours
    to import here: it is what Lambda imports)."""
    path = FUNCTIONS_BUNDLE / "integration_sync" / f"{module}.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path}: no constant {name}")


# ---------------------------------------------------------------- schedules


def runs_per_month(expression: str) -> float:
    """Runs of an EventBridge schedule per 730-hour month (rate() or six-field cron())."""
    return runs_per_day(expression) * DAYS_PER_MONTH


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class CostLine:
    """One priced item of one integration: how much of it a month, and what that costs."""

    item: str
    quantity: float
    usd: float
    basis: str  # how the quantity follows from the roadmap and the plan

    @property
    def price(self) -> Price:
        return PRICE_BY_ITEM[self.item]

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.price.kind,
            "quantity": round(self.quantity, 3),
            "unit": self.price.unit,
            "usd": self.usd,
            "basis": self.basis,
        }


@dataclass(frozen=True)
class IntegrationCost:
    """An integration's estimated monthly cost in one environment, item by item."""

    integration: str
    region: str
    lines: tuple[CostLine, ...] = field(default=())

    def _sum(self, kind: str | None = None) -> float:
        return round(sum(l.usd for l in self.lines if kind in (None, l.price.kind)), 2)  # noqa: E741

    @property
    def fixed_usd(self) -> float:
        return self._sum("fixed")

    @property
    def usage_usd(self) -> float:
        return self._sum("usage")

    @property
    def total_usd(self) -> float:
        return round(self.fixed_usd + self.usage_usd, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "fixed_usd": self.fixed_usd,
            "usage_usd": self.usage_usd,
            "monthly_usd": self.total_usd,
            "items": [line.to_json() for line in self.lines],
        }


def _of_type(resources: Iterable[Any], type_: str) -> list[Any]:
    return [r for r in resources if r.type == type_]


def _role(resource: Any, integration: str) -> str:
    return str(resource.name).removeprefix(f"{integration}-")


class _Lines:
    def __init__(self, region: str) -> None:
        self.region = region
        self.lines: list[CostLine] = []

    def add(self, item: str, quantity: float, basis: str) -> None:
        if quantity <= 0:
            return
        usd = round(quantity * PRICE_BY_ITEM[item].rate(self.region), 2)
        self.lines.append(CostLine(item, quantity, usd, basis))


def _add_keys(out: _Lines, resources: list[Any]) -> None:
    keys = _of_type(resources, KMS_KEY)
    rotated = [k for k in keys if k.inputs.get("enableKeyRotation")]
    out.add("kms-key", len(keys), f"{len(keys)} customer-managed key(s)")
    out.add(
        "kms-rotated-key-material",
        2 * len(rotated),
        f"{len(rotated)} key(s) with rotation on: the first two rotations add $1/month each",
    )


def stack_cost(resources: Iterable[Any], region: str) -> IntegrationCost:
    """Fixed cost of the stack's own resources (the audit trail's key); the trail's events
    and the bucket's storage are usage-priced and not estimated here."""
    out = _Lines(region)
    _add_keys(out, list(resources))
    return IntegrationCost("(stack)", region, tuple(out.lines))


@dataclass
class _Planned:
    """One integration's planned resources, as the usage estimates read them."""

    integ: Integration
    resources: list[Any]
    functions: dict[str, Any]  # role -> function
    sync: dict[str, Any]  # the functions that move records or deliveries
    secrets: list[Any]

    @property
    def name(self) -> str:
        return self.integ.name

    @property
    def records(self) -> float:
        """Records per month, one way."""
        return self.integ.service_levels.expected_records_per_day * DAYS_PER_MONTH

    @property
    def has_table(self) -> bool:
        return bool(_of_type(self.resources, DYNAMODB_TABLE))


@dataclass
class _Usage:
    """Invocations and seconds per function and month, and what they handle."""

    invocations: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    records_handled: float = 0.0
    rotations: float = 0.0
    consumers: list[str] = field(default_factory=list)


def integration_cost(integ: Integration, resources: Iterable[Any], region: str) -> IntegrationCost:
    """Fixed and usage cost of one integration's planned resources in `region`.

    `resources` are the plan's recorded resources of the integration (anything with
    `type`, `name` and camelCase `inputs`).
    """
    resources = list(resources)
    name = integ.name
    functions = {_role(f, name): f for f in _of_type(resources, LAMBDA_FUNCTION)}
    planned = _Planned(
        integ,
        resources,
        functions,
        sync={
            k: f
            for k, f in functions.items()
            if k in ("consumer", "reverse-consumer", "batch", "reconcile", "webhook")
        },
        secrets=_of_type(resources, SECRETS_MANAGER_SECRET),
    )
    out = _Lines(region)
    _add_keys(out, resources)
    _add_fixed(out, planned)
    usage = _usage(planned)
    _add_lambda(out, planned, usage)
    queues = _add_queues(out, planned, usage)
    _add_table_writes(out, planned, usage)
    _add_stage(out, planned, usage)
    reads = _add_secret_reads(out, planned, usage)
    _add_kms_requests(out, planned, usage, queues, reads)
    log_bytes = (
        usage.records_handled * LOG_BYTES_PER_RECORD
        + sum(usage.invocations.values()) * LOG_BYTES_PER_INVOCATION
    )
    out.add(
        "logs-ingestion",
        log_bytes / 1024**3,
        f"{LOG_BYTES_PER_RECORD} bytes per record and {LOG_BYTES_PER_INVOCATION} per invocation",
    )
    return IntegrationCost(name, region, tuple(out.lines))


def _add_fixed(out: _Lines, planned: _Planned) -> None:
    """Secrets, alarms, dashboards and the custom metrics the sync functions publish."""
    resources, sync = planned.resources, planned.sync
    out.add("secret", len(planned.secrets), f"{len(planned.secrets)} credential secret(s)")
    alarms = _of_type(resources, CLOUDWATCH_METRIC_ALARM)
    out.add("alarm", len(alarms), f"{len(alarms)} alarm(s)")
    dashboards = _of_type(resources, CLOUDWATCH_DASHBOARD)
    out.add("dashboard", len(dashboards), f"{len(dashboards)} dashboard(s)")
    if sync:
        metrics = [m for m in CUSTOM_METRICS if m != RECONCILIATION_GAP or "reconcile" in sync]
        out.add(
            "custom-metric",
            len(metrics),
            f"{len(metrics)} metrics in {namespace(planned.name)} ({', '.join(metrics)})",
        )


def _usage(planned: _Planned) -> _Usage:
    """Invocations and seconds per function and month."""
    sync, records = planned.sync, planned.records
    usage = _Usage(consumers=[c for c in ("consumer", "reverse-consumer") if c in sync])
    for consumer in usage.consumers:
        usage.invocations[consumer] = records  # sparse traffic: about one record per invocation
        usage.seconds[consumer] = records * SECONDS_PER_RECORD
        usage.records_handled += records
    if "webhook" in sync:  # one delivery per record
        usage.invocations["webhook"] = records
        usage.seconds["webhook"] = records * INGRESS_SECONDS_PER_DELIVERY
    _scheduled_usage(planned, usage)
    for rotation in _of_type(planned.resources, SECRETS_MANAGER_SECRET_ROTATION):
        days = (rotation.inputs.get("rotationRules") or {}).get("automaticallyAfterDays") or 30
        usage.rotations += DAYS_PER_MONTH / float(days)
    if "rotation" in planned.functions and usage.rotations:
        usage.invocations["rotation"] = usage.rotations * ROTATION_STEPS
        usage.seconds["rotation"] = usage.rotations * ROTATION_STEPS * ROTATION_SECONDS_PER_STEP
    return usage


def _scheduled_usage(planned: _Planned, usage: _Usage) -> None:
    """The batch job's and the reconciliation's runs, from their schedules."""
    sync, records = planned.sync, planned.records
    schedules = {
        _role(r, planned.name).removesuffix("-schedule"): str(
            r.inputs.get("scheduleExpression", "")
        )
        for r in _of_type(planned.resources, CLOUDWATCH_EVENT_RULE)
        if r.inputs.get("scheduleExpression")
    }
    if "batch" in sync and schedules.get("batch"):
        runs = runs_per_month(schedules["batch"])
        usage.invocations["batch"] = runs
        # A run stops at its timeout and the next one resumes from the watermark.
        timeout = float(sync["batch"].inputs.get("timeout", 3))
        usage.seconds["batch"] = min(records * SECONDS_PER_RECORD, runs * timeout)
        usage.records_handled += records
    if "reconcile" in sync and schedules.get("reconcile"):
        runs = runs_per_month(schedules["reconcile"])
        usage.invocations["reconcile"] = runs
        usage.seconds["reconcile"] = runs * RECONCILE_SECONDS_PER_RUN


def _add_lambda(out: _Lines, planned: _Planned, usage: _Usage) -> None:
    records, invocations = planned.records, usage.invocations
    per_day = planned.integ.service_levels.expected_records_per_day
    parts = {
        "consumer": f"{records:,.0f} records ({per_day:,}/day), one per invocation",
        "reverse-consumer": f"as many the other way ({records:,.0f})",
        "webhook": f"{records:,.0f} signed webhook deliveries",
        "batch": f"{invocations.get('batch', 0):,.0f} batch runs",
        "reconcile": f"{invocations.get('reconcile', 0):,.0f} reconciliations",
        "rotation": f"{usage.rotations:.1f} rotations x {ROTATION_STEPS} steps",
    }
    out.add(
        "lambda-requests",
        sum(invocations.values()),
        ", ".join(text for role, text in parts.items() if role in invocations),
    )
    gb_seconds = sum(
        usage.seconds[role] * float(planned.functions[role].inputs.get("memorySize", 128)) / 1024
        for role in usage.seconds
    )
    out.add(
        "lambda-compute",
        gb_seconds,
        f"{SECONDS_PER_RECORD} s per record and way (a batch run at most its timeout), "
        f"{INGRESS_SECONDS_PER_DELIVERY} s per webhook delivery, "
        f"{RECONCILE_SECONDS_PER_RUN:.0f} s per reconciliation, {ROTATION_SECONDS_PER_STEP:.0f} s "
        "per rotation step, at each function's memory",
    )


def _add_queues(out: _Lines, planned: _Planned, usage: _Usage) -> list[Any]:
    """Each consumer's source queue: `queue`, and `reverse-queue` for the way back."""
    queues = [
        q
        for q in _of_type(planned.resources, SQS_QUEUE)
        if _role(q, planned.name).removesuffix(".fifo")
        in [c.replace("consumer", "queue") for c in usage.consumers]
    ]
    if queues:
        fifo = bool(queues[0].inputs.get("fifoQueue"))
        idle_polls = IDLE_POLLERS * SECONDS_PER_MONTH / LONG_POLL_SECONDS
        requests = len(queues) * (planned.records * SQS_REQUESTS_PER_RECORD + idle_polls)
        each = " each way" if len(queues) > 1 else ""
        out.add(
            "sqs-fifo-requests" if fifo else "sqs-requests",
            requests,
            f"{SQS_REQUESTS_PER_RECORD} per record (send, receive, delete) and "
            f"{idle_polls:,.0f} long polls by the trigger's {IDLE_POLLERS} pollers{each}",
        )
    return queues


def _add_table_writes(out: _Lines, planned: _Planned, usage: _Usage) -> None:
    if not (planned.has_table and usage.records_handled):
        return
    if "batch" in usage.invocations:  # a watermark commit per page, and per object and run
        page = int(_bundle_constant("batch", "DEFAULT_PAGE_SIZE"))
        writes = planned.records / page + usage.invocations["batch"] * len(planned.integ.objects)
        basis = f"a watermark write per page of {page} and per object and batch run"
    else:
        writes = usage.records_handled * STATE_WRITES_PER_RECORD
        basis = f"{STATE_WRITES_PER_RECORD} idempotency writes per record and way"
    if "webhook" in usage.invocations:
        writes += usage.invocations["webhook"]
        basis += ", one delivery id per webhook delivery"
    out.add("dynamodb-writes", writes, basis)


def _add_stage(out: _Lines, planned: _Planned, usage: _Usage) -> None:
    """A warehouse pipeline's stage: a file put per page, kept until the lifecycle expires it."""
    if not _of_type(planned.resources, S3_BUCKET) or "batch" not in usage.invocations:
        return
    page = int(_bundle_constant("batch", "DEFAULT_PAGE_SIZE"))
    files = planned.records / page + usage.invocations["batch"] * len(planned.integ.objects)
    out.add("s3-put-requests", files, f"a file per page of {page} and per object and batch run")
    kept = planned.integ.service_levels.expected_records_per_day * EXPIRE_AFTER_DAYS
    out.add(
        "s3-storage",
        kept * STAGED_BYTES_PER_RECORD / 1024**3,
        f"{EXPIRE_AFTER_DAYS} days of rows ({STAGED_BYTES_PER_RECORD} bytes each) until expired",
    )


def _add_secret_reads(out: _Lines, planned: _Planned, usage: _Usage) -> float:
    """Secrets Manager calls; returns the reads (each one is a KMS decrypt too)."""
    cache_seconds = float(_bundle_constant("credentials", "SECRET_MAX_AGE_SECONDS"))
    windows = SECONDS_PER_MONTH / cache_seconds
    invocations = usage.invocations
    reads = sum(min(invocations[r], windows) for r in planned.sync if r in invocations) * len(
        planned.secrets
    )
    rotation_calls = usage.rotations * ROTATION_SECRETS_CALLS
    out.add(
        "secrets-api-calls",
        reads + rotation_calls,
        f"each secret read at most once per {cache_seconds:.0f} s cache per function, and "
        f"{ROTATION_SECRETS_CALLS} calls per rotation",
    )
    return reads


def _add_kms_requests(
    out: _Lines, planned: _Planned, usage: _Usage, queues: list[Any], reads: float
) -> None:
    cmk_callers = 0.0
    for _queue in queues:  # the sender and the consumer of each queue
        cmk_callers += 2 * min(planned.records, SECONDS_PER_MONTH / DATA_KEY_REUSE_SECONDS)
    if planned.has_table and usage.records_handled:
        cmk_callers += min(usage.records_handled, SECONDS_PER_MONTH / DATA_KEY_REUSE_SECONDS)
    kms_requests = reads + usage.rotations * ROTATION_KMS_REQUESTS + cmk_callers
    out.add(
        "kms-requests",
        kms_requests,
        "one decrypt per secret read, data keys of the queue and table per "
        f"{DATA_KEY_REUSE_SECONDS} s and caller, {ROTATION_KMS_REQUESTS} per rotation",
    )
