"""What a flow spends from the Salesforce org's daily API allocation, and the batches behind it.

One module, read by the components (the SQS trigger's batch size and batching window, the
queue's visibility timeout, the API-budget alarm's threshold), the roadmap's budget rules
(``validate``, and each stack's allocation), ``plan`` and the report.

Consumer batches (Lambda developer guide, "Lambda parameters for Amazon SQS event source
mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html):

* FIFO queues: 10 records, the most a FIFO queue hands Lambda, and no batching window (not
  supported for FIFO);
* standard queues: as many records as one write call of the target's connector takes (its
  collection size, ``contract/connectors.py``; at least 10, at most SQS's 10,000), and above
  10 a batching window of a tenth of the staleness SLO, 1 to 300 s (a batch larger than 10
  needs a window of at least 1 s: Lambda API reference, CreateEventSourceMapping), so a
  record waits for its batch at most a tenth of the time it may take to arrive.

Salesforce calls per day, per integration (both directions of a bidirectional flow):

* a consumer writing into Salesforce: one sObject Collections call per batch (per object);
  a batch holds what arrives within its window (at least a second's worth), at most the
  batch size: ``records / clamp(records_per_day * window / 86,400, 1, batch)``;
* a scheduled job writing into Salesforce: per run, ``ceil(records per run / 200)``;
* a scheduled job reading Salesforce: per run, a REST query per page of 200 records, or, from
  ``BULK_READ_THRESHOLD`` records a run on (``reads_in_bulk``), one Bulk API 2.0 query job
  (create, describe, polls, result pages: ``bulk_job_calls``); the nightly reconciliation
  (phase 4 and up) reads its day the same way, and looks records up in a Salesforce target
  100 ids a query;
* a consumer reading Salesforce costs nothing: change events are pushed (Event Relay);
* a middleware flow reaches Salesforce through the platform, assumed to spend a call per
  record (the platform contract is per record).

OAuth token requests are not counted: they do not count against the API request limit.

Usage::

    spend = salesforce_calls_per_day(integ, roadmap)    # int, for the rules and the alarm
    batching = consumer_batching(integ, roadmap)          # Batching(size=200, window_seconds=90)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contract.connectors import CONNECTORS, MIDDLEWARE

if TYPE_CHECKING:
    from roadmap.integrations import Integration
    from roadmap.model import Roadmap

__all__ = [
    "BULK_READ_THRESHOLD",
    "Batching",
    "api_alarm_threshold",
    "bulk_job_calls",
    "consumer_batching",
    "reads_in_bulk",
    "runs_per_day",
    "salesforce_calls_per_day",
    "visibility_timeout",
]

SECONDS_PER_DAY = 86_400
# SQS event source mappings: FIFO batches at most 10; standard queues at most 10,000; a
# batching window of 0-300 s, unsupported for FIFO (Lambda developer guide, above).
FIFO_BATCH = 10
MIN_BATCH = 10
MAX_BATCH = 10_000
MAX_WINDOW_SECONDS = 300
WINDOW_SHARE_OF_STALENESS = 0.1
# Lambda developer guide, "Using Lambda with Amazon SQS": a queue's visibility timeout at
# least six times the function's timeout, plus the batching window.
VISIBILITY_TIMEOUT_FACTOR = 6
# What the scheduled jobs read a page at a time through REST (batch.PAGE_SIZE,
# reconcile.PAGE_SIZE), and how many ids one lookup query carries (the connector's chunk).
REST_PAGE = 200
LOOKUP_IDS = 100
COLLECTION = CONNECTORS["salesforce"].collection_size
# From this many records a run, a Bulk API 2.0 query job (about ``bulk_job_calls`` calls)
# costs fewer calls than REST pages of 200 (a call per page): 10 pages.
BULK_READ_THRESHOLD = 2_000
# Bulk API 2.0 query results are fetched ``maxRecords`` at a time (the connector's page).
BULK_RESULT_PAGE = 10_000
# Calls besides the result pages: create the job, describe the sObject (to type the CSV),
# poll it until JobComplete (planned at 3).
BULK_JOB_OVERHEAD = 5
RECONCILE_RUNS_PER_DAY = 1  # components.integration.RECONCILE_SCHEDULE: nightly
# The api-budget alarm pages when a day's calls reach half again what the plan computes for
# the flow: its volume grew past the roadmap's, or calls are wasted (retries, lost batching).
API_ALARM_OVER_PLAN = 1.5
# Flows that touch no Salesforce: page at 80% of the systems' own daily limit, else of
# twice the expected volume (a call per record, with headroom).
API_ALARM_SHARE_OF_LIMIT = 0.8


@dataclass(frozen=True)
class Batching:
    """An SQS trigger's batch: how many records, and how long Lambda gathers them."""

    size: int
    window_seconds: int


def consumer_batching(integ: Integration, roadmap: Roadmap, *, reverse: bool = False) -> Batching:
    """The batch of the integration's consumer (``reverse``: of its way back)."""
    if integ.fifo:
        return Batching(FIFO_BATCH, 0)
    written = roadmap.connector(integ, "source" if reverse else "target")
    size = min(MAX_BATCH, max(MIN_BATCH, written.collection_size))
    if size <= MIN_BATCH:
        return Batching(size, 0)
    staleness = integ.service_levels.max_staleness_minutes * 60
    window = int(staleness * WINDOW_SHARE_OF_STALENESS)
    return Batching(size, max(1, min(MAX_WINDOW_SECONDS, window)))


def visibility_timeout(function_timeout_seconds: int, batching: Batching) -> int:
    """The source queue's visibility timeout for a consumer with this timeout and batch."""
    return VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds + batching.window_seconds


