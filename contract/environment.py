"""The environment variables the components set on each function and the functions read.

One definition, many readers: `components.integration` and `components.credential` set
them, `integration_sync` reads them (`config.Settings`, the webhook ingress), and the
rehearsal and the tests read them back from deployed functions. What each one means is in
docs/contracts.md ("Sync function environment variables"). No variable carries a secret
value: credentials are read from Secrets Manager at run time.

Usage::

    from contract import environment as var

    {var.INTEGRATION: "quote-to-order", var.STATE_TABLE: table.name}
    os.environ[var.QUEUE_URL]
"""

from __future__ import annotations

__all__ = [
    "API_CALLS_PER_DAY",
    "BATCH_OVERLAP_SECONDS",
    "CONFLICT",
    "DLQ_URL",
    "ENVIRONMENT",
    "FIELD_MAPPING",
    "FIFO",
    "INTEGRATION",
    "MAX_STALENESS_SECONDS",
    "METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "QUEUE_URL",
    "REVIEW_QUEUE_URL",
    "SIGNING_SECRET_ARN",
    "SOURCE_BASE_URL",
    "SOURCE_BULK_QUERY",
    "SOURCE_CONNECTOR",
    "SOURCE_CREDENTIAL_SECRET_ARN",
    "SOURCE_SYSTEM",
    "STAGE_BUCKET",
    "STATE_TABLE",
    "TARGET_BASE_URL",
    "TARGET_CONNECTOR",
    "TARGET_CREDENTIAL_SECRET_ARN",
    "TARGET_SYSTEM",
    "WEBHOOK_OBJECT",
    "WEBHOOK_SCHEME",
]

# Every function: the integration and environment it serves. Powertools names the logs'
# and metrics' `service` after POWERTOOLS_SERVICE_NAME (the integration's name).
INTEGRATION = "INTEGRATION"
ENVIRONMENT = "ENVIRONMENT"
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE = "METRICS_NAMESPACE"

# The sync functions (consumer, batch, reconcile, the reverse consumer): the two sides.
SOURCE_SYSTEM = "SOURCE_SYSTEM"
TARGET_SYSTEM = "TARGET_SYSTEM"
SOURCE_BASE_URL = "SOURCE_BASE_URL"
TARGET_BASE_URL = "TARGET_BASE_URL"
SOURCE_CONNECTOR = "SOURCE_CONNECTOR"
TARGET_CONNECTOR = "TARGET_CONNECTOR"
SOURCE_CREDENTIAL_SECRET_ARN = "SOURCE_CREDENTIAL_SECRET_ARN"
TARGET_CREDENTIAL_SECRET_ARN = "TARGET_CREDENTIAL_SECRET_ARN"

# Where the integration keeps its state and its messages.
STATE_TABLE = "STATE_TABLE"
QUEUE_URL = "QUEUE_URL"
DLQ_URL = "DLQ_URL"
REVIEW_QUEUE_URL = "REVIEW_QUEUE_URL"
STAGE_BUCKET = "STAGE_BUCKET"

# How records are mapped, ordered, budgeted and settled.
FIELD_MAPPING = "FIELD_MAPPING"
FIFO = "FIFO"
API_CALLS_PER_DAY = "API_CALLS_PER_DAY"
MAX_STALENESS_SECONDS = "MAX_STALENESS_SECONDS"
BATCH_OVERLAP_SECONDS = "BATCH_OVERLAP_SECONDS"
SOURCE_BULK_QUERY = "SOURCE_BULK_QUERY"
CONFLICT = "CONFLICT"

# The signed-webhook ingress: the vendor's signature scheme, the object its deliveries
# carry, and the secret that verifies them (only the ingress may read it).
WEBHOOK_SCHEME = "WEBHOOK_SCHEME"
WEBHOOK_OBJECT = "WEBHOOK_OBJECT"
SIGNING_SECRET_ARN = "SIGNING_SECRET_ARN"
