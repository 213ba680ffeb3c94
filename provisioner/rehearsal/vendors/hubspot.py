"""Fake HubSpot portal: the CRM objects API (2026-03) as developers.hubspot.com documents it.

* private app tokens as ``Bearer`` (401 ``INVALID_AUTHENTICATION``);
* ``GET /crm/objects/2026-03/{objectType}?limit=``;
* ``POST .../{objectType}/search`` (``filterGroups`` on ``hs_lastmodifieddate`` GTE/LT,
  ascending sort, ``limit``, ``after``; ``page_size`` caps a page);
* ``POST .../batch/upsert`` (``inputs`` of ``idProperty``/``id``/``properties``): 200
  ``COMPLETE``, or 207 with ``errors`` for refused inputs; ``POST .../batch/read``,
  ``POST .../batch/archive`` (204);
* 429 ``RATE_LIMIT`` (``TEN_SECONDLY_ROLLING``) when throttled.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Answer, Record, VendorFake, json_response

PREFIX = "/crm/objects/2026-03"


class HubSpotFake(VendorFake):
    name = "hubspot"
    issues = "api_key"

    id_format, id_offset = "{}", 51000
    id_property = ""
    denied = Answer(
        401,
        {
            "status": "error",
            "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION",
        },
    )
    limited = Answer(
        429,
        {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "TEN_SECONDLY_ROLLING",
        },
    )

    def route(self, request: Request, path: str) -> Response:
        m = re.fullmatch(
            rf"{PREFIX}/(\w+)(/search|/batch/upsert|/batch/read|/batch/archive)?", path
        )
        if not m:
            return json_response({"status": "error", "category": "OBJECT_NOT_FOUND"}, 404)
        obj, action = m.group(1), m.group(2)
        body = request.get_json(silent=True) or {}
        if action is None:
            return json_response({"results": []})
        if action == "/search":
            return self._search(obj, body)
        if action == "/batch/upsert":
            return self._upsert(obj, body.get("inputs", []))
        if action == "/batch/read":
            wanted = {str(i["id"]) for i in body.get("inputs", [])}
            found = [
                self._json(r) for r in self.records.get(obj, {}).values() if r.external_id in wanted
            ]
            return json_response({"status": "COMPLETE", "results": found})
        with self.lock:
            for item in body.get("inputs", []):
                self.records.get(obj, {}).pop(str(item["id"]), None)
        return Response(status=204)

    def _search(self, obj: str, body: dict[str, Any]) -> Response:
        filters = body["filterGroups"][0]["filters"]
        low = next(int(f["value"]) for f in filters if f["operator"] == "GTE")
        high = next(int(f["value"]) for f in filters if f["operator"] == "LT")
        rows = [r for r in self.records.get(obj, {}).values() if low <= _ms(r.modified_at) < high]
        rows.sort(key=lambda r: r.modified_at)
        start = int(body.get("after", 0))
        size = min(int(body.get("limit", 10)), self.page_size, 200)
        page = rows[start : start + size]
        answer: dict[str, Any] = {"total": len(rows), "results": [self._json(r) for r in page]}
        if start + size < len(rows):
            answer["paging"] = {"next": {"after": str(start + size)}}
        return json_response(answer)

    def _upsert(self, obj: str, inputs: list[dict[str, Any]]) -> Response:
        results, errors = [], []
        for item in inputs:
            external_id = str(item["id"])
            if self.refuses(obj, external_id):
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"Property values were not valid for {external_id}",
                        "context": {"id": [external_id]},
                    }
                )
                continue
            self.id_property = item["idProperty"]
            record, created = self.write(
                obj, external_id, {item["idProperty"]: external_id, **item.get("properties", {})}
            )
            results.append({**self._json(record), "new": created})
        status = 207 if errors else 200
        return json_response({"status": "COMPLETE", "results": results, "errors": errors}, status)

    def _json(self, record: Record) -> dict[str, Any]:
        stamp = record.modified_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {
            "id": record.id,
            "properties": {**record.fields, "hs_lastmodifieddate": stamp},
            "updatedAt": stamp,
            "archived": False,
        }


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)
