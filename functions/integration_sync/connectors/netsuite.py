"""NetSuite: REST web services, record API v1 and SuiteQL (NetSuite 2025.1 help center).

* writes: ``PUT /services/rest/record/v1/{type}/eid:{externalId}`` creates or updates the
  record with that external id ("Using the Upsert Operation",
  https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html);
  the answer is 204 either way; ``DELETE`` on the same path deletes;
* reads: ``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``Prefer: transient``
  and ``{"q": "SELECT ... WHERE lastmodifieddate ..."}``; the answer carries ``items`` and
  ``hasMore`` ("Executing SuiteQL Queries Through REST Web Services"); SuiteQL returns
  column names in lower case, mapped back to the roadmap's spelling here;
* errors: ``{"o:errorDetails": [{"detail", "o:errorCode"}]}``; 429 when the account's
  concurrency limit is reached; 401 when the OAuth 2.0 access token expired.

SuiteQL compares and prints ``lastmodifieddate`` in the integration role's time zone: set
that role's preference to UTC, as the watermark is UTC.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integration_sync.connectors.base import (
    Connector,
    SourceRecord,
    WriteResult,
    chunks,
    one_by_one,
)
from integration_sync.connectors.window import parse_time

RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
# SuiteQL returns at most 1,000 rows per page.
SUITEQL_PAGE = 1000
LOOKUP_CHUNK = 100
_TIME = "YYYY-MM-DD HH24:MI:SS"


class NetSuiteConnector(Connector):
    name = "netsuite"

    def authenticate(self) -> None:
        self._suiteql("SELECT 1 AS ok FROM dual", limit=1)

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        mapped = self.source_fields(obj)
        fields = [f for f in mapped if f.lower() != "id"]
        start, end = _timestamp(since), _timestamp(until)
        keyset = (
            f"(lastmodifieddate > {start} OR (lastmodifieddate = {start} AND id > {int(after_id)}))"
            if after_id.isdigit()
            else f"lastmodifieddate >= {start}"
        )
        columns = ", ".join(["id", f"TO_CHAR(lastmodifieddate, '{_TIME}') AS modified", *fields])
        rows = self._suiteql(
            f"SELECT {columns} FROM {obj} WHERE {keyset} AND lastmodifieddate < {end} "
            "ORDER BY lastmodifieddate, id",
            limit=min(limit, SUITEQL_PAGE),
        )
        return [
            SourceRecord(
                id=str(row["id"]),
                modified_at=parse_time(str(row["modified"]).replace(" ", "T") + "Z").strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                # The id under the mapping's spelling too (a mapping may read it as `Id`).
                data={"id": row["id"], **_spelled(row, mapped)},
            )
            for row in rows
        ]

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        def put(external_id: str, body: dict[str, Any]) -> int:
            path = _record_path(obj, external_id)
            return self.api.request("PUT", path, json=body, ok=(200, 204)).status_code

        return one_by_one(records, put)

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        return self.api.request(
            "DELETE", _record_path(obj, external_id), ok=(200, 204, 404)
        ).status_code

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        fields = self.target_fields(obj, external_id_field)
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, LOOKUP_CHUNK):
            values = ", ".join(_literal(i) for i in chunk)
            rows = self._suiteql(
                f"SELECT {', '.join(fields)} FROM {obj} WHERE externalid IN ({values})",
                limit=SUITEQL_PAGE,
            )
            found += [_spelled(row, fields) for row in rows]
        return found

    def _suiteql(self, query: str, *, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            answer = self.api.request(
                "POST",
                SUITEQL,
                params={"limit": str(limit), "offset": str(offset)},
                json={"q": query},
                headers={"Prefer": "transient"},
                ok=(200,),
            ).json()
            items = answer.get("items", [])
            rows += [{k: v for k, v in item.items() if k != "links"} for item in items]
            if not answer.get("hasMore") or len(rows) >= limit or not items:
                return rows[:limit]
            offset += len(items)


def _record_path(obj: str, external_id: str) -> str:
    return f"{RECORD}/{quote(obj, safe='')}/eid:{quote(external_id, safe='')}"


def _timestamp(value: str) -> str:
    moment = parse_time(value).strftime("%Y-%m-%d %H:%M:%S")
    return f"TO_TIMESTAMP('{moment}', '{_TIME}')"


def _literal(value: str) -> str:
    escaped = value.replace("'", "''")
    return f"'{escaped}'"


def _spelled(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """SuiteQL's lower-case columns under the names the mapping uses (tranid -> tranId)."""
    lowered = {k.lower(): v for k, v in row.items()}
    return {f: lowered[f.lower()] for f in fields if f.lower() in lowered}
