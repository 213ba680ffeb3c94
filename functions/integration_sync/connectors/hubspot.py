"""HubSpot: CRM objects API, date-versioned 2026-03 (``/crm/objects/2026-03/{objectType}``).

* authentication: a private app's access token as ``Bearer``;
* reads: ``POST .../{objectType}/search`` filtering ``hs_lastmodifieddate`` (GTE since, LT
  until) sorted ascending, 100 a page, ``paging.next.after``; a search reaches at most
  10,000 results, which the batch job's watermark pages stay under;
* writes: ``POST .../{objectType}/batch/upsert`` with ``inputs: [{"idProperty", "id",
  "properties"}]`` (100 a call): 200 when all succeed, 207 multi-status with ``errors`` for
  the failed inputs; a 400 for the whole batch is retried input by input to find the one
  refused
  (https://developers.hubspot.com/docs/api-reference/latest/crm/objects/custom-objects/batch/upsert-custom-objects);
* lookups: ``POST .../batch/read`` with ``idProperty``; deletes archive by HubSpot id
  (``POST .../batch/archive``) after such a read;
* 429 ``RATE_LIMIT`` (ten-secondly and daily policies); 401 when the token was revoked.
"""

from __future__ import annotations

from typing import Any

from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, chunks
from integration_sync.connectors.window import gather, iso, parse_time
from integration_sync.errors import TargetRejected

PREFIX = "/crm/objects/2026-03"
BATCH = 100
SEARCH_PAGE = 100
MODIFIED = "hs_lastmodifieddate"


class HubSpotConnector(Connector):
    name = "hubspot"
    max_batch = BATCH

    def authenticate(self) -> None:
        self.api.request("GET", f"{PREFIX}/contacts", params={"limit": "1"}, ok=(200,))

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        return gather(
            self._search(obj, since, until),
            since=since,
            after_id=after_id,
            until=until,
            limit=limit,
        )

    def _search(self, obj: str, since: str, until: str) -> Any:
        bounds = [
            {"propertyName": MODIFIED, "operator": "GTE", "value": _ms(since)},
            {"propertyName": MODIFIED, "operator": "LT", "value": _ms(until)},
        ]
        body: dict[str, Any] = {
            "filterGroups": [{"filters": bounds}],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": [*self.source_fields(obj), MODIFIED],
            "limit": SEARCH_PAGE,
        }
        while True:
            answer = self.api.request("POST", f"{PREFIX}/{obj}/search", json=body, ok=(200,)).json()
            yield [
                SourceRecord(
                    str(item["id"]),
                    iso(parse_time(item["properties"].get(MODIFIED) or item["updatedAt"])),
                    {"id": item["id"], **item["properties"]},
                )
                for item in answer.get("results", [])
            ]
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            body["after"] = after

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for batch in chunks(records, BATCH):
            inputs = [
                {"idProperty": external_id_field, "id": external_id, "properties": body}
                for external_id, body in batch
            ]
            try:
                answer = self.api.request(
                    "POST", f"{PREFIX}/{obj}/batch/upsert", json={"inputs": inputs}, ok=(200, 207)
                ).json()
            except TargetRejected as err:
                if len(batch) == 1:
                    results.append(WriteResult(batch[0][0], False, 400, err.detail))
                else:
                    for record in batch:
                        results += self.upsert_many(obj, external_id_field, [record])
                continue
            done = {
                str(r.get("properties", {}).get(external_id_field)): r.get("new", False)
                for r in answer.get("results", [])
            }
            errors = " ; ".join(e.get("message", "") for e in answer.get("errors", []))
            for external_id, _ in batch:
                if external_id in done:
                    results.append(
                        WriteResult(external_id, True, 201 if done[external_id] else 200)
                    )
                else:
                    results.append(WriteResult(external_id, False, 400, errors or "not upserted"))
        return results

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, BATCH):
            answer = self.api.request(
                "POST",
                f"{PREFIX}/{obj}/batch/read",
                json={
                    "idProperty": external_id_field,
                    "inputs": [{"id": i} for i in chunk],
                    "properties": self.target_fields(obj, external_id_field),
                },
                ok=(200, 207),
            ).json()
            found += [{"id": r["id"], **r.get("properties", {})} for r in answer.get("results", [])]
        return found

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        found = self.lookup(obj, external_id_field, [external_id])
        if not found:
            return 404
        inputs = [{"id": str(r["id"])} for r in found]
        return self.api.request(
            "POST", f"{PREFIX}/{obj}/batch/archive", json={"inputs": inputs}, ok=(204,)
        ).status_code


def _ms(value: str) -> str:
    return str(int(parse_time(value).timestamp() * 1000))
