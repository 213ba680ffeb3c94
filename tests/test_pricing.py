"""The cost model: the example's prod stack priced by hand, item by item, from the table."""

from __future__ import annotations

from typing import Any

import pytest
from program_runs import stack_run

from provisioner.commands.plan import plan_document
from provisioner.context import load_stack_context
from provisioner.prices import PRICE_BY_ITEM, PRICES, PriceError
from provisioner.pricing import integration_cost, runs_per_month
from roadmap.integrations import Integration

REGION = "eu-west-1"  # stacks/Pulumi.prod.yaml


def rate(item: str) -> float:
    return PRICE_BY_ITEM[item].rate(REGION)


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    ctx = load_stack_context("prod")
    return plan_document(ctx, stack_run("prod"))


def _integration(name: str) -> Integration:
    return next(i for i in load_stack_context("prod").roadmap.integrations if i.name == name)


def test_quote_to_order_in_prod_costs_what_a_hand_count_says(prod: dict[str, Any]) -> None:
    """Phase 3, FIFO, 1,200 records/day, two credentials rotated every 30 days."""
    doc = next(i for i in prod["integrations"] if i["name"] == "quote-to-order")
    items = {line["item"]: line for line in doc["cost"]["items"]}
    month_days = 730 / 24
    records = 1200 * month_days  # 36,500
    rotations = 2 * month_days / 30  # two secrets, each every 30 days
    consumer_seconds = records * 0.5
    secret_reads = 2 * min(records, 730 * 3600 / 300)  # a 5-minute cache per secret
    by_hand = {
        "kms-key": (1, 1 * rate("kms-key")),
        "kms-rotated-key-material": (2, 2 * rate("kms-rotated-key-material")),
        "secret": (2, 2 * rate("secret")),
        # Phase 3's four, and netsuite-m2m's secret-age (NetSuite issues it only by hand).
        "alarm": (5, 5 * rate("alarm")),
        # RecordsSynced, RecordsFailed, DuplicatesSkipped, StaleWritesSkipped,
        # SchemaMismatches, SyncLagSeconds, ApiCallsUsed, EchoesSuppressed, ConflictsResolved,
        # ConflictsParked, CredentialAgeDays: no ReconciliationGap before phase 4.
        "custom-metric": (11, 11 * rate("custom-metric")),
        "lambda-requests": (records + rotations * 4, None),
        "lambda-compute": ((consumer_seconds + rotations * 4 * 2.0) * 256 / 1024, None),
        "sqs-fifo-requests": (records * 3 + 5 * 730 * 3600 / 20, None),
        "dynamodb-writes": (records * 2, None),
        "secrets-api-calls": (secret_reads + rotations * 8, None),
        "kms-requests": (
            secret_reads + rotations * 4 + 2 * min(records, 8760) + min(records, 8760),
            None,
        ),
        "logs-ingestion": ((records * 1024 + (records + rotations * 4) * 350) / 1024**3, None),
    }
    assert sorted(items) == sorted(by_hand)
    for item, (quantity, usd) in by_hand.items():
        assert items[item]["quantity"] == pytest.approx(quantity, abs=0.001), item
        expected = usd if usd is not None else quantity * rate(item)
        assert items[item]["usd"] == pytest.approx(round(expected, 2), abs=0.001), item
    # $1 key + $2 rotated material + $0.80 secrets + $0.50 alarms + $3.30 metrics.
    assert doc["cost"]["fixed_usd"] == pytest.approx(7.60)
    # 0.01 Lambda requests, 0.06 arm64 GB-s, 0.38 SQS FIFO, 0.05 DynamoDB, 0.09 Secrets
    # Manager, 0.13 KMS, 0.03 logs.
    assert doc["cost"]["usage_usd"] == pytest.approx(0.75)
    assert doc["monthly_cost_usd"] == pytest.approx(8.35)


