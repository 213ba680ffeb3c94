"""Fake Salesforce org: REST API v62.0 as the REST API Developer Guide documents it.

* ``POST /services/oauth2/token``: the JWT bearer flow (RS256 assertion checked against the
  certificate ``enrol`` installed, ``aud``, ``sub``, ``exp`` at most 3 minutes ahead: the
  base fake's, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration") or the client
  credentials flow of a connected app;
* ``GET /services/data/v62.0/limits``;
* ``GET /services/data/v62.0/query?q=`` for the SOQL the connector sends (SELECT fields FROM
  object WHERE SystemModstamp keyset / ``field IN (...)``, ORDER BY SystemModstamp, Id,
  LIMIT), in batches of ``page_size`` rows with ``done``/``nextRecordsUrl``
  ("Execute a SOQL Query");
* ``PATCH /services/data/v62.0/composite/sobjects/{SObject}/{Field}`` (sObject Collections
  upsert: up to 200 records, each with ``attributes.type``; one UpsertResult per record);
* ``DELETE /services/data/v62.0/sobjects/{SObject}/{Field}/{value}``;
* ``GET /services/data/v62.0/sobjects/{SObject}/describe``: each field's ``type``;
* Bulk API 2.0 query jobs ("Bulk API 2.0 Query", Bulk API 2.0 and Bulk API Developer
  Guide): ``POST /jobs/query`` with ``{"operation": "query", "query"}`` (no ORDER BY or
  LIMIT: Bulk API 2.0 refuses them) answers the job in state ``UploadComplete``; each
  ``GET /jobs/query/{id}`` moves it on, through ``InProgress`` to ``JobComplete`` (or
  ``Failed`` with ``errorMessage`` when the query cannot run); ``GET
  /jobs/query/{id}/results?maxRecords=&locator=`` answers CSV (header row, then records)
  with ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (``null`` on the last page), and
  is refused until the job is complete; ``polls_to_complete`` sets how many polls that takes;
* errors as JSON arrays of ``{"message", "errorCode"}``: 401 ``INVALID_SESSION_ID``,
  403 ``REQUEST_LIMIT_EXCEEDED`` when throttled ("Status Codes and Error Responses").
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Record, VendorFake, json_response

PREFIX = "/services/data/v62.0"
_LITERAL = r"'((?:[^'\\]|\\.)*)'"


class SalesforceFake(VendorFake):
    name = "salesforce"
    token_path = "/services/oauth2/token"
    page_size = 2000
    id_format = "a0B{:015d}"

    def __init__(self) -> None:
        super().__init__()
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self.polls_to_complete = 2
        self.jobs: dict[str, dict[str, Any]] = {}  # Bulk API 2.0 query jobs by id

    def unauthorised(self) -> Response:
        return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def throttled(self) -> Response:
        return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def route(self, request: Request, path: str) -> Response:
        if path == f"{PREFIX}/limits" and request.method == "GET":
            return json_response({"DailyApiRequests": {"Max": 350000, "Remaining": 349000}})
        if path == f"{PREFIX}/query" and request.method == "GET":
            return self._query(request.args.get("q", ""))
        if path.startswith(f"{PREFIX}/query/") and request.method == "GET":
            return self._next(path.rsplit("/", 1)[1])
        if path == f"{PREFIX}/jobs/query" and request.method == "POST":
            return self._create_job(request.get_json(silent=True))
        match = re.fullmatch(rf"{PREFIX}/jobs/query/([^/]+)(/results)?", path)
        if match and request.method == "GET":
            job = self.jobs.get(match.group(1))
            if job is None:
                return _errors(404, "NOT_FOUND", f"no query job {match.group(1)}")
            if match.group(2):
                return self._results(job, request.args)
            return self._poll(job)
        match = re.fullmatch(rf"{PREFIX}/sobjects/(\w+)/describe", path)
        if match and request.method == "GET":
            return self._describe(match.group(1))
        match = re.fullmatch(rf"{PREFIX}/composite/sobjects/([^/]+)/([^/]+)", path)
        if match and request.method == "PATCH":
            return self._collection_upsert(
                match.group(1), match.group(2), request.get_json(silent=True)
            )
        match = re.fullmatch(rf"{PREFIX}/sobjects/([^/]+)/([^/]+)/([^/]+)", path)
        if match and request.method == "DELETE":
            return self._delete(match.group(1), match.group(3))
        return _errors(404, "NOT_FOUND", f"The requested resource does not exist: {path}")

    def _query(self, soql: str) -> Response:
        match = re.fullmatch(
            r"SELECT (.+?) FROM (\w+) WHERE (.+?)(?: ORDER BY ([\w, ]+))?(?: LIMIT (\d+))?",
            soql.strip(),
        )
        if not match:
            return _errors(400, "MALFORMED_QUERY", f"unexpected SOQL: {soql[:200]}")
        fields = [f.strip() for f in match.group(1).split(",")]
        obj, where, limit = match.group(2), match.group(3), match.group(5)
        rows = [r for r in self.records.get(obj, {}).values() if _matches(r, where)]
        rows.sort(key=lambda r: (r.modified_at, r.id))
        if limit:
            rows = rows[: int(limit)]
        return self._page([_row(obj, r, fields) for r in rows])

    def _page(self, rows: list[dict[str, Any]]) -> Response:
        first, rest = rows[: self.page_size], rows[self.page_size :]
        body: dict[str, Any] = {"totalSize": len(rows), "done": not rest, "records": first}
        if rest:
            cursor = f"01g{uuid.uuid4().hex[:15]}-{self.page_size}"
            self.cursors[cursor] = rest
            body["nextRecordsUrl"] = f"{PREFIX}/query/{cursor}"
        return json_response(body)

    def _next(self, cursor: str) -> Response:
        rows = self.cursors.pop(cursor, None)
        if rows is None:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(rows)

    def _describe(self, obj: str) -> Response:
        """The sObject's fields with their SOAP types, as stored values show them."""
        types: dict[str, str] = {"Id": "id", "SystemModstamp": "datetime"}
        for record in self.records.get(obj, {}).values():
            for name, value in record.fields.items():
                kind = (
                    "boolean"
                    if isinstance(value, bool)
                    else "int"
                    if isinstance(value, int)
                    else "double"
                    if isinstance(value, float)
                    else "string"
                )
                types.setdefault(name, kind)
        fields = [{"name": name, "type": kind} for name, kind in types.items()]
        return json_response({"name": obj, "fields": fields})

    def _create_job(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("operation") != "query":
            return _errors(400, "INVALIDJOB", "operation must be query (or queryAll)")
        soql = str(body.get("query", ""))
        if re.search(r"\b(ORDER BY|LIMIT|OFFSET|GROUP BY)\b", soql):
            return _errors(400, "INVALIDJOB", "Bulk API 2.0 queries take no ORDER BY or LIMIT")
        job_id = f"750{uuid.uuid4().hex[:15]}"
        job: dict[str, Any] = {"id": job_id, "query": soql, "state": "UploadComplete", "polls": 0}
        with self.lock:
            self.jobs[job_id] = job
        return json_response(
            {
                "id": job_id,
                "operation": "query",
                "state": "UploadComplete",
                "contentType": "CSV",
                "apiVersion": 62.0,
                "lineEnding": "LF",
                "columnDelimiter": "COMMA",
            }
        )

    def _poll(self, job: dict[str, Any]) -> Response:
        with self.lock:
            if job["state"] in ("UploadComplete", "InProgress"):
                job["polls"] += 1
                job["state"] = "InProgress"
                if job["polls"] >= self.polls_to_complete:
                    self._run(job)
        answer = {"id": job["id"], "operation": "query", "state": job["state"]}
        if job["state"] == "Failed":
            answer["errorMessage"] = job["error"]
        else:
            answer["numberRecordsProcessed"] = len(job.get("rows", []))
        return json_response(answer)

    def _run(self, job: dict[str, Any]) -> None:
        match = re.fullmatch(r"SELECT (.+?) FROM (\w+) WHERE (.+)", job["query"].strip())
        if not match:
            job.update(state="Failed", error=f"unexpected SOQL: {job['query'][:200]}")
            return
        fields = [f.strip() for f in match.group(1).split(",")]
        obj = match.group(2)
        try:
            rows = [r for r in self.records.get(obj, {}).values() if _matches(r, match.group(3))]
        except ValueError as err:
            job.update(state="Failed", error=str(err))
            return
        # Bulk results come in no particular order: the newest first here, so a client that
        # relies on an order is caught.
        rows.sort(key=lambda r: (r.modified_at, r.id), reverse=True)
        job.update(state="JobComplete", fields=fields, rows=[_row(obj, r, fields) for r in rows])

    def _results(self, job: dict[str, Any], args: Any) -> Response:
        if job["state"] != "JobComplete":
            return _errors(400, "INVALIDJOBSTATE", f"job {job['id']} is {job['state']}")
        start = int(args.get("locator") or 0) if str(args.get("locator") or "0").isdigit() else -1
        if start < 0:
            return _errors(400, "INVALIDLOCATOR", "invalid locator")
        size = int(args.get("maxRecords") or 10_000)
        rows = job["rows"][start : start + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(job["fields"])
        for row in rows:
            writer.writerow(["" if row[f] is None else row[f] for f in job["fields"]])
        following = start + size
        locator = str(following) if following < len(job["rows"]) else "null"
        return Response(
            out.getvalue(),
            status=200,
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(rows))},
            content_type="text/csv",
        )

    def _collection_upsert(self, obj: str, field: str, body: Any) -> Response:
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not 1 <= len(records) <= 200:
            return _errors(400, "INVALID_FIELD", "records: a list of 1 to 200 sObjects")
        if body.get("allOrNone") is not False:
            return _errors(400, "INVALID_FIELD", "the connector must send allOrNone: false")
        results = []
        for item in records:
            if (item.get("attributes") or {}).get("type") != obj:
                return _errors(400, "INVALID_TYPE", "each record needs attributes.type")
            external_id = str(item.get(field, ""))
            if self.refuses(obj, external_id):
                results.append(
                    {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                "message": "Credit status is required",
                                "fields": [],
                            }
                        ],
                    }
                )
                continue
            fields = {k: v for k, v in item.items() if k not in ("attributes", field)}
            record, created = self.write(obj, external_id, {field: external_id, **fields})
            results.append({"id": record.id, "success": True, "errors": [], "created": created})
        return json_response(results)

    def _delete(self, obj: str, external_id: str) -> Response:
        record = self.by_external_id(obj, external_id)
        if record is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        with self.lock:
            del self.records[obj][record.id]
        return Response(status=204)


