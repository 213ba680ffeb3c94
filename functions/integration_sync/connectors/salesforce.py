"""Salesforce: REST API v62.0 (SOQL query, sObject Collections upsert, sObject rows by external id).

Follows the REST API Developer Guide, version 62.0 (Winter '25):

* reads: ``GET /services/data/v62.0/query?q=SELECT ... WHERE SystemModstamp ... ORDER BY
  SystemModstamp, Id LIMIT n``; Salesforce returns at most 2,000 rows per batch and a
  ``nextRecordsUrl`` while ``done`` is false ("Execute a SOQL Query");
* writes: ``PATCH /services/data/v62.0/composite/sobjects/{SObject}/{ExternalIdField}`` with
  ``allOrNone: false`` and up to 200 records, each with ``attributes.type``; the answer is
  one UpsertResult per record in order (``success``, ``created``, ``errors``) ("Upsert
  Records Using sObject Collections",
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html);
* deletes: ``DELETE /services/data/v62.0/sobjects/{SObject}/{ExternalIdField}/{value}``
  ("SObject Rows by External ID");
* limits: 401 ``INVALID_SESSION_ID`` when the session expired (a new JWT bearer exchange);
  403 ``REQUEST_LIMIT_EXCEEDED`` when the org's daily allocation is used up ("Status Codes
  and Error Responses"); ``GET /limits`` is the cheap authenticated probe.

* large reads (``bulk_changes``, when the function's ``SOURCE_BULK_QUERY`` says so): one
  Bulk API 2.0 query job for the whole window (``POST /jobs/query``; polled with ``GET
  /jobs/query/{id}`` until ``JobComplete``, ``Failed`` or ``Aborted`` end it), its results
  read ``maxRecords`` at a time as CSV, each next page named by the ``Sforce-Locator``
  header (``null`` after the last) ("Bulk API 2.0 Query", Bulk API 2.0 and Bulk API
  Developer Guide, v62.0). Bulk queries take no ORDER BY or LIMIT, so a page is in no order:
  the caller commits its watermark at the end of the window, and records the job id and the
  locator of each next page so a run that dies resumes the same job. CSV carries every value
  as text: one ``GET /sobjects/{SObject}/describe`` per job types them as REST would.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, chunks
from integration_sync.connectors.window import iso, parse_time
from integration_sync.errors import PermanentError

API_VERSION = "v62.0"
PREFIX = f"/services/data/{API_VERSION}"
# sObject Collections take at most 200 records per request.
COLLECTION_LIMIT = 200
# SOQL statements may be 100,000 characters long; 100 quoted ids stay far below it.
LOOKUP_CHUNK = 100
# Bulk API 2.0 result pages (maxRecords; roadmap.budget.BULK_RESULT_PAGE plans with it).
BULK_RESULT_PAGE = 10_000
BULK_POLL_SECONDS = 2.0
BULK_DONE = ("JobComplete", "Failed", "Aborted")


@dataclass(frozen=True)
class BulkPage:
    """One page of a Bulk API 2.0 query job's results, and where the next one starts."""

    job_id: str
    locator: str  # the locator this page was read at ("" for the first)
    next_locator: str  # "" after the last page
    records: list[SourceRecord]


