"""Fake Shopify store: the Admin GraphQL API 2025-07 as shopify.dev documents it.

* ``X-Shopify-Access-Token`` (401 ``[API] Invalid API key or access token``);
* ``POST /admin/api/2025-07/graphql.json`` with ``{"query", "variables"}``, answering the
  operations the connector sends: ``shop``, a connection ``(first, after, sortKey:
  UPDATED_AT, query: "updated_at:>='..' AND updated_at:<'..'")`` with ``edges``/``pageInfo``
  (``page_size`` a page), aliased ``{object}Set(identifier: {customId}, input)`` with
  ``userErrors``, aliased ``{object}ByIdentifier``, ``{object}Delete(input: {id})``;
* throttling: HTTP 200 with ``errors[].extensions.code`` ``THROTTLED`` and
  ``extensions.cost.throttleStatus`` (a 100-point query against 50 available at 50/s).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Answer, VendorFake, json_response

PATH = "/admin/api/2025-07/graphql.json"


class ShopifyFake(VendorFake):
    name = "shopify"
    issues = "api_key"

    page_size = 250
    id_format, id_offset = "{}", 7000000
    denied = Answer(401, {"errors": "[API] Invalid API key or access token"})
    # GraphQL answers a throttled query 200, with the cost it would have had.
    limited = Answer(
        200,
        {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": 100,
                    "actualQueryCost": None,
                    "throttleStatus": {
                        "maximumAvailable": 1000.0,
                        "currentlyAvailable": 50,
                        "restoreRate": 50.0,
                    },
                }
            },
        },
    )

    def public_id(self, obj: str, record_id: str) -> str:
        return _gid(obj.removesuffix("s"), record_id)

    def authorised(self, request: Request) -> bool:
        return request.headers.get("X-Shopify-Access-Token", "") in self.keys

    def route(self, request: Request, path: str) -> Response:
        if path != PATH or request.method != "POST":
            return json_response({"errors": "Not Found"}, 404)
        body = request.get_json(silent=True) or {}
        query, variables = str(body.get("query", "")), body.get("variables") or {}
        if query == "query { shop { name } }":
            return _data({"shop": {"name": "Northwind Outdoor"}})
        if m := re.search(
            r"\{ (\w+)\(first: \$first, after: \$after, sortKey: UPDATED_AT, query: \$query\) "
            r"\{ edges \{ node \{ id updatedAt (.*?) \} \} pageInfo",
            query,
        ):
            return self._connection(m.group(1), m.group(2).split(), variables)
        data: dict[str, Any] = {}
        if query.startswith("mutation Upsert("):
            for alias, singular, key, value in re.findall(
                r"(r\d+): (\w+)Set\(identifier: \$(k\d+), input: \$(i\d+)\)", query
            ):
                data[alias] = self._set(singular, variables[key]["customId"], variables[value])
            return _data(data)
        if query.startswith("query Lookup("):
            for alias, singular, key, fields in re.findall(
                r"(r\d+): (\w+)ByIdentifier\(identifier: \$(k\d+)\) \{ id (.*?) ?metafield", query
            ):
                custom = variables[key]["customId"]
                record = self.by_external_id(f"{singular}s", custom["value"])
                data[alias] = (
                    None
                    if record is None
                    else {
                        "id": _gid(singular, record.id),
                        **{f: record.fields.get(f) for f in fields.split()},
                        "metafield": {"value": record.external_id},
                    }
                )
            return _data(data)
        if m := re.search(r"(\w+)Delete\(input: \{id: \$id\}\)", query):
            record_id = str(variables["id"]).rsplit("/", 1)[-1]
            with self.lock:
                self.records.get(f"{m.group(1)}s", {}).pop(record_id, None)
            return _data({f"{m.group(1)}Delete": {"userErrors": []}})
        return json_response({"errors": [{"message": f"unexpected query: {query[:200]}"}]})

    def _connection(self, obj: str, fields: list[str], variables: dict[str, Any]) -> Response:
        low, high = re.findall(r"'([^']+)'", str(variables.get("query", "")))
        start, end = _time(low), _time(high)
        rows = sorted(
            (r for r in self.records.get(obj, {}).values() if start <= r.modified_at < end),
            key=lambda r: (r.modified_at, r.id),
        )
        offset = int(variables.get("after") or 0)
        size = min(int(variables.get("first", 50)), self.page_size)
        page = rows[offset : offset + size]
        singular = obj.removesuffix("s")
        edges = [
            {
                "cursor": str(offset + i + 1),
                "node": {
                    "id": _gid(singular, r.id),
                    "updatedAt": r.modified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    **{f: r.fields.get(f) for f in fields},
                },
            }
            for i, r in enumerate(page)
        ]
        more = offset + size < len(rows)
        return _data(
            {
                obj: {
                    "edges": edges,
                    "pageInfo": {"hasNextPage": more, "endCursor": str(offset + len(page))},
                }
            }
        )

    def _set(self, singular: str, custom: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
        obj, external_id = f"{singular}s", str(custom["value"])
        if self.refuses(obj, external_id):
            return {
                singular: None,
                "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
            }
        record, _ = self.write(obj, external_id, {custom["key"]: external_id, **values})
        return {singular: {"id": _gid(singular, record.id)}, "userErrors": []}


def _gid(singular: str, record_id: str) -> str:
    return f"gid://shopify/{singular[0].upper()}{singular[1:]}/{record_id}"


def _data(data: dict[str, Any]) -> Response:
    return json_response({"data": data, "extensions": {"cost": {"requestedQueryCost": 10}}})


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