def _row(obj: str, record: Record, fields: list[str]) -> dict[str, Any]:
    values = {
        "Id": record.id,
        "SystemModstamp": record.modified_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        **record.fields,
    }
    row: dict[str, Any] = {
        "attributes": {"type": obj, "url": f"{PREFIX}/sobjects/{obj}/{record.id}"}
    }
    for field in fields:
        row[field] = values.get(field)
    return row


def _matches(record: Record, where: str) -> bool:
    stamp = record.modified_at
    for clause in _split_and(where):
        if m := re.fullmatch(r"SystemModstamp (>=|<) (\S+)", clause):
            bound = _time(m.group(2))
            if (m.group(1) == ">=" and stamp < bound) or (m.group(1) == "<" and stamp >= bound):
                return False
        elif m := re.fullmatch(
            rf"\(SystemModstamp > (\S+) OR \(SystemModstamp = (\S+) AND Id > {_LITERAL}\)\)",
            clause,
        ):
            bound = _time(m.group(1))
            if not (stamp > bound or (stamp == bound and record.id > _unquote(m.group(3)))):
                return False
        elif m := re.fullmatch(r"(\w+) IN \((.*)\)", clause):
            values = {_unquote(v) for v in re.findall(_LITERAL, m.group(2))}
            if str(record.fields.get(m.group(1), record.external_id)) not in values:
                return False
        else:
            raise ValueError(f"the fake does not know the SOQL condition {clause!r}")
    return True


def _split_and(where: str) -> list[str]:
    """Split on top-level ANDs (those outside parentheses)."""
    parts, depth, current = [], 0, ""
    for token in re.split(r"(\(|\)| AND )", where):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == " AND " and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += token
    parts.append(current.strip())
    return [p for p in parts if p]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _errors(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status)
