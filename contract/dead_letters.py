"""The message attributes a sync function adds when it parks a record in a DLQ or for review.

One definition, many readers: the sync functions set them (`integration_sync.dead_letter`),
`provisioner replay` drops them on the way back so a new failure records a fresh diagnosis,
and the rehearsal reads the reason back.

Usage::

    message["MessageAttributes"][FAILURE_REASON]["StringValue"]  # 'target_rejected'
"""

from __future__ import annotations

__all__ = [
    "DIAGNOSIS_ATTRIBUTES",
    "FAILED_AT",
    "FAILURE_DETAIL",
    "FAILURE_REASON",
    "MAX_DETAIL_CHARS",
    "SOURCE_MESSAGE_ID",
]

# Why the record failed: a short machine-readable reason (`integration_sync.errors`), e.g.
# `target_rejected`, `schema_mismatch`, `conflict_review`; and the vendor's words for it.
FAILURE_REASON = "failure-reason"
FAILURE_DETAIL = "failure-detail"
# When the attempt failed (ISO 8601, seconds) and the id of the message that carried it.
FAILED_AT = "failed-at"
SOURCE_MESSAGE_ID = "source-message-id"

# A diagnosis of one attempt: replaced by the next failure, dropped when replayed.
DIAGNOSIS_ATTRIBUTES = (FAILURE_REASON, FAILURE_DETAIL, FAILED_AT, SOURCE_MESSAGE_ID)

# Message attribute values count against the 256 KiB message size (SQS developer guide,
# "Amazon SQS message attributes"); details are cut to this many characters.
MAX_DETAIL_CHARS = 1000
