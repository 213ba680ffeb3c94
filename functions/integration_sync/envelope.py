"""Turn an SQS message body into the changes it carries.

Accepted shapes:

* Salesforce Change Data Capture or platform events relayed by Salesforce Event Relay
  through EventBridge to SQS: ``{"detail-type": ..., "source": "aws.partner/salesforce.com/...",
  "detail": {"payload": {...}, "schemaId": ..., "id": ..., "replayId": ...}}``;
* the same Salesforce event without the EventBridge wrapper (``{"payload": ..., "event": ...}``);
* plain JSON from other systems: ``{"object": "invoice", "id": "...", "event_id": "...",
  "occurred_at": "2024-05-02T10:00:00Z", "version": 7, "operation": "upsert", "data":
  {...}}``, bare or as an EventBridge ``detail``; ``version`` (the record's revision) or
  else ``occurred_at`` orders the changes of one record.

Example::

    for change in parse_body(record.body):
        ...  # change.object, change.fields, change.idempotency_key
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integration_sync.errors import PermanentError, ValidationFailed
from integration_sync.versions import source_version

UPSERT = "upsert"
DELETE = "delete"

# Salesforce CDC change types (Change Data Capture Developer Guide, "ChangeEventHeader Fields").
_CDC_UPSERT = frozenset({"CREATE", "UPDATE", "UNDELETE"})
_CDC_DELETE = frozenset({"DELETE"})
# Gap and overflow events carry no field values, only ids: the record must be re-read from
# Salesforce (CDC Developer Guide, "Gap Events" and "Overflow Events"), so they are parked in
# the DLQ with that reason instead of writing empty records.
_CDC_GAP_PREFIX = "GAP_"


@dataclass(frozen=True)
class Change:
    """One record-level change: which object, which fields, and how to recognise a repeat."""

    object: str
    operation: str
    fields: dict[str, Any]
    record_id: str | None
    # The sender's event id, else (record, source version); None when it has neither: such
    # a change is written unconditionally (an upsert by external id), never deduplicated on
    # its body, since two identical bodies may be two real changes (Open, Closed, Open).
    idempotency_key: str | None
    event_time: float | None = None
    origin: str = "json"
    changed_fields: tuple[str, ...] = field(default=())
    # Who made the change in the source (CDC commitUser, a JSON envelope's "author"): how a
    # bidirectional integration recognises its own writes coming back (conflict.py).
    author: str | None = None
    # Sortable source version (``versions.source_version``): the consumer never writes a
    # change whose version is older than the one last applied to the same record.
    source_version: str | None = None


def parse_body(body: str) -> list[Change]:
    """Parse one message body; raise ValidationFailed (or PermanentError) when unusable."""
    try:
        message = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"message body is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ValidationFailed("message body must be a JSON object")

    detail = message.get("detail")
    if isinstance(detail, dict) and "detail-type" in message:
        time = _iso_seconds(message.get("time"))
        if isinstance(detail.get("payload"), dict):
            return _salesforce(detail, detail_type=str(message["detail-type"]), fallback_time=time)
        return [_plain(detail, fallback_id=str(message.get("id", "")), fallback_time=time)]
    if isinstance(message.get("payload"), dict):
        return _salesforce(message, detail_type="", fallback_time=None)
    return [_plain(message, fallback_id="", fallback_time=None)]


def _salesforce(
    detail: dict[str, Any], *, detail_type: str, fallback_time: float | None
) -> list[Change]:
    payload: dict[str, Any] = detail["payload"]
    event = _as_dict(detail.get("event"))
    replay_id = detail.get("replayId") or event.get("replayId")
    header = payload.get("ChangeEventHeader")
    if isinstance(header, dict):
        return _cdc(header, payload, replay_id=replay_id)

    # Platform event: the event's API name is the object (e.g. Order_Booked__e); EventUuid
    # identifies the event across redeliveries (Platform Events Developer Guide, API 52.0+).
    attributes = _as_dict(payload.get("attributes"))
    name = detail_type or str(attributes.get("type", ""))
    if not name:
        raise ValidationFailed("platform event has no event type (EventBridge detail-type)")
    event_key = payload.get("EventUuid") or replay_id or detail.get("id")
    if not event_key:
        raise ValidationFailed(f"platform event {name} has neither EventUuid nor replayId")
    fields = {k: v for k, v in payload.items() if k not in ("EventUuid", "attributes")}
    return [
        Change(
            object=name,
            operation=UPSERT,
            fields=fields,
            record_id=None,
            idempotency_key=f"pe:{name}:{event_key}",
            event_time=_iso_seconds(payload.get("CreatedDate")) or fallback_time,
            origin="salesforce-platform-event",
        )
    ]


def _cdc(header: dict[str, Any], payload: dict[str, Any], *, replay_id: Any) -> list[Change]:
    entity = header.get("entityName")
    record_ids = header.get("recordIds")
    change_type = header.get("changeType")
    if not isinstance(entity, str) or not entity:
        raise ValidationFailed("ChangeEventHeader.entityName is missing")
    if not isinstance(record_ids, list) or not record_ids:
        raise ValidationFailed(f"{entity} change event has no recordIds")
    if not isinstance(change_type, str):
        raise ValidationFailed(f"{entity} change event has no changeType")
    if change_type.startswith(_CDC_GAP_PREFIX):
        raise PermanentError(
            f"{change_type} for {entity} {record_ids[:5]}: re-read these records from Salesforce",
            reason="gap_event",
        )
    if change_type in _CDC_DELETE:
        operation = DELETE
    elif change_type in _CDC_UPSERT:
        operation = UPSERT
    else:
        raise ValidationFailed(f"unknown changeType {change_type!r} for {entity}")

    # transactionKey + sequenceNumber identify one change event (CDC Developer Guide,
    # "ChangeEventHeader Fields"); replayId is the fallback for older relays.
    txn, seq = header.get("transactionKey"), header.get("sequenceNumber")
    event_key = f"{txn}:{seq}" if txn and seq is not None else replay_id
    if not event_key:
        raise ValidationFailed(f"{entity} change event has no transactionKey or replayId")
    commit_ms = header.get("commitTimestamp")
    event_time = commit_ms / 1000.0 if isinstance(commit_ms, int | float) else None
    # commitTimestamp orders transactions, commitNumber (the SCN) breaks ties between
    # transactions of the same millisecond and sequenceNumber orders changes inside one
    # (CDC Developer Guide, "ChangeEventHeader Fields").
    version = (
        source_version(event_time, _int(header.get("commitNumber")), _int(seq))
        if event_time is not None
        else None
    )
    fields = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
    changed = tuple(str(f) for f in header.get("changedFields") or ())
    # One event may list several records that received the same change
    # (CDC Developer Guide, "Change Event Body"): each is upserted on its own.
    return [
        Change(
            object=entity,
            operation=operation,
            fields={**fields, "Id": str(record_id)},
            record_id=str(record_id),
            idempotency_key=f"cdc:{entity}:{event_key}:{record_id}",
            event_time=event_time,
            origin="salesforce-cdc",
            changed_fields=changed,
            author=str(header["commitUser"]) if header.get("commitUser") else None,
            source_version=version,
        )
        for record_id in record_ids
    ]


def _plain(message: dict[str, Any], *, fallback_id: str, fallback_time: float | None) -> Change:
    obj = message.get("object")
    data = message.get("data", message.get("record"))
    if not isinstance(obj, str) or not obj:
        raise ValidationFailed("JSON envelope needs a string 'object'")
    if not isinstance(data, dict):
        raise ValidationFailed(f"JSON envelope for {obj!r} needs an object 'data'")
    operation = str(message.get("operation", UPSERT)).lower()
    if operation not in (UPSERT, DELETE):
        raise ValidationFailed(f"operation must be 'upsert' or 'delete', got {operation!r}")
    record_id = None if message.get("id") is None else str(message["id"])
    event_time = _iso_seconds(message.get("occurred_at")) or fallback_time
    version = _plain_version(message.get("version"), event_time, obj)
    event_id = message.get("event_id") or fallback_id
    if event_id:
        key: str | None = f"json:{obj}:{event_id}"
    elif record_id is not None and version is not None:
        key = f"json:{obj}:{record_id}@{version}"
    else:
        key = None
    return Change(
        object=obj,
        operation=operation,
        fields=data,
        record_id=record_id,
        idempotency_key=key,
        event_time=event_time,
        origin="json",
        author=str(message["author"]) if message.get("author") else None,
        source_version=version,
    )


def _plain_version(value: Any, event_time: float | None, obj: str) -> str | None:
    """The sender's ``version`` (a record revision number), else its ``occurred_at``."""
    if value is None:
        return None if event_time is None else source_version(event_time)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(
            f"JSON envelope for {obj!r}: 'version' must be a whole number >= 0, got {value!r}"
        )
    return source_version(number=value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iso_seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
