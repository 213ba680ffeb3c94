"""Snowflake: SQL API v2 (``/api/v2/statements``), as the Snowflake SQL API reference documents.

* authentication: ``Authorization: Bearer`` with ``X-Snowflake-Authorization-Token-Type``
  ``KEYPAIR_JWT`` (a key-pair JWT) or ``OAUTH`` (an OAuth access token);
* every statement is ``POST /api/v2/statements?requestId={uuid}&retry=true`` with
  ``{"statement", "timeout", "database", "schema", "warehouse", "role", "bindings"}``
  (positional ``?`` bound as ``{"1": {"type": "TEXT", "value": ...}}``); resubmitting the
  same ``requestId`` with ``retry=true`` does not run it twice; 202 means still running (poll
  ``statementStatusUrl``); results come in ``partitionInfo`` partitions, the first inline,
  the others by ``GET /api/v2/statements/{handle}?partition=N``; values are strings
  (https://docs.snowflake.com/en/developer-guide/sql-api/reference);
* reads: ``SELECT`` on the table's ``ID`` and ``UPDATED_AT`` columns (the change column a
  table must carry to be read incrementally) in the keyset window;
* writes: one ``MERGE`` by the external id column per batch; a statement fails as a whole,
  so a refused batch is retried record by record to find the record Snowflake refuses;
* errors: 422 with ``code``/``message``/``sqlState``; 401 ``390318`` when the token expired;
  429 when throttled.

Unquoted identifiers are upper-cased by Snowflake; columns come back in upper case and are
given back under the mapping's spelling.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, chunks
from integration_sync.connectors.window import iso, parse_time
from integration_sync.errors import ConfigurationError, TargetRejected, TransientError

STATEMENTS = "/api/v2/statements"
ID_COLUMN = "ID"
CHANGE_COLUMN = "UPDATED_AT"
# One MERGE of 200 rows keeps the statement and its bindings small.
MERGE_BATCH = 200
LOOKUP_CHUNK = 200
STATEMENT_TIMEOUT_SECONDS = 60
POLL_SECONDS = 1.0
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")


class SnowflakeConnector(Connector):
    name = "snowflake"
    max_batch = MERGE_BATCH

    def authenticate(self) -> None:
        self._execute("SELECT 1", [])

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        mapped = self.source_fields(obj)
        fields = [f for f in mapped if f.upper() not in (ID_COLUMN, CHANGE_COLUMN)]
        columns = ", ".join(
            [
                ID_COLUMN,
                f'TO_VARCHAR({CHANGE_COLUMN}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')',
                *map(_ident, fields),
            ]
        )
        start, end = iso(parse_time(since)), iso(parse_time(until))
        rows = self._execute(
            f"SELECT {columns} FROM {_ident(obj)} WHERE ({CHANGE_COLUMN} > TO_TIMESTAMP_NTZ(?) "
            f"OR ({CHANGE_COLUMN} = TO_TIMESTAMP_NTZ(?) AND {ID_COLUMN} > ?)) "
            f"AND {CHANGE_COLUMN} < TO_TIMESTAMP_NTZ(?) "
            f"ORDER BY {CHANGE_COLUMN}, {ID_COLUMN} LIMIT {int(limit)}",
            [start, start, after_id, end],
        )
        return [
            SourceRecord(
                id=str(row[0]),
                modified_at=str(row[1]),
                data=_spelled(mapped, [ID_COLUMN, CHANGE_COLUMN, *fields], row),
            )
            for row in rows
        ]

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for batch in chunks(records, MERGE_BATCH):
            try:
                self._merge(obj, external_id_field, batch)
                results += [WriteResult(external_id, True, 200) for external_id, _ in batch]
            except TargetRejected as err:
                if len(batch) == 1:
                    results.append(WriteResult(batch[0][0], False, 422, err.detail))
                    continue
                for record in batch:  # the statement failed as a whole: find the culprit
                    results += self.upsert_many(obj, external_id_field, [record])
        return results

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        self._execute(
            f"DELETE FROM {_ident(obj)} WHERE {_ident(external_id_field)} = ?", [external_id]
        )
        return 200

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        fields = self.target_fields(obj, external_id_field)
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, LOOKUP_CHUNK):
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                f"SELECT {', '.join(map(_ident, fields))} FROM {_ident(obj)} "
                f"WHERE {_ident(external_id_field)} IN ({marks})",
                list(chunk),
            )
            found += [dict(zip(fields, row, strict=True)) for row in rows]
        return found

    def _merge(self, obj: str, key: str, batch: list[tuple[str, dict[str, Any]]]) -> None:
        columns = sorted({f for _, body in batch for f in body} - {key})
        values = ", ".join("(?, ?)" for _ in batch)
        source = f"SELECT $1 AS K, PARSE_JSON($2) AS DOC FROM VALUES {values}"
        update = ", ".join(f"{_ident(c)} = {_doc(c)}" for c in columns)
        inserted = ", ".join([_ident(key), *map(_ident, columns)])
        inserts = ", ".join(["S.K", *map(_doc, columns)])
        statement = (
            f"MERGE INTO {_ident(obj)} T USING ({source}) S ON T.{_ident(key)} = S.K "
            + (f"WHEN MATCHED THEN UPDATE SET {update} " if columns else "")
            + f"WHEN NOT MATCHED THEN INSERT ({inserted}) VALUES ({inserts})"
        )
        bindings: list[str] = []
        for external_id, body in batch:
            bindings += [external_id, json.dumps(body, sort_keys=True)]
        self._execute(statement, bindings)

    def _execute(self, statement: str, bindings: list[str]) -> list[list[Any]]:
        secret = self.api.auth.secret() if self.api.auth else {}
        token_type = "KEYPAIR_JWT" if secret.get("kind") == "snowflake_key_pair" else "OAUTH"
        headers = {"X-Snowflake-Authorization-Token-Type": token_type, "Accept": "application/json"}
        body: dict[str, Any] = {
            "statement": statement,
            "timeout": STATEMENT_TIMEOUT_SECONDS,
            "bindings": {
                str(i): {"type": "TEXT", "value": value} for i, value in enumerate(bindings, 1)
            },
        }
        for context in ("database", "schema", "warehouse", "role"):
            if secret.get(context):
                body[context] = str(secret[context])
        params = {"requestId": str(uuid.uuid4()), "retry": "true"}
        response = self.api.request(
            "POST", STATEMENTS, params=params, json=body, headers=headers, ok=(200, 202)
        )
        answer = response.json()
        deadline = time.monotonic() + STATEMENT_TIMEOUT_SECONDS
        while response.status_code == 202:
            if time.monotonic() > deadline:
                raise TransientError(
                    f"Snowflake statement {answer.get('statementHandle')} still running"
                )
            self.api.sleep(POLL_SECONDS)
            response = self.api.request(
                "GET", answer["statementStatusUrl"], headers=headers, ok=(200, 202)
            )
            answer = response.json()
        rows = list(answer.get("data") or [])
        meta = answer.get("resultSetMetaData") or {}
        partitions = meta.get("partitionInfo") or []
        for partition in range(1, len(partitions)):
            rows += (
                self.api.request(
                    "GET",
                    f"{STATEMENTS}/{answer['statementHandle']}",
                    params={"partition": str(partition)},
                    headers=headers,
                    ok=(200,),
                )
                .json()
                .get("data", [])
            )
        return [_typed(row, meta.get("rowType") or []) for row in rows]


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ConfigurationError(
            f"{name!r} is not a plain Snowflake identifier (letters, digits, _ and $); rename "
            "the mapping's table or column"
        )
    return name.upper()


def _doc(name: str) -> str:
    """The JSON document's member as sent (variant paths are case-sensitive)."""
    _ident(name)
    return f'S.DOC:"{name}"'


def _typed(row: list[Any], types: list[dict[str, Any]]) -> list[Any]:
    """The row's values (the SQL API sends every one as a string) as the column's type in
    ``resultSetMetaData.rowType`` says: numbers for ``fixed`` and ``real``, booleans for
    ``boolean``, the rest as sent
    (https://docs.snowflake.com/en/developer-guide/sql-api/handling-responses)."""
    return [
        _value(value, (types[i].get("type") or "").lower() if i < len(types) else "")
        for i, value in enumerate(row)
    ]


def _value(value: Any, kind: str) -> Any:
    if not isinstance(value, str):
        return value
    if kind == "fixed":
        return int(value) if re.fullmatch(r"-?\d+", value) else float(value)
    if kind == "real":
        return float(value)
    if kind == "boolean":
        return value.lower() == "true"
    return value


def _spelled(mapped: list[str], columns: list[str], row: list[Any]) -> dict[str, Any]:
    """The row's values under the mapping's spelling of each column it reads, the ID and
    UPDATED_AT columns included (a mapping may read the id as `Id` or `id`)."""
    by_column = {column.upper(): value for column, value in zip(columns, row, strict=True)}
    return {f: by_column[f.upper()] for f in mapped if f.upper() in by_column}
