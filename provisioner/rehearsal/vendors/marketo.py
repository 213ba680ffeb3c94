"""Fake Marketo Engage instance: REST API v1 as experienceleague.adobe.com documents it.

* ``POST /identity/oauth/token`` (client credentials in the form) -> ``access_token``,
  ``expires_in``; the token only in ``Authorization: Bearer``;
* every answer HTTP 200 with ``requestId``/``success``; an invalid token is error ``601``,
  throttling ``606`` (100 calls in 20 seconds);
* ``GET /rest/v1/activities/pagingtoken.json?sinceDatetime=``,
  ``GET /rest/v1/activities/leadchanges.json?nextPageToken=&fields=`` (``moreResult``,
  ``page_size`` activities a page), ``GET /rest/v1/leads.json?filterType=&filterValues=``;
* ``POST /rest/v1/leads.json`` (``createOrUpdate`` by ``lookupField``; results
  ``created``/``updated``/``skipped`` with ``reasons``), ``POST /rest/v1/leads/delete.json``.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Record, VendorFake, json_response

REST = "/rest/v1"


class MarketoFake(VendorFake):
    name = "marketo"
    token_path = "/identity/oauth/token"

    page_size = 300
    id_format = "{}"
    limit_code = "606"  # 606: 100 calls in 20 s; 607: the daily quota

    def unauthorised(self) -> Response:
        return _failure("601", "Access token invalid")

    def throttled(self) -> Response:
        if self.limit_code == "607":
            return _failure("607", "Daily quota reached")
        return _failure("606", "Max rate limit '100' exceeded with in '20' secs")

    def route(self, request: Request, path: str) -> Response:
        args = request.args
        if path == f"{REST}/leads/describe.json":
            return _success([{"id": 2, "displayName": "Company Name", "dataType": "string"}])
        if path == f"{REST}/activities/pagingtoken.json":
            return json_response(
                {
                    "requestId": "r",
                    "success": True,
                    "nextPageToken": _token(args["sinceDatetime"], 0),
                }
            )
        if path == f"{REST}/activities/leadchanges.json":
            return self._lead_changes(args["nextPageToken"])
        if path == f"{REST}/leads.json" and request.method == "GET":
            values = set(args.get("filterValues", "").split(","))
            field = args.get("filterType", "id")
            found = [
                self._json(r)
                for r in self.records.get("leads", {}).values()
                if (r.id if field == "id" else r.external_id) in values
            ]
            return _success(found)
        if path == f"{REST}/leads/delete.json" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            with self.lock:
                for item in body.get("input", []):
                    self.records.get("leads", {}).pop(str(item["id"]), None)
            return _success([{"id": i["id"], "status": "deleted"} for i in body.get("input", [])])
        m = re.fullmatch(rf"{REST}/(?:(leads)|customobjects/(\w+))\.json", path)
        if m and request.method == "POST":
            return self._create_or_update(m.group(1) or m.group(2), request.get_json(silent=True))
        return _failure("404", f"Requested resource not found: {path}")

    def _lead_changes(self, token: str) -> Response:
        state = json.loads(base64.b64decode(token))
        since = datetime.fromisoformat(state["since"].replace("Z", "+00:00")).astimezone(UTC)
        rows = sorted(
            (r for r in self.records.get("leads", {}).values() if r.modified_at >= since),
            key=lambda r: (r.modified_at, int(r.id)),
        )
        offset = state["offset"]
        page = rows[offset : offset + self.page_size]
        activities = [
            {
                "id": 1000 + offset + i,
                "leadId": int(r.id),
                "activityDate": r.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "activityTypeId": 13,
                "fields": [],
            }
            for i, r in enumerate(page)
        ]
        return json_response(
            {
                "requestId": "r",
                "success": True,
                "result": activities,
                "moreResult": offset + len(page) < len(rows),
                "nextPageToken": _token(state["since"], offset + len(page)),
            }
        )

    def _create_or_update(self, obj: str, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("action") != "createOrUpdate":
            return _failure("1003", "action must be createOrUpdate")
        field = body.get("lookupField") if obj == "leads" else None
        if obj == "leads" and not field:
            return _failure("1003", "lookupField is required")
        results: list[dict[str, Any]] = []
        for item in body.get("input", []):
            external_id = str(item.get(field or "externalId", ""))
            if self.refuses(obj, external_id):
                results.append(
                    {"status": "skipped", "reasons": [{"code": "1003", "message": "Invalid value"}]}
                )
                continue
            record, created = self.write(obj, external_id, item)
            results.append({"id": int(record.id), "status": "created" if created else "updated"})
        return _success(results)

    def _json(self, record: Record) -> dict[str, Any]:
        return {
            **record.fields,
            "id": int(record.id),
            "updatedAt": record.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def _token(since: str, offset: int) -> str:
    return base64.b64encode(json.dumps({"since": since, "offset": offset}).encode()).decode()


def _success(result: list[Any]) -> Response:
    return json_response({"requestId": "r", "success": True, "result": result})


def _failure(code: str, message: str) -> Response:
    return json_response(
        {"requestId": "r", "success": False, "errors": [{"code": code, "message": message}]}
    )
