"""The last applied source version per record: never write an older version over a newer one.

Queues redeliver, replays bring back week-old messages and batch jobs re-read an overlap
window, so a change can reach the target after a newer change of the same record. Each
write therefore claims its record's version in ``STATE_TABLE`` first (item
``id = "version#{object}#{record}"``, conditional update) and marks it applied after the
target accepted it:

* no version stored, or an older one: claimed, write it (``APPLY``);
* the same version, claimed but never marked applied (the write failed or the function
  died): claimed again, write it (``APPLY``); the write is an upsert by external id;
* the same version, already applied: ``DUPLICATE``, skip (dedupe on record + version);
* a newer version: ``STALE``, skip.

Versions are strings that sort like the source's order (``source_version``). One record's
versions come from one source, so they are all of one kind. Items carry no TTL: the
version must outlive every message about the record, and a replayed message may be
re-parked and replayed again for longer than any TTL one could pick.

Usage (the consumer, the batch job and conflict resolution all call it the same way)::

    versions = RecordVersions(table_name)
    version = source_version("2024-05-02T10:00:00Z")
    if versions.claim("order", "8015e000001", version) is APPLY:
        target.upsert(...)
        versions.applied("order", "8015e000001", version)
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from integration_sync.state import StateTable

__all__ = ["APPLY", "DUPLICATE", "STALE", "Claim", "RecordVersions", "source_version"]


class Claim(Enum):
    """What to do with a change after its version was compared with the applied one."""

    APPLY = "apply"
    DUPLICATE = "duplicate"
    STALE = "stale"


APPLY, DUPLICATE, STALE = Claim.APPLY, Claim.DUPLICATE, Claim.STALE


def source_version(
    moment: float | str | None = None, *tiebreak: int, number: int | None = None
) -> str:
    """A sortable version: a source revision ``number``, else a time with tie-breakers.

    ``moment`` is epoch seconds or ISO 8601; ``tiebreak`` orders changes committed in the
    same microsecond (Salesforce CDC: commitNumber, then sequenceNumber). Fixed-width
    digits make string order equal numeric order, which is what DynamoDB compares.
    """
    if number is not None:
        if number < 0:
            raise ValueError(f"a source version number is >= 0, got {number}")
        return f"n{number:020d}"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
    if moment is None:
        raise ValueError("a source version needs a time or a number")
    parts = [f"t{round(moment * 1_000_000):020d}", *(f"{max(t, 0):020d}" for t in tiebreak)]
    return ".".join(parts)


class RecordVersions(StateTable):
    """Claims and records source versions per record in the state table."""

    def claim(self, obj: str, record: str, version: str) -> Claim:
        """Claim ``version`` for the record unless it is stale or already applied."""
        if self._update(
            obj,
            record,
            version,
            "SET #v = :v, #a = :false",
            "attribute_not_exists(#v) OR #v < :v OR (#v = :v AND #a = :false)",
            applied=False,
        ):
            return APPLY
        return DUPLICATE if self.applied_version(obj, record) == version else STALE

    def applied(self, obj: str, record: str, version: str) -> None:
        """Mark ``version`` applied; a no-op when a newer version was claimed meanwhile."""
        self._update(obj, record, version, "SET #a = :true", "#v = :v", applied=True)

    def applied_version(self, obj: str, record: str) -> str | None:
        """The version last claimed for the record (None when it never was)."""
        item = self.client.get_item(
            TableName=self.table_name, Key={"id": {"S": _key(obj, record)}}, ConsistentRead=True
        ).get("Item")
        return item["version"]["S"] if item else None

    def _update(
        self, obj: str, record: str, version: str, update: str, condition: str, *, applied: bool
    ) -> bool:
        """Update the record's item if ``condition`` holds (``:v`` is ``version``, ``:true``
        or ``:false`` the applied flag); False when the condition refused it."""
        from botocore.exceptions import ClientError

        flag = ":true" if applied else ":false"  # DynamoDB refuses unused values

        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": _key(obj, record)}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#v": "version", "#a": "applied"},
                ExpressionAttributeValues={":v": {"S": version}, flag: {"BOOL": applied}},
            )
        except ClientError as exc:
            if not self.condition_failed(exc):
                raise
            return False
        return True


def _key(obj: str, record: str) -> str:
    return f"version#{obj}#{record}"
