"""Metric names and the per-invocation EMF metrics object (names fixed by docs/contracts.md).

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

RECORDS_SYNCED = "RecordsSynced"
RECORDS_FAILED = "RecordsFailed"
DUPLICATES_SKIPPED = "DuplicatesSkipped"
STALE_WRITES_SKIPPED = "StaleWritesSkipped"
SCHEMA_MISMATCHES = "SchemaMismatches"
SYNC_LAG_SECONDS = "SyncLagSeconds"
API_CALLS_USED = "ApiCallsUsed"
RECONCILIATION_GAP = "ReconciliationGap"
# Bidirectional integrations (conflict.py): changes not sent back, contested fields not
# written because the other side won, and changes parked for review.
ECHOES_SUPPRESSED = "EchoesSuppressed"
CONFLICTS_RESOLVED = "ConflictsResolved"
CONFLICTS_PARKED = "ConflictsParked"
# Days since a held credential's current version was stored (secret_age.py), per secret.
CREDENTIAL_AGE_DAYS = "CredentialAgeDays"


def new_metrics(settings: Settings) -> Metrics:
    """Metrics in namespace ``Integrations/{integration}`` with the one dimension ``service``."""
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
