"""Fake NetSuite account: REST web services (record API v1, SuiteQL), NetSuite 2025.1.

* ``POST /services/rest/auth/oauth2/v1/token`` (OAuth 2.0; the fake takes the client
  credentials grant the sync functions' secret describes);
* ``PUT /services/rest/record/v1/{type}/eid:{externalId}``: upsert, 204 No Content
  ("Using the Upsert Operation"); ``DELETE`` on the same path;
* ``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``Prefer: transient`` (400
  without it), ``{"q": "..."}``: ``items`` (lower-case columns, ``links``), ``hasMore``,
  ``offset``, ``count``, ``totalResults``;
* errors: ``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}``;
  401 ``INVALID_LOGIN``; 429 ``CONCURRENCY_LIMIT_EXCEEDED`` when throttled.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Record, VendorFake, json_response

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
_TS = r"TO_TIMESTAMP\('([^']+)', '[^']+'\)"


class NetSuiteFake(VendorFake):
    name = "netsuite"
    token_path = "/services/rest/auth/oauth2/v1/token"
    id_format = "{}"

    def unauthorised(self) -> Response:
        return _error(401, "INVALID_LOGIN", "Invalid login attempt.")

    def throttled(self) -> Response:
        return _error(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded.")

    def route(self, request: Request, path: str) -> Response:
        match = re.fullmatch(rf"{RECORD}/([^/]+)/eid:([^/]+)", path)
        if match and request.method == "PUT":
            return self._upsert(match.group(1), match.group(2), request.get_json(silent=True))
        if match and request.method == "DELETE":
            record = self.by_external_id(match.group(1), match.group(2))
            if record is None:
                return _error(404, "NONEXISTENT_ID", "The record instance does not exist.")
            with self.lock:
                del self.records[match.group(1)][record.id]
            return Response(status=204)
        if path == SUITEQL and request.method == "POST":
            if request.headers.get("Prefer") != "transient":
                return _error(400, "INVALID_HEADER", "SuiteQL requires 'Prefer: transient'.")
            body = request.get_json(silent=True) or {}
            limit = int(request.args.get("limit", "1000"))
            offset = int(request.args.get("offset", "0"))
            return self._suiteql(str(body.get("q", "")), limit, offset)
        return _error(404, "NONEXISTENT_ID", f"no such resource {path}")

    def _upsert(self, obj: str, external_id: str, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        if self.refuses(obj, external_id):
            return _error(400, "USER_ERROR", "Please enter value(s) for: Customer")
        record, _ = self.write(obj, external_id, {"externalId": external_id, **body})
        return Response(status=204, headers={"Location": f"{RECORD}/{obj}/{record.id}"})

    def _suiteql(self, query: str, limit: int, offset: int) -> Response:
        if query == "SELECT 1 AS ok FROM dual":
            return _page([{"ok": 1}], limit, offset)
        match = re.fullmatch(r"SELECT (.+?) FROM (\w+) WHERE (.+?)(?: ORDER BY ([\w, ]+))?", query)
        if not match:
            return _error(400, "INVALID_PARAMETER", f"Invalid search query: {query[:200]}")
        columns, obj, where = match.group(1), match.group(2), match.group(3)
        rows = [r for r in self.records.get(obj, {}).values() if _matches(r, where)]
        rows.sort(key=lambda r: (r.modified_at, int(r.id)))
        return _page([_row(r, columns) for r in rows], limit, offset)


def _row(record: Record, columns: str) -> dict[str, Any]:
    row: dict[str, Any] = {"links": []}
    values = {k.lower(): v for k, v in record.fields.items()}
    for column in _split_columns(columns):
        if m := re.fullmatch(r"TO_CHAR\(lastmodifieddate, '[^']+'\) AS (\w+)", column):
            row[m.group(1).lower()] = record.modified_at.strftime("%Y-%m-%d %H:%M:%S")
        elif column.lower() == "id":
            row["id"] = record.id
        elif column.lower() == "externalid":
            row["externalid"] = record.external_id
        else:
            row[column.lower()] = values.get(column.lower())
    return row


def _split_columns(columns: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in columns:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _matches(record: Record, where: str) -> bool:
    stamp = record.modified_at.replace(microsecond=0)
    remaining = where
    if (m := re.search(rf"lastmodifieddate >= {_TS}", remaining)) and stamp < _time(m.group(1)):
        return False
    if m := re.search(
        rf"\(lastmodifieddate > {_TS} OR \(lastmodifieddate = {_TS} AND id > (\d+)\)\)",
        remaining,
    ):
        bound = _time(m.group(1))
        if not (stamp > bound or (stamp == bound and int(record.id) > int(m.group(3)))):
            return False
    if (m := re.search(rf"lastmodifieddate < {_TS}", remaining)) and stamp >= _time(m.group(1)):
        return False
    if m := re.search(r"externalid IN \((.*)\)", remaining):
        values = {v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(1))}
        if record.external_id not in values:
            return False
    return True


def _page(rows: list[dict[str, Any]], limit: int, offset: int) -> Response:
    items = rows[offset : offset + limit]
    return json_response(
        {
            "links": [],
            "count": len(items),
            "hasMore": offset + limit < len(rows),
            "items": items,
            "offset": offset,
            "totalResults": len(rows),
        }
    )


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _error(status: int, code: str, detail: str) -> Response:
    return json_response(
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html",
            "title": Response(status=status).status.split(" ", 1)[1],
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
        status,
    )
