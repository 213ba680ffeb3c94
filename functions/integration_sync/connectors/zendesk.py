"""Zendesk: Support API v2 (incremental exports, create_or_update, show_many).

* authentication: an API token as HTTP Basic ``{email}/token:{api_token}``, or an OAuth
  access token as ``Bearer``;
* reads: incremental exports
  (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/):
  cursor-based for ``tickets`` and ``users`` (``GET /api/v2/incremental/{obj}/cursor.json?
  start_time=`` then ``?cursor={after_cursor}`` until ``end_of_stream``), time-based for the
  others (``GET /api/v2/incremental/{obj}.json?start_time=``, next ``start_time`` is the
  answer's ``end_time``); items changed in the last minute are held back by Zendesk; 10
  requests a minute to these endpoints;
* writes: ``POST /api/v2/{obj}/create_or_update.json`` with ``{"<singular>": {"external_id",
  ...}}``: 201 created, 200 updated, 422 ``RecordInvalid`` with ``details``;
* lookups: ``GET /api/v2/{obj}/show_many.json?external_ids=a,b`` (100 per call); deletes
  find the record's id that way, then ``DELETE /api/v2/{obj}/{id}.json``;
* 429 with ``Retry-After`` when throttled.
"""

from __future__ import annotations

import base64
from typing import Any

from integration_sync.connectors.base import (
    Connector,
    HeaderAuth,
    SourceRecord,
    WriteResult,
    chunks,
    one_by_one,
)
from integration_sync.connectors.window import gather, iso, parse_time
from integration_sync.credentials import SecretAuth

API = "/api/v2"
CURSOR_EXPORTS = frozenset({"tickets", "users"})
LOOKUP_CHUNK = 100
# Incremental exports allow 10 requests a minute: stop a read after this many pages.
MAX_PAGES = 8


class ZendeskConnector(Connector):
    name = "zendesk"

    def vendor_auth(self, auth: SecretAuth) -> SecretAuth:
        return HeaderAuth(auth, _token_header)

    def authenticate(self) -> None:
        self.api.request("GET", f"{API}/users/me.json", ok=(200,))

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        return gather(
            self._pages(obj, int(parse_time(since).timestamp())),
            since=since,
            after_id=after_id,
            until=until,
            limit=limit,
        )

    def _pages(self, obj: str, start: int) -> Any:
        cursor = obj in CURSOR_EXPORTS
        path = f"{API}/incremental/{obj}/cursor.json" if cursor else f"{API}/incremental/{obj}.json"
        params = {"start_time": str(start)}
        for _ in range(MAX_PAGES):
            answer = self.api.request("GET", path, params=params, ok=(200,)).json()
            yield [
                SourceRecord(str(item["id"]), iso(parse_time(item["updated_at"])), item)
                for item in answer.get(obj, [])
            ]
            if answer.get("end_of_stream", True):
                return
            if cursor:
                params = {"cursor": str(answer["after_cursor"])}
            elif int(answer.get("end_time") or 0) > int(params["start_time"]):
                params = {"start_time": str(answer["end_time"])}
            else:
                return  # a page all in one second: the next run starts after it

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        path = f"{API}/{obj}/create_or_update.json"
        singular = obj.removesuffix("s")

        def write(external_id: str, body: dict[str, Any]) -> int:
            item = {**body, "external_id": external_id}
            return self.api.request("POST", path, json={singular: item}, ok=(200, 201)).status_code

        return one_by_one(records, write)

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, LOOKUP_CHUNK):
            answer = self.api.request(
                "GET",
                f"{API}/{obj}/show_many.json",
                params={"external_ids": ",".join(chunk)},
                ok=(200,),
            ).json()
            found += [{external_id_field: r.get("external_id"), **r} for r in answer.get(obj, [])]
        return found

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        status = 404
        for record in self.lookup(obj, external_id_field, [external_id]):
            path = f"{API}/{obj}/{record['id']}.json"
            status = self.api.request("DELETE", path, ok=(200, 204, 404)).status_code
        return status


def _token_header(secret: dict[str, Any]) -> dict[str, str] | None:
    """API tokens authenticate as ``{email}/token`` with the token as password."""
    if secret.get("kind") != "api_key" or not secret.get("email"):
        return None
    pair = f"{secret['email']}/token:{secret.get('api_key') or secret.get('key')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
