"""The integration's CloudWatch dashboard (phase >= 4): what its alarms watch, on one page.

Records synced, failed and skipped; lag, reconciliation gaps and API calls (contracts.md,
Metrics); the queues' depth and age; the functions' invocations, errors, throttles and
duration. `components.alarms.IntegrationAlarms` creates the dashboard from this body.

Usage::

    dashboard_body("eu-west-1", "quote-to-order", "prod-quote-to-order-consumer",
                   "prod-quote-to-order-dlq", "prod-quote-to-order-queue", None)
"""

from __future__ import annotations

import json
from typing import Any

from contract.metrics import (
    API_CALLS_USED,
    DUPLICATES_SKIPPED,
    FUNCTION_NAME_DIMENSION,
    LAMBDA_DURATION,
    LAMBDA_ERRORS,
    LAMBDA_INVOCATIONS,
    LAMBDA_NAMESPACE,
    LAMBDA_THROTTLES,
    QUEUE_NAME_DIMENSION,
    QUEUE_OLDEST_MESSAGE_AGE,
    QUEUE_VISIBLE_MESSAGES,
    RECONCILIATION_GAP,
    RECORDS_FAILED,
    RECORDS_SYNCED,
    SERVICE_DIMENSION,
    SQS_NAMESPACE,
    SYNC_LAG_SECONDS,
    namespace,
)

__all__ = ["dashboard_body"]


def dashboard_body(
    region: str, integration: str, function: str, dlq: str, queue: str | None, reconcile: str | None
) -> str:
    """The dashboard's widgets: records, lag and API use, the queues, the functions."""
    ns = namespace(integration)

    def widget(title: str, metrics: list[list[Any]]) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "metrics": metrics},
        }

    svc = [SERVICE_DIMENSION, integration]
    queues = [[SQS_NAMESPACE, QUEUE_VISIBLE_MESSAGES, QUEUE_NAME_DIMENSION, dlq]]
    if queue:
        queues.append([SQS_NAMESPACE, QUEUE_OLDEST_MESSAGE_AGE, QUEUE_NAME_DIMENSION, queue])
    lambdas = [
        [LAMBDA_NAMESPACE, m, FUNCTION_NAME_DIMENSION, function]
        for m in (LAMBDA_INVOCATIONS, LAMBDA_ERRORS, LAMBDA_THROTTLES, LAMBDA_DURATION)
    ]
    if reconcile:
        lambdas.append([LAMBDA_NAMESPACE, LAMBDA_ERRORS, FUNCTION_NAME_DIMENSION, reconcile])
    return json.dumps(
        {
            "widgets": [
                widget(
                    "Records",
                    [[ns, m, *svc] for m in (RECORDS_SYNCED, RECORDS_FAILED, DUPLICATES_SKIPPED)],
                ),
                widget(
                    "Lag, gaps and API use",
                    [[ns, m, *svc] for m in (SYNC_LAG_SECONDS, RECONCILIATION_GAP, API_CALLS_USED)],
                ),
                widget("Queues", queues),
                widget("Functions", lambdas),
            ]
        },
        sort_keys=True,
    )
