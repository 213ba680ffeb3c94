"""Xero: Accounting API 2.0 (``/api.xro/2.0``), one tenant per credential.

* every call carries ``Xero-tenant-id`` (the secret's ``tenant_id``) and the OAuth 2.0
  bearer token of the custom connection;
* reads: ``GET /api.xro/2.0/{Endpoint}?page=N&order=UpdatedDateUTC ASC`` with
  ``If-Modified-Since`` set to the watermark; 100 records per page; ``UpdatedDateUTC`` is a
  ``/Date(ms+0000)/`` value;
* writes: ``POST /api.xro/2.0/{Endpoint}?summarizeErrors=false`` creates, or updates the
  records that carry their Xero id; Xero has no upsert by an external field, so the ids of
  existing records are looked up first (``where=Reference=="..."``). Each item of the answer
  has ``StatusAttributeString`` ``OK``/``ERROR`` and its ``ValidationErrors``. An
  ``Idempotency-Key`` (a digest of the request) makes a retried POST a no-op;
* limits per tenant: 60 calls a minute, 5,000 a day, 5 concurrent; a 429 says which in
  ``X-Rate-Limit-Problem`` and when to retry in ``Retry-After`` (a daily limit means hours:
  the record is left to SQS rather than waited for)
  (https://developer.xero.com/documentation/guides/oauth2/limits/);
* deletes: Xero voids accounting documents rather than deleting them; a delete is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, chunks
from integration_sync.connectors.window import in_window, iso, parse_time
from integration_sync.errors import ConfigurationError, PermanentError

PREFIX = "/api.xro/2.0"
PAGE_SIZE = 100
# A where clause of 50 ORed comparisons keeps the URL well under 8 KB.
LOOKUP_CHUNK = 50
_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


class XeroConnector(Connector):
    name = "xero"
    max_batch = 50  # Xero recommends batches of up to 50 elements per POST

    def authenticate(self) -> None:
        self._get("Organisation", {})

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        moment = parse_time(since)
        header = {"If-Modified-Since": format_datetime(moment, usegmt=True)}
        records: list[SourceRecord] = []
        page = 1
        while True:
            items = self._get(obj, {"page": str(page), "order": "UpdatedDateUTC ASC"}, header).get(
                obj, []
            )
            for item in items:
                records.append(
                    SourceRecord(
                        id=str(item.get(_id_field(obj), "")),
                        modified_at=iso(_xero_date(item.get("UpdatedDateUTC", ""))),
                        data=item,
                    )
                )
            if len(items) < PAGE_SIZE:
                break
            page += 1
        return in_window(records, since=since, after_id=after_id, until=until, limit=limit)

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        existing = {
            str(r.get(external_id_field)): r.get(_id_field(obj))
            for r in self.lookup(obj, external_id_field, [e for e, _ in records])
        }
        results: list[WriteResult] = []
        for batch in chunks(records, self.max_batch):
            items = []
            for external_id, body in batch:
                item = {**body, external_id_field: external_id}
                if existing.get(external_id):
                    item[_id_field(obj)] = existing[external_id]
                items.append(item)
            payload = {obj: items}
            key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            answer = self.api.request(
                "POST",
                f"{PREFIX}/{obj}",
                params={"summarizeErrors": "false"},
                json=payload,
                headers={**self._headers(), "Idempotency-Key": key},
                ok=(200,),
            ).json()
            for (external_id, _), item in zip(batch, answer.get(obj, []), strict=True):
                if item.get("StatusAttributeString", "OK") == "OK":
                    results.append(
                        WriteResult(external_id, True, 200 if existing.get(external_id) else 201)
                    )
                else:
                    errors = "; ".join(
                        e.get("Message", "") for e in item.get("ValidationErrors", [])
                    )
                    results.append(WriteResult(external_id, False, 400, errors))
        return results

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        raise PermanentError(
            f"Xero does not delete {obj}; void {external_id_field}={external_id} in Xero",
            reason="unsupported",
        )

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, LOOKUP_CHUNK):
            where = " OR ".join(f'{external_id_field}=="{_escape(i)}"' for i in chunk)
            found += self._get(obj, {"where": where}).get(obj, [])
        return found

    def _get(
        self, obj: str, params: dict[str, str], extra: dict[str, str] | None = None
    ) -> dict[str, Any]:
        headers = {**self._headers(), **(extra or {})}
        response = self.api.request(
            "GET", f"{PREFIX}/{obj}", params=params, headers=headers, ok=(200, 304)
        )
        return {} if response.status_code == 304 else dict(response.json())

    def _headers(self) -> dict[str, str]:
        secret = self.api.auth.secret() if self.api.auth else {}
        tenant = secret.get("tenant_id")
        if not tenant:
            raise ConfigurationError(
                "the Xero credential has no 'tenant_id'; add the organisation's tenant id "
                "(GET https://api.xero.com/connections) to the secret"
            )
        return {"Xero-tenant-id": str(tenant), "Accept": "application/json"}


def _id_field(obj: str) -> str:
    """``Invoices`` -> ``InvoiceID``, ``Contacts`` -> ``ContactID`` (Xero's id fields)."""
    singular = obj[:-1] if obj.endswith("s") else obj
    return f"{singular}ID"


def _xero_date(value: str) -> datetime:
    match = _DATE.fullmatch(value or "")
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    return parse_time(value) if value else datetime.fromtimestamp(0, UTC)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
