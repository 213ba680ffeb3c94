"""Shopify: Admin GraphQL API 2025-07 (``POST /admin/api/2025-07/graphql.json``).

* authentication: a custom app's Admin API access token in ``X-Shopify-Access-Token``;
* rate limits are by calculated query cost: a throttled call answers 200 with
  ``errors[].extensions.code == "THROTTLED"`` and ``extensions.cost.throttleStatus``
  (``currentlyAvailable``, ``restoreRate``); the wait is the missing points divided by the
  restore rate (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits);
* reads: the object's connection (``orders``, ``products``, ``customers``) with
  ``sortKey: UPDATED_AT``, ``query: "updated_at:>='...' AND updated_at:<'...'"``, up to 250
  a page, cursor paging by ``pageInfo.endCursor``;
* writes: ``{object}Set`` mutations identified by a unique metafield
  (``identifier: {customId: {namespace: "integration", key, value}}``), several aliased in
  one request, each answering its own ``userErrors``; the metafield definition
  ``integration.<external id field>`` must exist in the shop with unique values;
* lookups: ``{object}ByIdentifier`` with the same identifier; deletes by the Shopify id so
  found (``{object}Delete(input: {id})``).
"""

from __future__ import annotations

from typing import Any

import requests

from integration_sync.connectors.base import (
    Connector,
    HeaderAuth,
    SourceRecord,
    WriteResult,
    chunks,
)
from integration_sync.connectors.window import gather, iso, parse_time
from integration_sync.credentials import SecretAuth
from integration_sync.errors import PermanentError

PATH = "/admin/api/2025-07/graphql.json"
NAMESPACE = "integration"
# Aliased mutations per request: each costs about 10 points of a 1,000-point bucket.
ALIASES = 25
PAGE = 250


class ShopifyConnector(Connector):
    name = "shopify"
    max_batch = ALIASES

    def vendor_auth(self, auth: SecretAuth) -> SecretAuth:
        return HeaderAuth(auth, _token_header)

    def authenticate(self) -> None:
        self._graphql("query { shop { name } }", {})

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        fields = [f for f in self.source_fields(obj) if f not in ("id", "updatedAt")]
        query = (
            f"query Changes($first: Int!, $after: String, $query: String) {{ {obj}(first: "
            "$first, after: $after, sortKey: UPDATED_AT, query: $query) { edges { node { id "
            f"updatedAt {_selection(fields)} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        window = (
            f"updated_at:>='{iso(parse_time(since))}' AND updated_at:<'{iso(parse_time(until))}'"
        )

        def pages() -> Any:
            variables: dict[str, Any] = {"first": min(limit, PAGE), "after": None, "query": window}
            while True:
                connection = self._graphql(query, variables)[obj]
                yield [
                    SourceRecord(
                        str(e["node"]["id"]), iso(parse_time(e["node"]["updatedAt"])), e["node"]
                    )
                    for e in connection["edges"]
                ]
                if not connection["pageInfo"]["hasNextPage"]:
                    return
                variables["after"] = connection["pageInfo"]["endCursor"]

        return gather(pages(), since=since, after_id=after_id, until=until, limit=limit)

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        singular = obj.removesuffix("s")
        kind = singular[0].upper() + singular[1:]
        results: list[WriteResult] = []
        for batch in chunks(records, ALIASES):
            declared, calls, variables = [], [], {}
            for n, (external_id, body) in enumerate(batch):
                declared += [f"$i{n}: {kind}SetInput!", f"$k{n}: {kind}SetIdentifiers!"]
                calls.append(
                    f"r{n}: {singular}Set(identifier: $k{n}, input: $i{n}) "
                    f"{{ {singular} {{ id }} userErrors {{ field message }} }}"
                )
                variables[f"i{n}"] = body
                variables[f"k{n}"] = _identifier(external_id_field, external_id)
            data = self._graphql(
                f"mutation Upsert({', '.join(declared)}) {{ {' '.join(calls)} }}", variables
            )
            for n, (external_id, _) in enumerate(batch):
                errors = data[f"r{n}"]["userErrors"]
                if errors:
                    message = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
                    results.append(WriteResult(external_id, False, 422, message))
                else:
                    results.append(WriteResult(external_id, True, 200))
        return results

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        singular = obj.removesuffix("s")
        kind = singular[0].upper() + singular[1:]
        fields = [f for f in self.target_fields(obj, external_id_field) if f != external_id_field]
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, ALIASES):
            declared = [f"$k{n}: {kind}IdentifierInput!" for n in range(len(chunk))]
            calls = [
                f"r{n}: {singular}ByIdentifier(identifier: $k{n}) {{ id {_selection(fields)} "
                f'metafield(namespace: "{NAMESPACE}", key: "{external_id_field}") {{ value }} }}'
                for n in range(len(chunk))
            ]
            variables = {f"k{n}": _identifier(external_id_field, i) for n, i in enumerate(chunk)}
            data = self._graphql(
                f"query Lookup({', '.join(declared)}) {{ {' '.join(calls)} }}", variables
            )
            for n in range(len(chunk)):
                node = data.get(f"r{n}")
                if node:
                    found.append({external_id_field: node["metafield"]["value"], **node})
        return found

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        singular = obj.removesuffix("s")
        found = self.lookup(obj, external_id_field, [external_id])
        for node in found:
            self._graphql(
                f"mutation Delete($id: ID!) {{ {singular}Delete(input: {{id: $id}}) "
                "{ userErrors { field message } } }",
                {"id": node["id"]},
            )
        return 200 if found else 404

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.request(
            "POST", PATH, json={"query": query, "variables": variables}, ok=(200,), signal=_throttle
        ).json()
        if answer.get("errors"):
            raise PermanentError(f"Shopify GraphQL errors: {answer['errors']}", reason="rejected")
        return dict(answer["data"])


def _throttle(response: requests.Response) -> str | None:
    """THROTTLED in the body: wait for the missing points at the bucket's restore rate."""
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors
    ):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    missing = float(cost.get("requestedQueryCost") or 0) - float(
        status.get("currentlyAvailable") or 0
    )
    rate = float(status.get("restoreRate") or 50.0)
    return f"throttled:{max(missing, 0.0) / rate:.2f}"


def _identifier(field: str, value: str) -> dict[str, Any]:
    return {"customId": {"namespace": NAMESPACE, "key": field, "value": value}}


def _selection(fields: list[str]) -> str:
    """GraphQL selection of top-level and dotted fields (``a.b`` -> ``a { b }``)."""
    parts: dict[str, list[str]] = {}
    for field in fields:
        head, _, rest = field.partition(".")
        parts.setdefault(head, [])
        if rest:
            parts[head].append(rest)
    return " ".join(f"{h} {{ {_selection(sub)} }}" if sub else h for h, sub in parts.items())


def _token_header(secret: dict[str, Any]) -> dict[str, str] | None:
    if secret.get("kind") != "api_key":
        return None
    return {"X-Shopify-Access-Token": str(secret.get("api_key") or secret.get("key"))}
