"""Batches sized from service levels, and the Salesforce calls a flow spends, from one module.

The program's SQS triggers and queues, the API-budget alarm, the function environment and
the roadmap rules all read ``roadmap.budget``; these tests read the planned resources
and the rules against the figures that module computes for the example roadmap.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from program_runs import stack_run
from roadmap_examples import EXAMPLE

from contract.aws_types import LAMBDA_FUNCTION, SQS_QUEUE
from provisioner.records import ProgramRun
from roadmap.budget import (
    BULK_READ_THRESHOLD,
    Batching,
    api_alarm_threshold,
    consumer_batching,
    salesforce_calls_per_day,
    visibility_timeout,
)
from roadmap.io import load_roadmap, parse_roadmap
from roadmap.model import Roadmap

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def roadmap() -> Roadmap:
    return load_roadmap(ROOT / "roadmap.yaml")


@pytest.fixture(scope="module")
def dev() -> ProgramRun:
    return stack_run("dev")


def integration(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["integrations"] if i["name"] == name)


def with_levels(name: str, **levels: Any) -> Roadmap:
    data = copy.deepcopy(EXAMPLE)
    integration(data, name)["service_levels"].update(levels)
    return parse_roadmap(data)


def test_a_standard_queue_into_salesforce_gathers_a_collection_within_a_tenth_of_its_slo(
    roadmap: Roadmap,
) -> None:
    # credit-status-to-crm: NetSuite to Salesforce on a standard queue, 5 minutes staleness.
    batching = consumer_batching(roadmap.integration("credit-status-to-crm"), roadmap)

    assert batching == Batching(size=200, window_seconds=30)


def test_fifo_and_single_write_targets_keep_batches_of_ten_without_a_window(
    roadmap: Roadmap,
) -> None:
    fifo = roadmap.integration("quote-to-order")  # ordered: FIFO
    assert fifo.fifo
    assert consumer_batching(fifo, roadmap) == Batching(10, 0)
    web = roadmap.integration("web-order-capture")
    assert consumer_batching(web, roadmap).window_seconds == 0


def test_the_window_stays_within_lambdas_300_seconds_and_above_one() -> None:
    slow = with_levels("credit-status-to-crm", max_staleness_minutes=10_080)
    fast = with_levels("credit-status-to-crm", max_staleness_minutes=1)

    assert consumer_batching(slow.integration("credit-status-to-crm"), slow).window_seconds == 300
    assert consumer_batching(fast.integration("credit-status-to-crm"), fast).window_seconds == 6


def test_the_planned_trigger_and_queue_carry_the_derived_batch(
    dev: ProgramRun, roadmap: Roadmap
) -> None:
    batching = consumer_batching(roadmap.integration("credit-status-to-crm"), roadmap)
    trigger = dev.find("credit-status-to-crm-consumer-trigger")
    queue = dev.find("credit-status-to-crm-queue", SQS_QUEUE)

    assert trigger.inputs["batchSize"] == batching.size
    assert trigger.inputs["maximumBatchingWindowInSeconds"] == batching.window_seconds
    # Six times the consumer's 60 s, plus the window (Lambda developer guide).
    assert queue.inputs["visibilityTimeoutSeconds"] == 360 + batching.window_seconds
    assert visibility_timeout(60, batching) == 390
    fifo = dev.find("quote-to-order-consumer-trigger")
    assert fifo.inputs["batchSize"] == 10
    assert "maximumBatchingWindowInSeconds" not in fifo.inputs


def test_collections_make_a_busy_flow_cost_a_call_per_batch_not_per_record() -> None:
    busy = with_levels("credit-status-to-crm", expected_records_per_day=1_000_000)
    integ = busy.integration("credit-status-to-crm")

    # 30 s batches at 1,000,000 records a day hold about 347 records: capped at 200 a call.
    assert salesforce_calls_per_day(integ, busy) == 5_000


def test_a_quiet_flow_still_pays_a_call_per_record() -> None:
    quiet = with_levels("credit-status-to-crm", expected_records_per_day=300)

    assert salesforce_calls_per_day(quiet.integration("credit-status-to-crm"), quiet) == 300


def test_large_scheduled_reads_of_salesforce_cost_a_bulk_job_not_pages(roadmap: Roadmap) -> None:
    # warehouse-export: 150,000 Salesforce records a night, then their reconciliation.
    integ = roadmap.integration("warehouse-export")
    assert integ.service_levels.expected_records_per_day >= BULK_READ_THRESHOLD

    # Each: create, describe, 3 polls, 15 result pages of 10,000.
    assert salesforce_calls_per_day(integ, roadmap) == 2 * 20
    small = with_levels("warehouse-export", expected_records_per_day=1_000)
    # Below the threshold: REST pages of 200, each read and its reconciliation.
    assert salesforce_calls_per_day(small.integration("warehouse-export"), small) == 2 * 5


def test_flows_that_touch_no_salesforce_spend_nothing_from_it(roadmap: Roadmap) -> None:
    assert salesforce_calls_per_day(roadmap.integration("order-to-invoice"), roadmap) == 0


def test_the_alarm_the_environment_and_the_rules_read_the_same_figure(
    dev: ProgramRun, roadmap: Roadmap
) -> None:
    integ = roadmap.integration("warehouse-export")
    spend = salesforce_calls_per_day(integ, roadmap)
    alarm = dev.find("warehouse-export-alarm-api-budget")
    function = dev.find("warehouse-export-batch", LAMBDA_FUNCTION)

    assert alarm.inputs["threshold"] == api_alarm_threshold(integ, roadmap) == spend * 3 // 2
    assert function.inputs["environment"]["variables"]["API_CALLS_PER_DAY"] == str(spend)


def test_the_org_rule_counts_the_computed_figure_not_the_owners_estimate() -> None:
    data = copy.deepcopy(EXAMPLE)
    # An estimate far above the allocation changes nothing: the spend is computed.
    integration(data, "warehouse-export")["service_levels"]["salesforce_api_calls_per_day"] = (
        10_000_000
    )
    estimated = parse_roadmap(data)  # the org allows 280,000: no problem raised
    assert salesforce_calls_per_day(estimated.integration("warehouse-export"), estimated) == 40


def test_plan_shows_each_flows_computed_salesforce_calls(
    roadmap: Roadmap, capsys: pytest.CaptureFixture[str]
) -> None:
    from provisioner.cli import main

    assert main(["plan", "--stack", "dev", "--json"]) == 0
    shown = {
        i["name"]: i["salesforce_calls_per_day"]
        for i in json.loads(capsys.readouterr().out)["integrations"]
    }

    assert shown == {
        name: salesforce_calls_per_day(roadmap.integration(name), roadmap, phase=phase)
        for name, phase in ((i.name, i.phase("dev")) for i in roadmap.active("dev"))
    }
    assert shown["warehouse-export"] == 40


def test_only_large_scheduled_reads_of_salesforce_run_as_bulk_query_jobs(dev: ProgramRun) -> None:
    def env(function: str) -> dict[str, str]:
        found = dev.find(function, LAMBDA_FUNCTION)
        return dict(found.inputs["environment"]["variables"])

    # warehouse-export reads 150,000 Salesforce records a night; order-to-invoice reads NetSuite.
    assert env("warehouse-export-batch").get("SOURCE_BULK_QUERY") == "true"
    assert "SOURCE_BULK_QUERY" not in env("order-to-invoice-batch")
