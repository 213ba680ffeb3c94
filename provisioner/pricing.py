"""The fixed monthly cost of what the program provisions, from a price table.

Only resources with a price per month regardless of traffic are counted (KMS keys,
secrets, alarms, dashboards). Usage-priced resources (SQS requests, Lambda invocations,
DynamoDB on-demand requests and storage, log ingestion, SNS deliveries) cost nothing
while idle and are listed at 0 so the table says so explicitly.

Usage::

    monthly_cost(resource.type for resource in run.resources)  # 12.3

Sources (AWS public list prices, us-east-1 and eu-west-1 identical for these items,
as published 2024-2025; re-check when the pages change):
- KMS: https://aws.amazon.com/kms/pricing/ ($1/month per customer-managed key; automatic
  rotation adds $1/month for each of the first two rotated versions, not counted here)
- Secrets Manager: https://aws.amazon.com/secrets-manager/pricing/ ($0.40/secret/month)
- CloudWatch: https://aws.amazon.com/cloudwatch/pricing/ ($0.10 per standard-resolution
  alarm metric/month; $3.00 per dashboard/month beyond the 3 free ones, counted in full)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PRICES_CHECKED", "PRICE_PER_MONTH_USD", "monthly_cost"]

PRICES_CHECKED = "2025-01"

PRICE_PER_MONTH_USD: dict[str, float] = {
    "aws:kms/key:Key": 1.00,
    "aws:secretsmanager/secret:Secret": 0.40,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 0.10,
    "aws:cloudwatch/dashboard:Dashboard": 3.00,
    # Usage-priced: nothing while idle.
    "aws:sqs/queue:Queue": 0.0,
    "aws:lambda/function:Function": 0.0,
    "aws:dynamodb/table:Table": 0.0,
    "aws:cloudwatch/logGroup:LogGroup": 0.0,
    "aws:sns/topic:Topic": 0.0,
    "aws:cloudwatch/eventRule:EventRule": 0.0,  # EventBridge: AWS-service events are free
    "aws:iam/role:Role": 0.0,
    "aws:iam/user:User": 0.0,
    # CloudTrail: the first trail's management events are free, data events are priced
    # per event (https://aws.amazon.com/cloudtrail/pricing/); S3 by storage and request.
    "aws:cloudtrail/trail:Trail": 0.0,
    "aws:s3/bucket:Bucket": 0.0,
}


def monthly_cost(resource_types: Iterable[str]) -> float:
    """Sum of the fixed monthly prices of the given resource types, in USD (cents-rounded)."""
    return round(sum(PRICE_PER_MONTH_USD.get(t, 0.0) for t in resource_types), 2)
