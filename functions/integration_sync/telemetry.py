"""The per-invocation EMF metrics object, API call counting and the time left.

The metric names and the namespace are `contract.metrics`, which the alarms read too.

Example::

    metrics = new_metrics(settings)
    metrics.add_metric(name=RECORDS_SYNCED, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from integration_sync.config import Settings


def new_metrics(settings: Settings) -> Metrics:
    """Metrics in the integration's namespace with the one dimension ``service``."""
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=settings.metrics_namespace, service=settings.integration)


class CallCounter:
    """Counts HTTP requests sent (each retry is a call against the API budget)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def remaining_seconds_of(context: object) -> float:
    """Seconds left in the invocation; effectively unlimited outside Lambda (tests, scripts)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return getter() / 1000.0 if callable(getter) else 3600.0
