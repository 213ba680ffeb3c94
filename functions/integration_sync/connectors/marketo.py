"""Marketo Engage: REST API v1 with the identity service's OAuth 2.0 tokens.

* authentication: ``POST {base}/identity/oauth/token`` with the LaunchPoint service's
  ``client_id``/``client_secret`` (client credentials; the token lives an hour); the token
  goes in the ``Authorization: Bearer`` header, never the query string (query-string tokens
  are no longer accepted)
  (https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication);
* every answer is HTTP 200 with ``success`` and ``errors``: 601/602 (token invalid or
  expired) mean fetch a new token, 606/615 (100 calls in 20 s, 10 concurrent) mean wait,
  607 (daily quota) means stop for today;
* reads (leads): ``GET /rest/v1/activities/pagingtoken.json?sinceDatetime=`` then
  ``GET /rest/v1/activities/leadchanges.json?nextPageToken=&fields=`` while ``moreResult``,
  then the changed leads by id (``GET /rest/v1/leads.json?filterType=id&filterValues=``);
* writes: ``POST /rest/v1/leads.json`` with ``action: createOrUpdate`` and ``lookupField``
  (300 a call; custom objects ``/rest/v1/customobjects/{name}.json`` with ``dedupeBy``);
  each result is ``created``/``updated`` or ``skipped`` with its ``reasons``;
* lookups: ``GET /rest/v1/leads.json?filterType={field}&filterValues=``; deletes by Marketo
  id (``POST /rest/v1/leads/delete.json``) after such a lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from integration_sync.connectors.base import Connector, SourceRecord, WriteResult, chunks
from integration_sync.connectors.window import in_window, iso, parse_time
from integration_sync.credentials import SecretAuth
from integration_sync.errors import ConfigurationError, PermanentError

REST = "/rest/v1"
BATCH = 300
_UNAUTHORIZED = frozenset({"601", "602"})
_THROTTLED = frozenset({"606", "615"})
_EXHAUSTED = frozenset({"607"})
MAX_ACTIVITY_PAGES = 20


class MarketoConnector(Connector):
    name = "marketo"
    max_batch = BATCH

    def vendor_auth(self, auth: SecretAuth) -> SecretAuth:
        return _Identity(auth, self.api.base_url)

    def authenticate(self) -> None:
        self._call("GET", f"{REST}/leads/describe.json")

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        if obj != "leads":
            raise PermanentError(
                f"Marketo publishes changes of leads only, not {obj!r}", reason="unsupported"
            )
        fields = self.source_fields(obj)
        token = self._call(
            "GET", f"{REST}/activities/pagingtoken.json", {"sinceDatetime": iso(parse_time(since))}
        )["nextPageToken"]
        changed: dict[str, str] = {}
        for _ in range(MAX_ACTIVITY_PAGES):
            answer = self._call(
                "GET",
                f"{REST}/activities/leadchanges.json",
                {"nextPageToken": token, "fields": ",".join(fields)},
            )
            for activity in answer.get("result", []):
                lead = str(activity["leadId"])
                changed[lead] = max(
                    changed.get(lead, ""), iso(parse_time(activity["activityDate"]))
                )
            token = answer.get("nextPageToken", token)
            if not answer.get("moreResult"):
                break
        records: list[SourceRecord] = []
        for chunk in chunks(sorted(changed), BATCH):
            for found in self._leads("id", chunk, fields):
                records.append(SourceRecord(str(found["id"]), changed[str(found["id"])], found))
        return in_window(records, since=since, after_id=after_id, until=until, limit=limit)

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for batch in chunks(records, BATCH):
            body: dict[str, Any] = {
                "action": "createOrUpdate",
                "input": [{**fields, external_id_field: ext} for ext, fields in batch],
            }
            if obj == "leads":
                body["lookupField"] = external_id_field
                path = f"{REST}/leads.json"
            else:
                body["dedupeBy"] = "dedupeFields"
                path = f"{REST}/customobjects/{obj}.json"
            answer = self._call("POST", path, json=body)
            for (external_id, _), item in zip(batch, answer.get("result", []), strict=True):
                status = item.get("status")
                if status in ("created", "updated"):
                    results.append(
                        WriteResult(external_id, True, 201 if status == "created" else 200)
                    )
                else:
                    reasons = "; ".join(
                        f"{r.get('code')}: {r.get('message')}" for r in item.get("reasons", [])
                    )
                    results.append(WriteResult(external_id, False, 400, reasons or str(status)))
        return results

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        fields = self.target_fields(obj, external_id_field)
        found: list[dict[str, Any]] = []
        for chunk in chunks(ids, BATCH):
            found += self._leads(external_id_field, chunk, fields)
        return found

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        leads = self.lookup(obj, external_id_field, [external_id])
        if not leads:
            return 404
        self._call(
            "POST", f"{REST}/leads/delete.json", json={"input": [{"id": x["id"]} for x in leads]}
        )
        return 200

    def _leads(
        self, filter_type: str, values: list[str], fields: list[str]
    ) -> list[dict[str, Any]]:
        params = {
            "filterType": filter_type,
            "filterValues": ",".join(values),
            "fields": ",".join(dict.fromkeys(["id", *fields])),
        }
        return list(self._call("GET", f"{REST}/leads.json", params).get("result", []))

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        answer = self.api.request(
            method, path, params=params, json=json, ok=(200,), signal=_signal
        ).json()
        if not answer.get("success", False):
            errors = "; ".join(
                f"{e.get('code')}: {e.get('message')}" for e in answer.get("errors", [])
            )
            raise PermanentError(f"Marketo refused {method} {path}: {errors}", reason="rejected")
        return dict(answer)


def _signal(response: requests.Response) -> str | None:
    """Marketo answers 200 and puts the error code in the body."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("success", True):
        return None
    codes = {str(e.get("code")) for e in body.get("errors", [])}
    if codes & _UNAUTHORIZED:
        return "unauthorized"
    if codes & _THROTTLED:
        return "throttled"
    if codes & _EXHAUSTED:
        return "exhausted"
    return None


class _Identity(SecretAuth):
    """Tokens from the instance's identity service, cached until shortly before expiry."""

    def __init__(self, inner: SecretAuth, base_url: str) -> None:
        super().__init__(inner.secret_arn)
        self.inner = inner
        self.base_url = base_url

    def secret(self) -> dict[str, Any]:
        return self.inner.secret()

    def refresh(self) -> None:
        super().refresh()
        self.inner.refresh()

    def headers(
        self, method: str = "GET", url: str = "", params: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        token = self._cached_token()
        if token is None:
            secret = self.secret()
            try:
                data = {
                    "grant_type": "client_credentials",
                    "client_id": str(secret["client_id"]),
                    "client_secret": str(secret["client_secret"]),
                }
            except KeyError as exc:
                raise ConfigurationError(f"secret {self.secret_arn} lacks {exc}") from exc
            identity = str(secret.get("identity_url") or f"{self.base_url}/identity")
            token = self._token_exchange(f"{identity.rstrip('/')}/oauth/token", data)
        return {"Authorization": f"Bearer {token}"}
