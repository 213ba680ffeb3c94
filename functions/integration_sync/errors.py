"""Failure classes that decide what happens to a record: retry it or dead-letter it."""

from __future__ import annotations


class SyncError(Exception):
    """Base class: a record could not be synced."""

    #: short machine-readable reason, sent as the ``failure-reason`` DLQ attribute
    reason = "sync_error"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class TransientError(SyncError):
    """Worth retrying later: rate limited (429), server error (5xx), timeout, connection."""

    reason = "transient"


class PermanentError(SyncError):
    """Retrying cannot help: the record must go to the DLQ with its reason."""

    reason = "permanent"


class ValidationFailed(PermanentError):
    """The message is not a well-formed envelope (not JSON, missing ids, wrong types)."""

    reason = "validation"


class SchemaMismatch(PermanentError):
    """The record does not fit the integration's FIELD_MAPPING (unknown object or fields)."""

    reason = "schema_mismatch"


class TargetRejected(PermanentError):
    """The target API refused the record as invalid (HTTP 400/404/409/422)."""

    reason = "target_rejected"


class ConfigurationError(Exception):
    """The function's environment is incomplete; fails the invocation, not a record."""
