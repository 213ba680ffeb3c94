"""Park a message in a queue with why it failed: the DLQ, or the review queue.

Every parking sends the body with string message attributes (``contract.dead_letters``);
into a FIFO queue it also names the message group and a deduplication id, so a repeated send
(if acknowledging fails and SQS redelivers) is a no-op for 5 minutes (SQS developer guide,
"Exactly-once processing").

Example::

    park(sqs, settings.dlq_url, record.body, diagnosis("target_rejected", "HTTP 400"),
         fifo=("Order:Q-1", record.message_id) if settings.fifo else None)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from contract.dead_letters import (
    DIAGNOSIS_ATTRIBUTES,
    FAILED_AT,
    FAILURE_DETAIL,
    FAILURE_REASON,
    MAX_DETAIL_CHARS,
    SOURCE_MESSAGE_ID,
)

__all__ = ["diagnosis", "kept_attributes", "park"]

# SQS allows 10 message attributes per message (SQS developer guide, "Amazon SQS message
# attributes"); a dead-lettered copy keeps the original ones and adds the diagnosis.
MAX_MESSAGE_ATTRIBUTES = 10


def diagnosis(reason: str, detail: str, *, message_id: str = "") -> dict[str, str]:
    """The attributes saying why a record failed (and, for a queue message, which one)."""
    attributes = {FAILURE_REASON: reason, FAILURE_DETAIL: detail[:MAX_DETAIL_CHARS] or reason}
    if message_id:
        attributes[FAILED_AT] = datetime.now(UTC).isoformat(timespec="seconds")
        attributes[SOURCE_MESSAGE_ID] = message_id
    return attributes


def kept_attributes(raw_event: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Lambda's camelCase message attributes in SendMessage's shape, minus an earlier
    diagnosis, as many as leave room for a new one."""
    limit = MAX_MESSAGE_ATTRIBUTES - len(DIAGNOSIS_ATTRIBUTES)
    converted: dict[str, dict[str, Any]] = {}
    for name, attr in (raw_event.get("messageAttributes") or {}).items():
        if name in DIAGNOSIS_ATTRIBUTES or len(converted) >= limit:
            continue
        value: dict[str, Any] = {"DataType": attr.get("dataType", "String")}
        if attr.get("stringValue") is not None:
            value["StringValue"] = attr["stringValue"]
        elif attr.get("binaryValue") is not None:
            value["BinaryValue"] = attr["binaryValue"]
        else:
            continue
        converted[name] = value
    return converted


def park(
    sqs: Any,
    queue_url: str,
    body: str,
    attributes: Mapping[str, str],
    *,
    fifo: tuple[str, str] | None = None,
    kept: Mapping[str, dict[str, Any]] | None = None,
) -> None:
    """Send ``body`` to ``queue_url`` with ``attributes`` (after the ``kept`` ones); ``fifo``
    is the (message group id, deduplication id) a FIFO queue needs, each cut to SQS's 128."""
    params: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MessageBody": body,
        "MessageAttributes": {
            **(kept or {}),
            **{
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        },
    }
    if fifo is not None:
        params["MessageGroupId"], params["MessageDeduplicationId"] = (i[:128] for i in fifo)
    sqs.send_message(**params)
