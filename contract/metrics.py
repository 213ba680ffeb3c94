"""The CloudWatch metrics the parts share: what the functions emit and the alarms watch.

One definition, many readers: the sync functions publish these names (aws-lambda-powertools
EMF), the components alarm on them and draw them on the dashboard, the policy pack fences
`cloudwatch:PutMetricData` to the namespace, the rehearsal reads each alarm's metric back
and the cost estimate counts them. The AWS metrics the alarms watch (SQS, Lambda) are here
too, so an alarm and the check of it cannot name different ones.

Usage::

    namespace("quote-to-order")  # 'Integrations/quote-to-order'
    {"namespace": namespace(name), "metric_name": SYNC_LAG_SECONDS,
     "dimensions": {SERVICE_DIMENSION: name}}
"""

from __future__ import annotations

__all__ = [
    "API_CALLS_USED",
    "CONFLICTS_PARKED",
    "CONFLICTS_RESOLVED",
    "CREDENTIAL_AGE_DAYS",
    "CUSTOM_METRICS",
    "DUPLICATES_SKIPPED",
    "ECHOES_SUPPRESSED",
    "FUNCTION_NAME_DIMENSION",
    "LAMBDA_DURATION",
    "LAMBDA_ERRORS",
    "LAMBDA_INVOCATIONS",
    "LAMBDA_NAMESPACE",
    "LAMBDA_THROTTLES",
    "NAMESPACE_PREFIX",
    "QUEUE_NAME_DIMENSION",
    "QUEUE_OLDEST_MESSAGE_AGE",
    "QUEUE_VISIBLE_MESSAGES",
    "RECONCILIATION_GAP",
    "RECORDS_FAILED",
    "RECORDS_SYNCED",
    "SCHEMA_MISMATCHES",
    "SECRET_DIMENSION",
    "SERVICE_DIMENSION",
    "SQS_NAMESPACE",
    "STALE_WRITES_SKIPPED",
    "SYNC_LAG_SECONDS",
    "namespace",
]

# Each integration publishes into its own namespace, the one its role may write to.
NAMESPACE_PREFIX = "Integrations/"
# Every custom metric has the one dimension `service` = the integration's name
# (powertools `Metrics(service=...)`); `CREDENTIAL_AGE_DAYS` adds `secret` (its name).
SERVICE_DIMENSION = "service"
SECRET_DIMENSION = "secret"

RECORDS_SYNCED = "RecordsSynced"
RECORDS_FAILED = "RecordsFailed"
DUPLICATES_SKIPPED = "DuplicatesSkipped"
STALE_WRITES_SKIPPED = "StaleWritesSkipped"
SCHEMA_MISMATCHES = "SchemaMismatches"
SYNC_LAG_SECONDS = "SyncLagSeconds"
API_CALLS_USED = "ApiCallsUsed"
RECONCILIATION_GAP = "ReconciliationGap"
# Bidirectional integrations (integration_sync.conflict): changes not sent back, contested
# fields not written because the other side won, and changes parked for review.
ECHOES_SUPPRESSED = "EchoesSuppressed"
CONFLICTS_RESOLVED = "ConflictsResolved"
CONFLICTS_PARKED = "ConflictsParked"
# Days since a held credential's current version was stored (integration_sync.secret_age),
# per secret; a credential rotated by hand pages on it (contract.phases SECRET_AGE_ALARM).
CREDENTIAL_AGE_DAYS = "CredentialAgeDays"

# Every custom metric the sync functions may publish, for whoever counts them.
CUSTOM_METRICS: tuple[str, ...] = (
    RECORDS_SYNCED,
    RECORDS_FAILED,
    DUPLICATES_SKIPPED,
    STALE_WRITES_SKIPPED,
    SCHEMA_MISMATCHES,
    SYNC_LAG_SECONDS,
    API_CALLS_USED,
    RECONCILIATION_GAP,
    ECHOES_SUPPRESSED,
    CONFLICTS_RESOLVED,
    CONFLICTS_PARKED,
    CREDENTIAL_AGE_DAYS,
)

# AWS's own metrics the alarms watch (CloudWatch user guide, "AWS services that publish
# CloudWatch metrics": SQS and Lambda).
SQS_NAMESPACE = "AWS/SQS"
QUEUE_NAME_DIMENSION = "QueueName"
QUEUE_VISIBLE_MESSAGES = "ApproximateNumberOfMessagesVisible"
QUEUE_OLDEST_MESSAGE_AGE = "ApproximateAgeOfOldestMessage"
LAMBDA_NAMESPACE = "AWS/Lambda"
FUNCTION_NAME_DIMENSION = "FunctionName"
LAMBDA_INVOCATIONS = "Invocations"
LAMBDA_ERRORS = "Errors"
LAMBDA_THROTTLES = "Throttles"
LAMBDA_DURATION = "Duration"


def namespace(integration: str) -> str:
    """The CloudWatch namespace an integration's functions publish into."""
    return f"{NAMESPACE_PREFIX}{integration}"
