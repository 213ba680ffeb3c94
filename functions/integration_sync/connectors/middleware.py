"""Middleware: the generic contract a middleware platform's API must offer (and the fallback).

A flow with pattern ``middleware`` talks to the platform (MuleSoft, Boomi, Workato...) in
front of both systems, never to the systems themselves; a system whose vendor has no
connector of its own is reached the same way. The platform must serve, authenticated with
the integration's credential:

* ``PATCH {base}/{object}/{external_id_field}/{external_id}`` with the mapped fields as JSON:
  create or update (201/200/204), idempotent; ``DELETE`` on the same path (404 = deleted);
* ``GET {base}/{object}?field={external_id_field}&ids=a,b`` -> ``{"records": [{...}]}``;
* ``GET {base}/{object}/changes?since=&after_id=&until=&limit=`` ->
  ``{"records": [{"id", "modified_at", "data": {...}}]}`` ordered by ``(modified_at, id)``;
* 429 with ``Retry-After`` when throttled, 401 when the token expired.

Documentation: this docstring is the contract (version "generic contract v1").
"""

from __future__ import annotations

from typing import Any

from integration_sync.clients import SourceApi, TargetApi
from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, one_by_one


class MiddlewareConnector(Connector):
    name = "middleware"

    def authenticate(self) -> None:
        """A lookup of no ids in a mapped object: the cheapest call the contract has.

        Without a mapping a fresh token exchange is the only check (a key or a per-request
        signature is then not checked until the first sync)."""
        if self.api.auth:
            self.api.auth.refresh()
            self.api.auth.headers()
        spec = next(iter(self.mapping.values()), None)
        if spec is not None:
            self.api.request(
                "GET", f"/{spec.target_object}", params={"field": spec.external_id, "ids": ""}
            )

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        return SourceApi(self.api).changes(
            obj, since=since, after_id=after_id, until=until, limit=limit
        )

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        target = TargetApi(self.api)
        return one_by_one(
            records,
            lambda external_id, body: target.upsert(obj, external_id_field, external_id, body),
        )

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        return TargetApi(self.api).delete(obj, external_id_field, external_id)

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        return TargetApi(self.api).lookup(obj, external_id_field, ids)
