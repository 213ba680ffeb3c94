"""Fake Snowflake account: the SQL API v2 as the Snowflake SQL API reference documents it.

* ``POST /oauth/token-request`` (the account's OAuth token endpoint, client credentials);
* ``POST /api/v2/statements?requestId=&retry=true`` with ``X-Snowflake-Authorization-Token-
  Type`` (``OAUTH`` here) and ``{"statement", "bindings", ...}``: the statements the
  connector sends (``SELECT 1``, keyset ``SELECT``, ``SELECT ... IN``, ``MERGE``,
  ``DELETE``); a repeated ``requestId`` with ``retry=true`` answers the first result without
  running it again; ``slow`` statements answer 202 with ``statementStatusUrl`` first;
* results: ``resultSetMetaData`` (``numRows``, ``rowType``, ``partitionInfo`` of
  ``page_size`` rows), the first partition's ``data`` inline, the others by ``GET
  /api/v2/statements/{handle}?partition=N``; values as strings;
* errors: 422 ``{"code", "message", "sqlState", "statementHandle"}``, 401 ``390318``
  (token expired), 429 when throttled.

Unquoted identifiers are stored upper-cased, as Snowflake does.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Answer, VendorFake, json_response

STATEMENTS = "/api/v2/statements"


class SnowflakeFake(VendorFake):
    name = "snowflake"
    token_path = "/oauth/token-request"
    page_size = 1000
    denied = Answer(
        401, {"code": "390318", "message": "OAuth access token expired. [1172527951366]"}
    )
    limited = Answer(429, {"code": "000000", "message": "Too many requests."})

    def __init__(self) -> None:
        super().__init__()
        self.slow = 0  # statements still to answer 202 (running) first
        self.lose_answers = 0  # statements run whose answer is lost on the way (503)
        self.results: dict[str, list[list[Any]]] = {}  # statement handle -> rows
        self.requests: dict[str, dict[str, Any]] = {}  # requestId -> first answer
        self.executed: list[str] = []
        self.pending: dict[str, dict[str, Any]] = {}

    def field(self, name: str) -> str:
        # Unquoted identifiers resolve to upper case ("Identifier requirements").
        return name.upper() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) else name

    def route(self, request: Request, path: str) -> Response:
        if request.headers.get("X-Snowflake-Authorization-Token-Type") not in (
            "OAUTH",
            "KEYPAIR_JWT",
        ):
            return json_response({"code": "390101", "message": "Authorization failed"}, 401)
        if path == STATEMENTS and request.method == "POST":
            request_id = request.args.get("requestId", "")
            if request_id in self.requests and request.args.get("retry") == "true":
                return json_response(self.requests[request_id])
            body = request.get_json(silent=True) or {}
            bindings = body.get("bindings") or {}
            values = [bindings[str(i)]["value"] for i in range(1, len(bindings) + 1)]
            handle = str(uuid.uuid4())
            try:
                rows = self._run(str(body.get("statement", "")), values)
            except _SqlError as err:
                return json_response(
                    {
                        "code": err.code,
                        "message": str(err),
                        "sqlState": "42000",
                        "statementHandle": handle,
                    },
                    422,
                )
            self.results[handle] = rows
            answer = self._answer(handle, rows)
            if request_id:
                self.requests[request_id] = answer
            if self.lose_answers > 0:
                self.lose_answers -= 1
                return json_response({"code": "000000", "message": "Service Unavailable"}, 503)
            if self.slow > 0:
                self.slow -= 1
                self.pending[handle] = answer
                return json_response(
                    {
                        "code": "333334",
                        "message": "Asynchronous execution in progress.",
                        "statementHandle": handle,
                        "statementStatusUrl": f"{STATEMENTS}/{handle}",
                    },
                    202,
                )
            return json_response(answer)
        match = re.fullmatch(rf"{STATEMENTS}/([\w-]+)", path)
        if match and request.method == "GET":
            handle = match.group(1)
            if handle in self.pending:
                return json_response(self.pending.pop(handle))
            if handle not in self.results:
                return json_response({"code": "000709", "message": "Statement not found"}, 404)
            start = int(request.args.get("partition", "0")) * self.page_size
            page = self.results[handle][start : start + self.page_size]
            return json_response({"data": _strings(page)})
        return json_response({"code": "390400", "message": f"no such resource {path}"}, 404)

    def _answer(self, handle: str, rows: list[list[Any]]) -> dict[str, Any]:
        sizes = [len(rows[i : i + self.page_size]) for i in range(0, len(rows), self.page_size)]
        types = [
            {"name": f"C{i}", "type": "fixed" if isinstance(v, int | float) else "text"}
            for i, v in enumerate(rows[0] if rows else [])
        ]
        return {
            "resultSetMetaData": {
                "numRows": len(rows),
                "format": "jsonv2",
                "rowType": types,
                "partitionInfo": [{"rowCount": n} for n in sizes],
            },
            "data": _strings(rows[: self.page_size]),
            "code": "090001",
            "statementStatusUrl": f"{STATEMENTS}/{handle}",
            "statementHandle": handle,
            "message": "Statement executed successfully.",
        }

    def _run(self, sql: str, values: list[str]) -> list[list[Any]]:
        self.executed.append(sql)
        if sql == "SELECT 1":
            return [[1]]
        if m := re.fullmatch(
            r"SELECT ID, TO_VARCHAR\(UPDATED_AT, '[^']+'\)(?:, (.+?))? FROM (\w+) WHERE .+ "
            r"LIMIT (\d+)",
            sql,
        ):
            columns = m.group(1).split(", ") if m.group(1) else []
            start, after_id, end = _time(values[0]), values[2], _time(values[3])
            rows = [
                r
                for r in self.records.get(m.group(2), {}).values()
                if (r.modified_at > start or (r.modified_at == start and r.id > after_id))
                and r.modified_at < end
            ]
            rows.sort(key=lambda r: (r.modified_at, r.id))
            return [
                [
                    r.id,
                    r.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    *(r.fields.get(c) for c in columns),
                ]
                for r in rows[: int(m.group(3))]
            ]
        if m := re.fullmatch(r"SELECT (.+) FROM (\w+) WHERE (\w+) IN \(([?, ]+)\)", sql):
            columns, wanted = m.group(1).split(", "), set(values)
            return [
                [r.fields.get(c) for c in columns]
                for r in self.records.get(m.group(2), {}).values()
                if r.external_id in wanted
            ]
        if m := re.fullmatch(
            r"MERGE INTO (\w+) T USING \(SELECT \$1 AS K, PARSE_JSON\(\$2\) AS DOC FROM VALUES "
            r"[(?, )]+\) S ON T\.(\w+) = S\.K (?:WHEN MATCHED THEN UPDATE SET .+ )?"
            r"WHEN NOT MATCHED THEN INSERT \((.+)\) VALUES \((.+)\)",
            sql,
        ):
            table, key = m.group(1), m.group(2)
            pairs = list(zip(values[::2], values[1::2], strict=True))
            refused = [k for k, _ in pairs if self.refuses(table, k)]
            if refused:
                raise _SqlError("100038", f"Numeric value '{refused[0]}' is not recognized")
            members = re.findall(r'S\.DOC:"(\w+)"', m.group(4))
            for external_id, doc in pairs:
                data = json.loads(doc)
                self.write(
                    table,
                    external_id,
                    {key: external_id, **{c.upper(): data.get(c) for c in members if c in data}},
                )
            return [[len(pairs), 0]]
        if m := re.fullmatch(r"DELETE FROM (\w+) WHERE (\w+) = \?", sql):
            record = self.by_external_id(m.group(1), values[0])
            if record is not None:
                with self.lock:
                    del self.records[m.group(1)][record.id]
            return [[0 if record is None else 1]]
        raise _SqlError("001003", f"SQL compilation error: syntax error in {sql[:120]!r}")


class _SqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _strings(rows: list[list[Any]]) -> list[list[str | None]]:
    return [[None if v is None else str(v) for v in row] for row in rows]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
