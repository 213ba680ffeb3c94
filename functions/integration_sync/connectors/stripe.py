"""Stripe: API version 2025-06-30.basil (``/v1`` endpoints, form-encoded bodies).

* authentication: a restricted secret key as ``Bearer``; ``Stripe-Version`` pins the version;
* reads: ``GET /v1/events?types[]={object}.created&types[]={object}.updated&created[gte]=``,
  newest first, ``limit`` 100, ``starting_after`` while ``has_more``; each record is the
  object as the latest event shows it; events are kept 30 days
  (https://docs.stripe.com/api/events/list);
* writes: Stripe has no upsert by an external key, so the record is found by
  ``GET /v1/{objects}/search?query=metadata['{field}']:'{value}'`` and updated
  (``POST /v1/{objects}/{id}``) or created with the key in ``metadata``; every POST carries
  an ``Idempotency-Key`` (a digest of the write), so a retried create never makes a second
  object (Stripe keeps keys 24 hours); search results lag writes by up to a minute, which the
  key covers for a repeated create;
* deletes: ``DELETE /v1/{objects}/{id}`` after such a search;
* errors: ``{"error": {"type", "code", "message", "param"}}``; 429 ``rate_limit``; 401.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from integration_sync.connectors.base import (
    Connector,
    SourceRecord,
    WriteResult,
    chunks,
    one_by_one,
)
from integration_sync.connectors.window import in_window, iso, parse_time

VERSION = "2025-06-30.basil"
PAGE = 100
# Search queries combine at most 10 clauses.
SEARCH_CLAUSES = 10
MAX_EVENT_PAGES = 20


class StripeConnector(Connector):
    name = "stripe"

    def authenticate(self) -> None:
        self._get("/v1/events", {"limit": "1"})

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        params = {
            "types[]": [f"{obj}.created", f"{obj}.updated"],
            "created[gte]": str(int(parse_time(since).timestamp())),
            "limit": str(PAGE),
        }
        latest: dict[str, SourceRecord] = {}
        for _ in range(MAX_EVENT_PAGES):
            answer = self._get("/v1/events", params)
            for event in answer.get("data", []):
                item = event["data"]["object"]
                record = SourceRecord(str(item["id"]), iso(parse_time(event["created"])), item)
                if record.id not in latest or latest[record.id].modified_at < record.modified_at:
                    latest[record.id] = record
            if not answer.get("has_more") or not answer.get("data"):
                break
            params["starting_after"] = answer["data"][-1]["id"]
        return in_window(latest.values(), since=since, after_id=after_id, until=until, limit=limit)

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        plural = f"/v1/{obj}s"

        def write(external_id: str, body: dict[str, Any]) -> int:
            found = self._search(plural, external_id_field, [external_id])
            form = {**_form(body), f"metadata[{external_id_field}]": external_id}
            key = hashlib.sha256(
                json.dumps([obj, external_id_field, external_id, body], sort_keys=True).encode()
            ).hexdigest()
            path = f"{plural}/{found[0]['id']}" if found else plural
            return self.api.request(
                "POST", path, data=form, headers=self._headers(key), ok=(200,)
            ).status_code

        return one_by_one(records, write)

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        return [
            {external_id_field: (item.get("metadata") or {}).get(external_id_field), **item}
            for item in self._search(f"/v1/{obj}s", external_id_field, ids)
        ]

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        status = 404
        for item in self._search(f"/v1/{obj}s", external_id_field, [external_id]):
            path = f"/v1/{obj}s/{item['id']}"
            status = self.api.request(
                "DELETE", path, headers=self._headers(), ok=(200, 404)
            ).status_code
        return status

    def _search(self, plural: str, field: str, values: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(values, SEARCH_CLAUSES):
            query = " OR ".join(f"metadata['{field}']:'{_escape(v)}'" for v in chunk)
            found += self._get(f"{plural}/search", {"query": query, "limit": str(PAGE)}).get(
                "data", []
            )
        return found

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self.api.request("GET", path, params=params, headers=self._headers(), ok=(200,)).json()
        )

    @staticmethod
    def _headers(idempotency_key: str = "") -> dict[str, str]:
        headers = {"Stripe-Version": VERSION}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers


def _form(body: dict[str, Any]) -> dict[str, str]:
    """Stripe's form encoding of scalar fields (booleans as true/false, None as empty)."""
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else ("" if v is None else str(v))
        for k, v in body.items()
    }


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
