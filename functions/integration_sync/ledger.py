"""Powertools idempotency records for writes the consumer makes in collections.

``idempotent_function`` wraps one call that does its own write; a collection write settles
many records in one vendor call, so the consumer drives the same persistence layer in the
same three steps the decorator takes (``IdempotencyHandler._process_idempotency``, checked
against aws-lambda-powertools 3.37.0): claim an in-progress record before the write, save
the response after it succeeded, delete the record when it failed so a retry writes again.
The records are the decorator's own (same table, key attribute, TTL, and the function name
the decorator hashed into each key), so a duplicate of a change written before collections
is still recognised.

Usage::

    ledger = WriteLedger("dev-quote-to-order-state", config)
    stored = ledger.claim(unit, remaining_ms)   # the stored response of a duplicate, or None
    ... write ...
    ledger.done(unit, {"status": 200})          # or ledger.release(unit, error)
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS

__all__ = ["LEGACY_FUNCTION_NAME", "WriteLedger"]

# What ``idempotent_function`` hashed into every key while the consumer wrote one record per
# call (``f"{module}.{qualname}"`` of the decorated method): kept so records written then
# (kept 14 days) still deduplicate.
LEGACY_FUNCTION_NAME = "integration_sync.consumer._Consumer._write"


class WriteLedger:
    """Claim, complete or release one write's idempotency record."""

    def __init__(self, table_name: str, config: IdempotencyConfig) -> None:
        # A default-session client: a session of the layer's own would read botocore's
        # endpoint data and models again (``integration_sync.aws``).
        self.store = DynamoDBPersistenceLayer(
            table_name=table_name, key_attr="id", boto3_client=boto3.client("dynamodb")
        )
        self.store.configure(config, LEGACY_FUNCTION_NAME)

    def claim(self, unit: dict[str, Any], remaining_ms: int | None) -> dict[str, Any] | None:
        """Mark ``unit`` in progress; return the stored response when it was already done.

        Raises ``IdempotencyAlreadyInProgressError`` when another invocation is writing it
        now (the record is retried later, as the decorator would have it).
        """
        try:
            self.store.save_inprogress(data=unit, remaining_time_in_millis=remaining_ms)
        except IdempotencyItemAlreadyExistsError as exc:
            record = exc.old_data_record
            if record is None:
                try:
                    record = self.store.get_record(data=unit)
                except IdempotencyItemNotFoundError:
                    record = None
            if record is None or record.status == STATUS_CONSTANTS["EXPIRED"]:
                raise IdempotencyAlreadyInProgressError(
                    "idempotency record changed while claiming it"
                ) from exc
            if record.status == STATUS_CONSTANTS["INPROGRESS"]:
                raise IdempotencyAlreadyInProgressError(
                    f"a write with idempotency key {unit.get('key')} is in progress elsewhere"
                ) from exc
            return record.response_json_as_dict() or {"status": "duplicate"}
        return None

    def done(self, unit: dict[str, Any], result: dict[str, Any]) -> None:
        self.store.save_success(data=unit, result=result)

    def release(self, unit: dict[str, Any], error: Exception) -> None:
        self.store.delete_record(data=unit, exception=error)