def reads_in_bulk(integ: Integration) -> bool:
    """Whether its batch and reconciliation jobs read Salesforce through Bulk API 2.0 query
    jobs: from ``BULK_READ_THRESHOLD`` records a batch run (a day, for a queued flow's
    nightly reconciliation)."""
    return _records_per_run(integ) >= BULK_READ_THRESHOLD


def bulk_job_calls(records: float) -> int:
    """Calls one Bulk API 2.0 query job of ``records`` costs: create, describe, polls, pages."""
    return BULK_JOB_OVERHEAD + max(1, math.ceil(records / BULK_RESULT_PAGE))


def salesforce_calls_per_day(
    integ: Integration, roadmap: Roadmap, *, phase: int | None = None
) -> int:
    """Salesforce API calls a day the integration spends (0 when it touches no Salesforce).

    ``phase``: its phase in one environment (a reconciliation job from phase 4); by default
    the highest it reaches anywhere.
    """
    systems = {s.name: s for s in roadmap.systems}
    if integ.source not in systems or integ.target not in systems:
        return 0  # an unknown system is the reference rule's to name
    source, target = systems[integ.source].is_salesforce, systems[integ.target].is_salesforce
    if not (source or target):
        return 0
    records = integ.service_levels.expected_records_per_day
    if roadmap.connector(integ, "target").name == MIDDLEWARE and not integ.pattern.scheduled:
        return records * (2 if integ.bidirectional and source and target else 1)
    levels = integ.phases
    at = phase if phase is not None else max(levels.dev, levels.staging, levels.prod)
    bulk = reads_in_bulk(integ)
    calls = 0.0
    if integ.pattern.scheduled:
        runs = runs_per_day(integ.schedule or "rate(1 day)")
        per_run = records / runs if runs else records
        if source:
            calls += runs * _read_calls(per_run, bulk)
        if target:
            calls += runs * math.ceil(per_run / COLLECTION) if per_run else 0
    else:
        if target:
            calls += _consumer_calls(records, consumer_batching(integ, roadmap))
        if source and integ.bidirectional:
            calls += _consumer_calls(records, consumer_batching(integ, roadmap, reverse=True))
    if at >= 4:
        if source:
            calls += RECONCILE_RUNS_PER_DAY * _read_calls(records, bulk)
        if target:
            calls += RECONCILE_RUNS_PER_DAY * math.ceil(records / LOOKUP_IDS)
    return math.ceil(calls)


def api_alarm_threshold(integ: Integration, roadmap: Roadmap) -> int:
    """ApiCallsUsed a day above which the integration's api-budget alarm pages."""
    planned = salesforce_calls_per_day(integ, roadmap)
    if planned:
        return math.ceil(planned * API_ALARM_OVER_PLAN)
    daily = [roadmap.system(name).api.daily_call_limit for name in (integ.source, integ.target)]
    known = [d for d in daily if d is not None]
    limit = min(known) if known else max(1, 2 * integ.service_levels.expected_records_per_day)
    return max(1, int(limit * API_ALARM_SHARE_OF_LIMIT))


def _consumer_calls(records: int, batching: Batching) -> float:
    if not records:
        return 0.0
    arriving = records * max(batching.window_seconds, 1) / SECONDS_PER_DAY
    per_call = min(max(arriving, 1.0), batching.size, COLLECTION)
    return math.ceil(records / per_call)


def _read_calls(records: float, bulk: bool) -> int:
    if bulk:
        return bulk_job_calls(records)
    return max(1, math.ceil(records / REST_PAGE))


def _records_per_run(integ: Integration) -> float:
    runs = runs_per_day(integ.schedule or "rate(1 day)") if integ.pattern.scheduled else 1.0
    return integ.service_levels.expected_records_per_day / max(runs, 1e-9)


# ----------------------------------------------------------------------- schedules

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
# AWS prices by a 730-hour month; a day-of-month schedule runs that many days of it.
DAYS_PER_MONTH = 730 / 24


def _cron_field(text: str, low: int, high: int) -> int:
    """How many values a cron field takes (`*`, `?`, `a`, `a,b`, `a-b`, `*/n`, `a/n`)."""
    if text in ("*", "?"):
        return high - low + 1
    count = 0
    for part in text.split(","):
        base, _, step = part.partition("/")
        first, _, last = base.partition("-")
        start = low if first in ("*", "") else int(first) if first.isdigit() else low
        end = int(last) if last.isdigit() else (high if step or first == "*" else start)
        count += len(range(start, end + 1, int(step) if step.isdigit() else 1))
    return max(count, 1)


def runs_per_day(expression: str) -> float:
    """Runs of an EventBridge schedule per day, on average (rate() or six-field cron())."""
    rate = _RATE.match(expression)
    if rate:
        return 1440 / (int(rate[1]) * _UNIT_MINUTES[rate[2].rstrip("s")])
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        raise ValueError(f"not an EventBridge schedule: {expression!r}")
    minutes, hours, dom, _month, dow, _year = fields
    per_day = _cron_field(minutes, 0, 59) * _cron_field(hours, 0, 23)
    if dow not in ("*", "?"):
        for number, day in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1):
            dow = dow.upper().replace(day, str(number))
        return per_day * min(_cron_field(dow.replace("L", "").split("#")[0], 1, 7), 7) / 7
    if dom not in ("*", "?"):
        days = min(_cron_field(dom.replace("L", "").replace("W", ""), 1, 31), DAYS_PER_MONTH)
        return per_day * days / DAYS_PER_MONTH
    return float(per_day)