class SalesforceConnector(Connector):
    name = "salesforce"
    max_batch = COLLECTION_LIMIT
    poll_seconds = BULK_POLL_SECONDS

    def authenticate(self) -> None:
        self.api.request("GET", f"{PREFIX}/limits", ok=(200,))

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        fields = ["Id", "SystemModstamp"] + [
            f for f in self.source_fields(obj) if f not in ("Id", "SystemModstamp")
        ]
        start, end = iso(parse_time(since)), iso(parse_time(until))
        keyset = (
            f"(SystemModstamp > {start} OR (SystemModstamp = {start} AND Id > {_quote(after_id)}))"
            if after_id
            else f"SystemModstamp >= {start}"
        )
        soql = (
            f"SELECT {', '.join(fields)} FROM {obj} WHERE {keyset} AND SystemModstamp < {end} "
            f"ORDER BY SystemModstamp, Id LIMIT {int(limit)}"
        )
        rows = self._query(soql)
        return [
            SourceRecord(
                id=str(row["Id"]),
                modified_at=iso(parse_time(row["SystemModstamp"])),
                data={k: v for k, v in row.items() if k != "attributes"},
            )
            for row in rows
        ]

    def bulk_changes(
        self,
        obj: str,
        *,
        since: str,
        until: str,
        resume: tuple[str, str] | None = None,
        on_job: Callable[[str], None] = lambda job_id: None,
    ) -> Iterator[BulkPage]:
        """Records changed in ``[since, until)`` through one Bulk API 2.0 query job, a page at
        a time; ``resume`` (job id, locator) reads on in a job an earlier run created, and
        ``on_job`` hears a new job's id before anything is read from it."""
        if resume is None:
            fields = ["Id", "SystemModstamp"] + [
                f for f in self.source_fields(obj) if f not in ("Id", "SystemModstamp")
            ]
            start, end = iso(parse_time(since)), iso(parse_time(until))
            soql = (
                f"SELECT {', '.join(fields)} FROM {obj} "
                f"WHERE SystemModstamp >= {start} AND SystemModstamp < {end}"
            )
            created = self.api.request(
                "POST", f"{PREFIX}/jobs/query", json={"operation": "query", "query": soql}
            ).json()
            job_id, locator = str(created["id"]), ""
            on_job(job_id)
        else:
            job_id, locator = resume
        self._await_job(job_id)
        types = self._field_types(obj)
        while True:
            params = {"maxRecords": str(BULK_RESULT_PAGE)}
            if locator:
                params["locator"] = locator
            answer = self.api.request(
                "GET", f"{PREFIX}/jobs/query/{job_id}/results", params=params, ok=(200,)
            )
            following = answer.headers.get("Sforce-Locator") or "null"
            next_locator = "" if following == "null" else following
            rows = csv.DictReader(io.StringIO(answer.text))
            records = [
                SourceRecord(
                    id=row["Id"],
                    modified_at=iso(parse_time(row["SystemModstamp"])),
                    data={k: _typed(v, types.get(k, "string")) for k, v in row.items()},
                )
                for row in rows
            ]
            yield BulkPage(job_id, locator, next_locator, records)
            if not next_locator:
                return
            locator = next_locator

    def _field_types(self, obj: str) -> dict[str, str]:
        """Each field's type ("Describe an Object"): CSV carries every value as text."""
        answer = self.api.request("GET", f"{PREFIX}/sobjects/{obj}/describe", ok=(200,)).json()
        return {str(f["name"]): str(f.get("type", "string")) for f in answer.get("fields", [])}

    def _await_job(self, job_id: str) -> None:
        while True:
            job = self.api.request("GET", f"{PREFIX}/jobs/query/{job_id}", ok=(200,)).json()
            state = job.get("state")
            if state == "JobComplete":
                return
            if state in BULK_DONE:
                raise PermanentError(
                    f"Bulk API 2.0 query job {job_id} ended {state}: {job.get('errorMessage')}",
                    reason="bulk_job_failed",
                )
            time.sleep(self.poll_seconds)

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        path = f"{PREFIX}/composite/sobjects/{quote(obj, safe='')}/{quote(external_id_field)}"
        for batch in chunks(records, COLLECTION_LIMIT):
            body = {
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": obj}, **fields, external_id_field: external_id}
                    for external_id, fields in batch
                ],
            }
            answer = self.api.request("PATCH", path, json=body, ok=(200,)).json()
            for (external_id, _), item in zip(batch, answer, strict=True):
                if item.get("success"):
                    status = 201 if item.get("created") else 200
                    results.append(WriteResult(external_id, True, status))
                else:
                    errors = "; ".join(
                        f"{e.get('statusCode')}: {e.get('message')}" for e in item.get("errors", [])
                    )
                    results.append(WriteResult(external_id, False, 400, errors))
        return results

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        path = "/".join(quote(p, safe="") for p in (obj, external_id_field, external_id))
        return self.api.request(
            "DELETE", f"{PREFIX}/sobjects/{path}", ok=(200, 204, 404)
        ).status_code

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        fields = self.target_fields(obj, external_id_field)
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, LOOKUP_CHUNK):
            values = ", ".join(_quote(i) for i in chunk)
            soql = f"SELECT {', '.join(fields)} FROM {obj} WHERE {external_id_field} IN ({values})"
            found += [{k: v for k, v in r.items() if k != "attributes"} for r in self._query(soql)]
        return found

    def _query(self, soql: str) -> list[dict[str, Any]]:
        answer = self.api.request("GET", f"{PREFIX}/query", params={"q": soql}, ok=(200,)).json()
        rows = list(answer.get("records", []))
        while not answer.get("done", True) and answer.get("nextRecordsUrl"):
            answer = self.api.request("GET", answer["nextRecordsUrl"], ok=(200,)).json()
            rows += answer.get("records", [])
        return rows


_NUMBERS = {"double": float, "currency": float, "percent": float, "int": int, "long": int}


def _typed(value: str, kind: str) -> Any:
    """A CSV value as REST's JSON would carry it: empty is null, numbers and booleans typed."""
    if value == "":
        return None
    if kind in _NUMBERS:
        return _NUMBERS[kind](value)
    if kind == "boolean":
        return value.lower() == "true"
    return value


def _quote(value: str) -> str:
    """A SOQL string literal (SOQL reference, "Quoted String Escape Sequences")."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
