"""Fake middleware platform: the generic contract of ``integration_sync.connectors.middleware``.

``PATCH``/``DELETE /{object}/{field}/{id}``, ``GET /{object}?field=&ids=``, ``GET
/{object}/changes?since=&after_id=&until=&limit=``; 401 for an unknown token, 429 with
``Retry-After`` when throttled, 422 for a rejected record.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import VendorFake, json_response


class MiddlewareFake(VendorFake):
    name = "middleware"

    def route(self, request: Request, path: str) -> Response:
        if m := re.fullmatch(r"/([^/]+)/changes", path):
            return self._changes(m.group(1), request.args)
        if m := re.fullmatch(r"/([^/]+)/([^/]+)/([^/]+)", path):
            obj, field, external_id = m.groups()
            if request.method == "PATCH":
                if self.refuses(obj, external_id):
                    return json_response({"error": "validation", "field": field}, 422)
                body = request.get_json(silent=True) or {}
                _, created = self.write(obj, external_id, {field: external_id, **body})
                return json_response({"id": external_id}, 201 if created else 200)
            if request.method == "DELETE":
                record = self.by_external_id(obj, external_id)
                if record is None:
                    return json_response({"error": "not_found"}, 404)
                with self.lock:
                    del self.records[obj][record.id]
                return Response(status=204)
        if (m := re.fullmatch(r"/([^/]+)", path)) and request.method == "GET":
            ids = set(request.args.get("ids", "").split(","))
            rows = [
                dict(r.fields)
                for r in self.records.get(m.group(1), {}).values()
                if r.external_id in ids
            ]
            return json_response({"records": rows})
        return json_response({"error": "not_found"}, 404)

    def _changes(self, obj: str, args: Any) -> Response:
        since = _time(args.get("since", "1970-01-01T00:00:00Z"))
        until = _time(args.get("until", "2999-01-01T00:00:00Z"))
        after_id = args.get("after_id", "")
        rows = [
            r
            for r in self.records.get(obj, {}).values()
            if (r.modified_at.replace(microsecond=0), r.id) > (since, after_id)
            and r.modified_at < until
        ]
        rows.sort(key=lambda r: (r.modified_at, r.id))
        rows = rows[: int(args.get("limit", "200"))]
        return json_response(
            {
                "records": [
                    {
                        "id": r.id,
                        "modified_at": r.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "data": r.fields,
                    }
                    for r in rows
                ]
            }
        )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
