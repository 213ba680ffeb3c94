"""Durable batch watermarks in STATE_TABLE, advanced with optimistic locking.

Items share the idempotency table (partition key ``id``): ``id = "watermark#{object}"`` with
``since`` (ISO time) and ``after_id`` (last id written at that time), i.e. a keyset cursor,
plus ``version``. A write only succeeds if ``version`` is still what this run read, so two
overlapping scheduled runs can never move a watermark backwards.

Example::

    store = WatermarkStore(table_name)
    mark = store.load("invoice")
    store.commit("invoice", mark, since="2024-05-02T10:00:00Z", after_id="INV-1")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EPOCH = "1970-01-01T00:00:00Z"


class WatermarkConflict(Exception):
    """Another run advanced the watermark since this run read it."""


class StateTable:
    """The integration's state table (``STATE_TABLE``, partition key ``id``), which the
    watermarks, bulk jobs and record versions share, each under its own id prefix."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.client = client
        self.table_name = table_name

    @staticmethod
    def condition_failed(exc: Exception) -> bool:
        """Whether a conditional write was refused because its condition did not hold."""
        response = getattr(exc, "response", None) or {}
        return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


@dataclass(frozen=True)
class Watermark:
    """The keyset position after the last page that was fully written."""

    since: str = EPOCH
    after_id: str = ""
    version: int = 0


class WatermarkStore(StateTable):
    """Reads and conditionally advances watermarks in the state table."""

    def load(self, obj: str) -> Watermark:
        """The committed watermark for ``obj``, or the epoch when none was committed yet."""
        item = self.client.get_item(
            TableName=self.table_name, Key={"id": {"S": _key(obj)}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return Watermark()
        return Watermark(
            since=item["since"]["S"],
            after_id=item["after_id"]["S"],
            version=int(item["version"]["N"]),
        )

    def commit(self, obj: str, current: Watermark, *, since: str, after_id: str) -> Watermark:
        """Advance from ``current`` to ``(since, after_id)``; raise WatermarkConflict if raced."""
        from botocore.exceptions import ClientError

        new = Watermark(since=since, after_id=after_id, version=current.version + 1)
        condition = "attribute_not_exists(id)" if current.version == 0 else "version = :expected"
        values = {} if current.version == 0 else {":expected": {"N": str(current.version)}}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "id": {"S": _key(obj)},
                    "since": {"S": since},
                    "after_id": {"S": after_id},
                    "version": {"N": str(new.version)},
                    "updated_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if self.condition_failed(exc):
                raise WatermarkConflict(f"watermark for {obj} moved under this run") from exc
            raise
        return new

    def rewind(self, obj: str, since: str) -> Watermark:
        """Move the watermark back to just before ``since`` (never forward): the next run
        re-reads every record changed at or after it. Raises WatermarkConflict if raced.
        Without a committed watermark the next run starts at the beginning anyway."""
        current = self.load(obj)
        if not current.version or (current.since, current.after_id) <= (since, ""):
            return current
        return self.commit(obj, current, since=since, after_id="")


def _key(obj: str) -> str:
    return f"watermark#{obj}"


@dataclass(frozen=True)
class BulkJob:
    """A Bulk API 2.0 query job a batch run is reading: its window and the next page."""

    job_id: str
    since: str
    until: str
    locator: str = ""


class BulkJobs(StateTable):
    """The query job each object's batch run reads (item ``bulkjob#{object}``), so a run that
    dies between pages is resumed by the next one in the same job, at the same page."""

    def load(self, obj: str) -> BulkJob | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"id": {"S": f"bulkjob#{obj}"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return BulkJob(
            item["job_id"]["S"], item["since"]["S"], item["until"]["S"], item["locator"]["S"]
        )

    def save(self, obj: str, job: BulkJob) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "id": {"S": f"bulkjob#{obj}"},
                "job_id": {"S": job.job_id},
                "since": {"S": job.since},
                "until": {"S": job.until},
                "locator": {"S": job.locator},
            },
        )

    def clear(self, obj: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={"id": {"S": f"bulkjob#{obj}"}})
