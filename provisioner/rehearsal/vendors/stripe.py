"""Fake Stripe account: the v1 API (2025-06-30.basil) as docs.stripe.com documents it.

* secret keys as ``Bearer`` (401 ``invalid_request_error`` ``Invalid API Key provided``);
* form-encoded ``POST /v1/{objects}`` (create) and ``POST /v1/{objects}/{id}`` (update),
  ``metadata[key]`` for metadata; an ``Idempotency-Key`` seen before answers the first
  result without writing again; ``DELETE /v1/{objects}/{id}``;
* ``GET /v1/{objects}/search?query=metadata['k']:'v' OR ...``;
* ``GET /v1/events?types[]=&created[gte]=&starting_after=&limit=``: newest first,
  ``has_more``; every write makes a ``{object}.created``/``.updated`` event;
* 429 ``rate_limit`` when throttled; 400 ``invalid_request_error`` for a refused record.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Record, VendorFake, json_response


class StripeFake(VendorFake):
    name = "stripe"
    issues = "api_key"

    id_format = "cus_{:014d}"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self.idempotent: dict[str, dict[str, Any]] = {}
        self.search_lag = False  # search does not see recent writes yet (up to a minute)

    def seeded(self, obj: str, record: Record) -> None:
        self._event(obj, record, "created")

    def unauthorised(self) -> Response:
        return _error(401, "invalid_request_error", "Invalid API Key provided")

    def throttled(self) -> Response:
        return _error(429, "rate_limit_error", "Too many requests", code="rate_limit")

    def route(self, request: Request, path: str) -> Response:
        if path == "/v1/events":
            return self._events(request.args)
        if m := re.fullmatch(r"/v1/(\w+)s/search", path):
            return self._search(m.group(1), request.args.get("query", ""))
        if (m := re.fullmatch(r"/v1/(\w+)s(?:/(\w+))?", path)) and request.method == "POST":
            key = request.headers.get("Idempotency-Key", "")
            if key in self.idempotent:
                return json_response(self.idempotent[key])
            answer = self._write(m.group(1), m.group(2), request.form.to_dict())
            if key and answer.status_code == 200:
                self.idempotent[key] = answer.get_json()
            return answer
        if (m := re.fullmatch(r"/v1/(\w+)s/(\w+)", path)) and request.method == "DELETE":
            with self.lock:
                gone = self.records.get(m.group(1), {}).pop(m.group(2), None)
            if gone is None:
                return _error(
                    404, "invalid_request_error", "No such object", code="resource_missing"
                )
            return json_response({"id": m.group(2), "object": m.group(1), "deleted": True})
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({path})")

    def _write(self, obj: str, record_id: str | None, form: dict[str, str]) -> Response:
        metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
        fields = {k: v for k, v in form.items() if not k.startswith("metadata[")}
        external_id = next(iter(metadata.values()), "")
        if self.refuses(obj, external_id):
            return _error(400, "invalid_request_error", "Invalid email address", param="email")
        with self.lock:
            if record_id:
                record = self.records.get(obj, {}).get(record_id)
                if record is None:
                    return _error(
                        404, "invalid_request_error", "No such object", code="resource_missing"
                    )
                kind = "updated"
            else:
                record = Record(self.new_id(), external_id, datetime.now(UTC))
                self.records.setdefault(obj, {})[record.id] = record
                kind = "created"
            record.fields.update(fields)
            record.fields["metadata"] = {**record.fields.get("metadata", {}), **metadata}
            record.modified_at = datetime.now(UTC)
        self.count_write()
        self._event(obj, record, kind)
        return json_response(self._json(obj, record))

    def _search(self, obj: str, query: str) -> Response:
        if self.search_lag:
            return json_response({"object": "search_result", "data": [], "has_more": False})
        wanted = {(k, v) for k, v in re.findall(r"metadata\['(\w+)'\]:'((?:[^'\\]|\\.)*)'", query)}
        found = [
            self._json(obj, r)
            for r in self.records.get(obj, {}).values()
            if any((k, v) in wanted for k, v in (r.fields.get("metadata") or {}).items())
        ]
        return json_response({"object": "search_result", "data": found, "has_more": False})

    def _events(self, args: Any) -> Response:
        types = set(args.getlist("types[]"))
        since = int(args.get("created[gte]", "0"))
        rows = [e for e in reversed(self.events) if e["type"] in types and e["created"] >= since]
        after = args.get("starting_after")
        if after:
            index = next((i for i, e in enumerate(rows) if e["id"] == after), len(rows))
            rows = rows[index + 1 :]
        size = min(int(args.get("limit", "10")), self.page_size)
        return json_response(
            {
                "object": "list",
                "data": rows[:size],
                "has_more": len(rows) > size,
                "url": "/v1/events",
            }
        )

    def _event(self, obj: str, record: Record, kind: str) -> None:
        with self.lock:
            self.events.append(
                {
                    "id": f"evt_{len(self.events) + 1:014d}",
                    "object": "event",
                    "type": f"{obj}.{kind}",
                    "created": int(record.modified_at.timestamp()),
                    "data": {"object": self._json(obj, record)},
                }
            )

    def _json(self, obj: str, record: Record) -> dict[str, Any]:
        return {"id": record.id, "object": obj, **record.fields}

    def stored(self, obj: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                str(next(iter((r.fields.get("metadata") or {}).values()), r.external_id)): dict(
                    r.fields
                )
                for r in self.records.get(obj, {}).values()
                if r.fields.get("metadata") or r.external_id
            }


def _error(status: int, kind: str, message: str, *, code: str = "", param: str = "") -> Response:
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return json_response({"error": error}, status)
