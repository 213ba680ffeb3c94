"""Realistic records and the events their source systems send about them, for the checks.

A record is built from a deployed field mapping (each source field a plausible value by
its name, nested where the field is a path); its event is a Salesforce change event relayed
through EventBridge, or the plain JSON envelope the other sources' relays send. A vendor's
fake issues the credential a function calls it with, as its administrator would.

Usage::

    record = sample(spec, 1)
    body = envelope("salesforce", "Quote", record.fields, record.record_id, marker)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from contract import environment as var

if TYPE_CHECKING:
    from provisioner.rehearsal.runner import Deployment

__all__ = [
    "Sample",
    "Unmapped",
    "deployed_mapping",
    "enrol",
    "envelope",
    "lookup",
    "nest",
    "sample",
    "value",
]


class Sample(NamedTuple):
    """One record of a mapping: its id, source fields, expected target fields, external id."""

    record_id: str
    fields: dict[str, Any]
    expected: dict[str, Any]
    external_id: str


def value(field_name: str, n: int) -> Any:
    """A plausible value for a source field, by its name."""
    lowered = field_name.lower()
    if field_name == "Id" or lowered.endswith("id"):
        return f"0Q0{n:015d}"[:18]
    if "date" in lowered:
        return "2026-11-26"
    if any(word in lowered for word in ("price", "total", "amount", "score")):
        return 1234.5 + n
    if "email" in lowered:
        return f"buyer{n}@example.com"
    return f"rehearsal {field_name} {n}"


def nest(fields: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        fields = fields.setdefault(part, {})
    fields[leaf] = value


def envelope(
    source: str,
    obj: str,
    fields: dict[str, Any],
    record_id: str,
    marker: str,
    *,
    at: float | None = None,
    author: str = "005000000000001AAA",
) -> dict[str, Any]:
    """The event of the system `source` for one record; ``obj`` is its API name from the
    mapping, ``at`` when the change happened, ``author`` who made it (Salesforce)."""
    now = time.time() if at is None else at
    if source == "salesforce":
        # Custom objects' change events are `<Name>__ChangeEvent` (CDC Developer Guide,
        # "Change Event Object Support"); standard ones `<Name>ChangeEvent`.
        # Without an api_name the mapping knows only the slug; Salesforce would still send
        # its CamelCase API name (`hw-order` -> `HwOrder`), which the consumer must match.
        entity = obj if obj[0].isupper() else "".join(p.capitalize() for p in obj.split("-"))
        if entity.endswith("__c"):
            event_name = f"{entity.removesuffix('__c')}__ChangeEvent"
        else:
            event_name = f"{entity}ChangeEvent"
        header = {
            "entityName": entity,
            "recordIds": [record_id],
            "changeType": "CREATE",
            "changeOrigin": "com/salesforce/api/soap/61.0;client=rehearsal",
            "transactionKey": marker,
            "sequenceNumber": 1,
            "commitTimestamp": int(now * 1000),
            "commitNumber": int(now * 1000),
            "commitUser": author,
            "changedFields": [],
        }
        return {
            "version": "0",
            "id": marker,
            "detail-type": event_name,
            "source": "aws.partner/salesforce.com/00D000000000001/0YL000000000001",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "resources": [],
            "detail": {
                "payload": {**fields, "ChangeEventHeader": header},
                "schemaId": "rehearsal-schema",
                "id": marker,
                "replayId": 1,
            },
        }
    return {
        "object": obj,
        "event_id": marker,
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "operation": "upsert",
        "id": record_id,
        "data": fields,
    }


def sample(spec: dict[str, Any], n: int, record_id: str | None = None) -> Sample:
    """Record ``n`` of the mapping ``spec`` (its id ``record_id`` where the source gave one)."""
    record_id = record_id or value("Id", n)
    fields: dict[str, Any] = {}
    for i, source_field in enumerate(spec["fields"]):
        nest(
            fields,
            source_field,
            record_id if source_field == "Id" else value(source_field, n * 100 + i),
        )
    expected = {
        target: lookup(fields, source, record_id)
        for source, target in spec["fields"].items()
        if target != spec["external_id"]
    }
    external_id = next(
        (
            str(lookup(fields, source, record_id))
            for source, target in spec["fields"].items()
            if target == spec["external_id"]
        ),
        record_id,
    )
    return Sample(record_id, fields, expected, external_id)


def lookup(fields: dict[str, Any], path: str, record_id: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return record_id if path == "Id" else value


def enrol(deployment: Deployment, secret_arn: str, fake: Any) -> str:
    """The credential in ``secret_arn`` as the vendor's fake issues it to its administrator,
    put as AWSCURRENT; its kind, or "none" where the function has no such secret. An IAM
    access key needs no issuer: the emulator's IAM made it."""
    if not secret_arn:
        return "none"
    sm = deployment.aws.admin("secretsmanager")
    doc = json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])
    if doc["kind"] != "iam_access_key":
        sm.put_secret_value(
            SecretId=secret_arn,
            SecretString=json.dumps(fake.enrol(doc)),
            VersionStages=["AWSCURRENT"],
        )
    return str(doc["kind"])


class Unmapped(Exception):
    """A deployed function maps no fields: the roadmap's rules forbid it, and every record
    would fail, so the check fails (never a skipped pass)."""


def deployed_mapping(
    function_env: Mapping[str, str], function: str, objects: Iterable[str], consequence: str
) -> dict[str, Any]:
    """The field mapping a deployed function got (``FIELD_MAPPING``); Unmapped when empty."""
    mapping: dict[str, Any] = json.loads(function_env.get(var.FIELD_MAPPING) or "{}")
    if not mapping:
        raise Unmapped(
            f"the deployed {function} maps no fields for {list(objects)}, so it would "
            f"{consequence}; add field_mappings to the roadmap"
        )
    return mapping