def test_prod_stack_total_is_the_sum_of_its_integrations(prod: dict[str, Any]) -> None:
    fixed = sum(i["cost"]["fixed_usd"] for i in prod["integrations"])
    usage = sum(i["cost"]["usage_usd"] for i in prod["integrations"])
    # Plus the stack's own audit-trail key ($1 and its rotated material).
    fixed += prod["stack_cost"]["fixed_usd"]
    assert prod["stack_cost"]["fixed_usd"] >= 1.00
    assert prod["fixed_cost_usd"] == pytest.approx(fixed)
    assert prod["usage_cost_usd"] == pytest.approx(usage)
    assert prod["monthly_cost_usd"] == pytest.approx(fixed + usage)
    # Phase 2 (key with rotation, two secrets, no traffic yet): $1 + $2 + $0.80.
    by_name = {i["name"]: i for i in prod["integrations"]}
    assert by_name["inventory-to-promise"]["cost"]["fixed_usd"] == pytest.approx(3.80)


def test_every_rotated_key_costs_more_than_a_key_that_does_not_rotate() -> None:
    class Key:
        type = "aws:kms/key:Key"
        name = "quote-to-order-key"

        def __init__(self, rotation: bool) -> None:
            self.inputs = {"enableKeyRotation": rotation}

    integ = _integration("quote-to-order")
    rotating = integration_cost(integ, [Key(True)], REGION).fixed_usd
    still = integration_cost(integ, [Key(False)], REGION).fixed_usd
    assert (still, rotating) == (1.00, 3.00)


def test_every_price_names_its_page_and_month() -> None:
    for price in PRICES:
        assert price.source.startswith("https://aws.amazon.com/"), price.item
        assert len(price.as_of) == 7 and price.as_of[4] == "-", price.item
        assert set(price.usd) >= {"us-east-1", "eu-west-1"}, price.item


def test_plan_json_carries_the_price_table_with_sources(prod: dict[str, Any]) -> None:
    logs = next(p for p in prod["prices"] if p["item"] == "logs-ingestion")
    assert logs == {
        "item": "logs-ingestion",
        "what": "CloudWatch Logs ingestion",
        "kind": "usage",
        "usd": 0.57,
        "per": 1,
        "unit": "GB",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
        "as_of": PRICE_BY_ITEM["logs-ingestion"].as_of,
    }


def test_a_region_without_prices_is_refused_with_where_to_add_them() -> None:
    class Secret:
        type = "aws:secretsmanager/secret:Secret"
        name = "quote-to-order-cred-x"
        inputs: dict[str, Any] = {}

    with pytest.raises(PriceError) as caught:
        integration_cost(_integration("quote-to-order"), [Secret()], "ap-south-2")
    assert str(caught.value) == (
        "no Secrets Manager secret price for region ap-south-2; add it to "
        "provisioner/prices.py from https://aws.amazon.com/secrets-manager/pricing/ "
        "(priced regions: eu-west-1, us-east-1)"
    )


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(1 hour)", 730),
        ("rate(15 minutes)", 2920),
        ("cron(0 2 * * ? *)", 730 / 24),
        ("cron(30 3 * * ? *)", 730 / 24),
        ("cron(0 */6 * * ? *)", 4 * 730 / 24),
        ("cron(0 8 ? * MON-FRI *)", 730 / 24 * 5 / 7),
    ],
)
def test_schedules_run_as_often_as_written(expression: str, runs: float) -> None:
    assert runs_per_month(expression) == pytest.approx(runs)


def test_a_warehouse_pipelines_stage_costs_a_put_per_file_and_a_week_of_storage(
    prod: dict[str, Any],
) -> None:
    """warehouse-export: 150,000 records/day, three objects, one nightly run, pages of 200."""
    doc = next(i for i in prod["integrations"] if i["name"] == "warehouse-export")
    items = {line["item"]: line for line in doc["cost"]["items"]}
    records = 150_000 * 730 / 24
    runs = 730 / 24  # cron(0 2 * * ? *): once a day
    assert items["s3-put-requests"]["quantity"] == pytest.approx(records / 200 + runs * 3, abs=1e-3)
    # Quantities show three decimals.
    assert items["s3-storage"]["quantity"] == pytest.approx(150_000 * 7 * 512 / 1024**3, abs=1e-3)
    assert PRICE_BY_ITEM["s3-storage"].source == "https://aws.amazon.com/s3/pricing/"
    others = [i for i in prod["integrations"] if i["name"] != "warehouse-export"]
    assert not [
        i["name"] for i in others for line in i["cost"]["items"] if line["item"][:3] == "s3-"
    ]
