"""AWS list prices: one dated table, each price with its pricing page and the month it showed.

Read by the cost model (`provisioner/pricing.py`), `plan --json` and the report. A region
without prices here is refused (`PriceError`) rather than guessed.

Usage::

    PRICE_BY_ITEM["kms-key"].rate("eu-west-1")  # 1.0 USD a key-month
    price_table_json("eu-west-1")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DAYS_PER_MONTH",
    "HOURS_PER_MONTH",
    "PRICES",
    "PRICE_BY_ITEM",
    "SECONDS_PER_MONTH",
    "Price",
    "PriceError",
    "price_table_json",
]


class PriceError(Exception):
    """The table has no price for what is asked (a region not listed)."""


@dataclass(frozen=True)
class Price:
    """One AWS list price: USD per `per` units, by region, with its page and date."""

    item: str
    what: str
    unit: str
    usd: Mapping[str, float]
    source: str
    as_of: str  # the month its page showed this price; re-check there when it is a year old
    per: int = 1
    kind: Literal["fixed", "usage"] = "usage"

    def rate(self, region: str) -> float:
        if region not in self.usd:
            raise PriceError(
                f"no {self.what} price for region {region}; add it to provisioner/prices.py "
                f"from {self.source} (priced regions: {', '.join(sorted(self.usd))})"
            )
        return self.usd[region] / self.per


def _both(price: float) -> dict[str, float]:
    """Same list price in the two regions the stacks use."""
    return {"us-east-1": price, "eu-west-1": price}


KMS_PAGE = "https://aws.amazon.com/kms/pricing/"
SECRETS_PAGE = "https://aws.amazon.com/secrets-manager/pricing/"
CLOUDWATCH_PAGE = "https://aws.amazon.com/cloudwatch/pricing/"
LAMBDA_PAGE = "https://aws.amazon.com/lambda/pricing/"
SQS_PAGE = "https://aws.amazon.com/sqs/pricing/"
DYNAMODB_PAGE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
S3_PAGE = "https://aws.amazon.com/s3/pricing/"

PRICES: tuple[Price, ...] = (
    Price("kms-key", "KMS customer-managed key", "key-month", _both(1.00), KMS_PAGE,
          "2025-06", kind="fixed"),
    # Each of a key's first two rotations adds $1/month, later ones are free: a key with
    # rotation on costs $3/month from its second rotation on (priced at that steady state).
    Price("kms-rotated-key-material", "KMS rotated key material", "rotation-month",
          _both(1.00), KMS_PAGE, "2025-06", kind="fixed"),
    Price("kms-requests", "KMS requests", "request", _both(0.03), KMS_PAGE, "2025-06",
          per=10_000),
    Price("secret", "Secrets Manager secret", "secret-month", _both(0.40), SECRETS_PAGE,
          "2025-06", kind="fixed"),
    Price("secrets-api-calls", "Secrets Manager API calls", "call", _both(0.05),
          SECRETS_PAGE, "2025-06", per=10_000),
    Price("alarm", "CloudWatch standard-resolution alarm", "alarm-month", _both(0.10),
          CLOUDWATCH_PAGE, "2025-06", kind="fixed"),
    # The first three dashboards of an account are free; counted in full here.
    Price("dashboard", "CloudWatch dashboard", "dashboard-month", _both(3.00),
          CLOUDWATCH_PAGE, "2025-06", kind="fixed"),
    Price("custom-metric", "CloudWatch custom metric", "metric-month", _both(0.30),
          CLOUDWATCH_PAGE, "2025-06", kind="fixed"),
    Price("logs-ingestion", "CloudWatch Logs ingestion", "GB",
          {"us-east-1": 0.50, "eu-west-1": 0.57}, CLOUDWATCH_PAGE, "2025-06"),
    Price("lambda-requests", "Lambda requests", "request", _both(0.20), LAMBDA_PAGE,
          "2025-06", per=1_000_000),
    # The functions run on arm64 (contract/runtime.py): Arm's rate for the first 7.5 billion
    # GB-seconds of a month.
    Price("lambda-compute", "Lambda compute (arm64)", "GB-second", _both(0.0000133334),
          LAMBDA_PAGE, "2025-06"),
    Price("sqs-requests", "SQS standard queue requests", "request", _both(0.40), SQS_PAGE,
          "2025-06", per=1_000_000),
    Price("sqs-fifo-requests", "SQS FIFO queue requests", "request", _both(0.50), SQS_PAGE,
          "2025-06", per=1_000_000),
    Price("dynamodb-writes", "DynamoDB on-demand write request units", "write request unit",
          {"us-east-1": 0.625, "eu-west-1": 0.7068}, DYNAMODB_PAGE, "2025-06",
          per=1_000_000),
    # S3 Standard, the first 50 TB of a month; PUT, COPY, POST and LIST requests.
    Price("s3-storage", "S3 Standard storage", "GB-month", _both(0.023), S3_PAGE, "2025-06"),
    Price("s3-put-requests", "S3 Standard PUT requests", "request", _both(0.005), S3_PAGE,
          "2025-06", per=1_000),
)  # fmt: skip
PRICE_BY_ITEM: dict[str, Price] = {p.item: p for p in PRICES}

# AWS's pricing pages and calculator count a month as 730 hours.
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


def price_table_json(region: str) -> list[dict[str, Any]]:
    """The price table as `plan --json` and the report show it, for one region."""
    return [
        {
            "item": p.item,
            "what": p.what,
            "kind": p.kind,
            "usd": p.usd.get(region),
            "per": p.per,
            "unit": p.unit,
            "source": p.source,
            "as_of": p.as_of,
        }
        for p in PRICES
    ]
