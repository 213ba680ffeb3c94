"""Fake Zendesk account: Support API v2 as developer.zendesk.com documents it.

* API tokens as HTTP Basic ``{email}/token:{token}`` (401 ``Couldn't authenticate you``);
* ``GET /api/v2/incremental/{tickets|users}/cursor.json?start_time=|cursor=``: items by
  ``updated_at``, ``after_cursor``, ``end_of_stream``; ``GET /api/v2/incremental/{obj}.json?
  start_time=``: ``end_time``, ``next_page``, ``count``, ``end_of_stream``; ``page_size``
  items a page (1,000 in Zendesk);
* ``POST /api/v2/{obj}/create_or_update.json``: 201 created / 200 updated; 422
  ``RecordInvalid`` with ``details``;
* ``GET /api/v2/{obj}/show_many.json?external_ids=``; ``DELETE /api/v2/{obj}/{id}.json``;
* 429 with ``Retry-After`` when throttled.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Answer, Record, VendorFake, json_response

API = "/api/v2"


class ZendeskFake(VendorFake):
    name = "zendesk"
    issues = "api_key"

    page_size = 1000
    id_format, id_offset = "{}", 360000
    email = "integration@northwind.example"
    denied = Answer(401, {"error": "Couldn't authenticate you"})
    limited = Answer(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": "1"})

    def credential(self) -> dict[str, Any]:
        key = secrets.token_urlsafe(16)
        with self.lock:
            self.keys.add(key)
        return {"kind": "api_key", "email": self.email, "api_key": key}

    def enrol(self, doc: dict[str, Any]) -> dict[str, Any]:
        """An API token, in the shape the roadmap's kind names: ``api_key`` with the agent's
        ``email``, or ``basic_token`` with ``{email}/token`` as its username; both go out
        as the same HTTP Basic pair."""
        issued = self.credential()
        if doc.get("kind") != "basic_token":
            return {**doc, **issued}
        base = {k: v for k, v in doc.items() if k != "bootstrap"}
        return {**base, "username": f"{self.email}/token", "api_token": issued["api_key"]}

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return user == f"{self.email}/token" and token in self.keys

    def route(self, request: Request, path: str) -> Response:
        if path == f"{API}/users/me.json":
            return json_response({"user": {"id": 1, "email": self.email}})
        if m := re.fullmatch(rf"{API}/incremental/(\w+)/cursor\.json", path):
            return self._export(m.group(1), request.args, cursor=True)
        if m := re.fullmatch(rf"{API}/incremental/(\w+)\.json", path):
            return self._export(m.group(1), request.args, cursor=False)
        if (m := re.fullmatch(rf"{API}/(\w+)/create_or_update\.json", path)) and (
            request.method == "POST"
        ):
            return self._create_or_update(m.group(1), request.get_json(silent=True) or {})
        if m := re.fullmatch(rf"{API}/(\w+)/show_many\.json", path):
            wanted = set(request.args.get("external_ids", "").split(","))
            found = [
                self._json(r)
                for r in self.records.get(m.group(1), {}).values()
                if r.external_id in wanted
            ]
            return json_response({m.group(1): found})
        if (m := re.fullmatch(rf"{API}/(\w+)/(\d+)\.json", path)) and request.method == "DELETE":
            with self.lock:
                gone = self.records.get(m.group(1), {}).pop(m.group(2), None)
            return Response(status=204) if gone else json_response({"error": "RecordNotFound"}, 404)
        return json_response({"error": "InvalidEndpoint"}, 404)

    def _export(self, obj: str, args: Any, *, cursor: bool) -> Response:
        rows = sorted(self.records.get(obj, {}).values(), key=lambda r: (r.modified_at, int(r.id)))
        if cursor and "cursor" in args:
            offset = int(base64.b64decode(args["cursor"]).decode())
        else:
            start = datetime.fromtimestamp(int(args.get("start_time", "0")), UTC)
            offset = next(
                (i for i, r in enumerate(rows) if r.modified_at.replace(microsecond=0) >= start),
                len(rows),
            )
        page = rows[offset : offset + self.page_size]
        end = offset + len(page) >= len(rows)
        body: dict[str, Any] = {obj: [self._json(r) for r in page], "end_of_stream": end}
        if cursor:
            body["after_cursor"] = base64.b64encode(str(offset + len(page)).encode()).decode()
        else:
            last = int(page[-1].modified_at.timestamp()) if page else int(args.get("start_time", 0))
            body |= {"end_time": last, "count": len(page), "next_page": None if end else "more"}
        return json_response(body)

    def _create_or_update(self, obj: str, body: dict[str, Any]) -> Response:
        item = body.get(obj.removesuffix("s"))
        if not isinstance(item, dict) or not item.get("external_id"):
            return json_response({"error": "RecordInvalid", "description": "no external_id"}, 422)
        external_id = str(item["external_id"])
        if self.refuses(obj, external_id):
            return json_response(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"name": [{"description": "Name: is too short"}]},
                },
                422,
            )
        record, created = self.write(obj, external_id, item)
        return json_response({obj.removesuffix("s"): self._json(record)}, 201 if created else 200)

    def _json(self, record: Record) -> dict[str, Any]:
        return {
            **record.fields,
            "id": int(record.id),
            "external_id": record.external_id or None,
            "updated_at": record.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
