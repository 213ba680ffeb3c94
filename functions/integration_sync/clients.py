"""Small HTTP clients for the source and target APIs, with bounded, polite retries.

Both sides speak one REST shape (the systems' own APIs or the middleware facade in front):

* target upsert by external id: ``PATCH {base}/{object}/{external_id_field}/{external_id}``
  with the mapped fields as JSON (the same shape as Salesforce's
  ``/services/data/vXX.X/sobjects/{object}/{field}/{value}`` upsert), delete with ``DELETE``;
  both are idempotent, so a retried or duplicated write changes nothing;
* target lookup for reconciliation: ``GET {base}/{object}?field={external_id_field}&ids=a,b``
  -> ``{"records": [{...}]}``;
* source changes: ``GET {base}/{object}/changes?since=&after_id=&until=&limit=``
  -> ``{"records": [{"id", "modified_at", "data": {...}}]}`` ordered by ``(modified_at, id)``.

Example::

    api = ApiClient(settings.target_base_url, auth=SecretAuth(arn), on_call=count_call)
    TargetApi(api).upsert("invoice", "Reference", "801xx0000004C9zAAE", {"Total": 1200.0})
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from integration_sync.credentials import SecretAuth
from integration_sync.errors import PermanentError, TargetRejected, TransientError

# (connect, read) seconds: connect slightly above a TCP retransmit window of 3 s
# (requests docs, "Timeouts"); read well inside the consumer's 60 s Lambda timeout.
DEFAULT_TIMEOUT = (3.05, 10.0)
DEFAULT_MAX_ATTEMPTS = 4
# Never wait longer than this for one Retry-After inside an invocation: beyond it SQS
# redelivery (after the visibility timeout) is the cheaper wait.
MAX_RETRY_AFTER_SECONDS = 20.0
# Stop retrying when less than this remains of the Lambda's time: the record is then
# reported as a batch item failure and retried by SQS instead of timing out the whole batch.
DEADLINE_MARGIN_SECONDS = 5.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Salesforce answers 403 REQUEST_LIMIT_EXCEEDED when the org's daily API allocation is used
# up (REST API Developer Guide, "Status Codes and Error Responses"): wait, do not dead-letter.
SALESFORCE_LIMIT_ERROR = "REQUEST_LIMIT_EXCEEDED"
PERMANENT_STATUS = frozenset({400, 404, 405, 409, 410, 413, 415, 422})


class ApiClient:
    """requests.Session wrapper: auth, retries with backoff, Retry-After and an API call count."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: SecretAuth | None = None,
        on_call: Callable[[], None] | None = None,
        remaining_seconds: Callable[[], float] | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.on_call = on_call
        self.remaining_seconds = remaining_seconds
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        ok: Iterable[int] = (200, 201, 204),
        headers: dict[str, str] | None = None,
        signal: Callable[[requests.Response], str | None] | None = None,
        data: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one logical request; raise TransientError or PermanentError when it fails.

        ``signal`` reads vendor signals an HTTP status does not carry (a GraphQL 200 whose
        body says THROTTLED, a Marketo 200 with error 606): it returns ``"throttled"`` (wait
        and retry; ``"throttled:2.5"`` says how long), ``"exhausted"`` (a daily quota: leave
        it to SQS), ``"unauthorized"`` (refresh the credential once) or None. ``data`` sends
        a form body instead of JSON.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        accepted = frozenset(ok)
        refreshed = False
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            sent = {
                **(self.auth.headers(method, url, params) if self.auth else {}),
                **(headers or {}),
            }
            if self.on_call:
                self.on_call()
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    data=data,
                    params=params,
                    headers=sent,
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                last = f"{method} {path}: {type(exc).__name__}"
                self._backoff(attempt, None, last)
                continue
            status = response.status_code
            verdict = signal(response) if signal else None
            if status in accepted and verdict is None:
                return response
            last = f"{method} {path}: HTTP {status} {response.text[:200]}"
            if verdict and verdict.startswith("throttled"):
                wait = verdict.partition(":")[2] or response.headers.get("Retry-After")
                self._backoff(attempt, wait, last)
                continue
            if verdict == "exhausted":
                raise TransientError(f"{last}; the daily quota is used up, leaving it to SQS")
            if (status == 401 or verdict == "unauthorized") and self.auth and not refreshed:
                # Credentials may have rotated since they were cached: re-read once.
                refreshed = True
                self.auth.refresh()
                continue
            if status in RETRYABLE_STATUS or (
                status == 403 and SALESFORCE_LIMIT_ERROR in response.text
            ):
                self._backoff(attempt, response.headers.get("Retry-After"), last)
                continue
            if status in (401, 403) or verdict == "unauthorized":
                raise TransientError(last, reason="unauthorized")
            if status in PERMANENT_STATUS:
                raise TargetRejected(last)
            raise PermanentError(last, reason=f"http_{status}")
        raise TransientError(f"gave up after {self.max_attempts} attempts; last: {last}")

    def _backoff(self, attempt: int, retry_after: str | None, last: str) -> None:
        if attempt >= self.max_attempts:
            return
        wait = _retry_after_seconds(retry_after)
        if wait is None:
            # Exponential backoff with full jitter (AWS Architecture Blog,
            # "Exponential Backoff And Jitter"): 0.2 s, 0.4 s, 0.8 s ... capped at 5 s.
            wait = random.uniform(0, min(5.0, 0.2 * 2 ** (attempt - 1)))
        if wait > MAX_RETRY_AFTER_SECONDS:
            raise TransientError(f"{last}; asked to wait {wait:.0f}s, leaving it to SQS")
        if self.remaining_seconds and self.remaining_seconds() - wait < DEADLINE_MARGIN_SECONDS:
            raise TransientError(f"{last}; no time left in this invocation to wait {wait:.1f}s")
        self.sleep(wait)


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse Retry-After: delay-seconds or an HTTP-date (RFC 9110, section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)  # delay-seconds, or a vendor's fractional wait (Shopify cost)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds):
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class TargetApi:
    """Idempotent writes into the target, keyed by external id."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def upsert(
        self, obj: str, external_id_field: str, external_id: str, body: dict[str, Any]
    ) -> int:
        """Create or update one record; returns the HTTP status (201 created, 200/204 updated)."""
        response = self.api.request(
            "PATCH", _record_path(obj, external_id_field, external_id), json=body
        )
        return response.status_code

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        """Delete one record; an already missing record counts as deleted."""
        path = _record_path(obj, external_id_field, external_id)
        return self.api.request("DELETE", path, ok=(200, 204, 404)).status_code

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        """Fetch target records whose external id is in ``ids`` (chunked to keep URLs short)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            params = {"field": external_id_field, "ids": ",".join(chunk)}
            response = self.api.request("GET", quote(obj, safe=""), params=params, ok=(200,))
            found.extend(response.json().get("records", []))
        return found


# 100 ids of up to ~18 characters keep the query string under 2 KB, well below the 8 KB
# request-line limits common to HTTP servers and API gateways.
LOOKUP_CHUNK = 100


@dataclass(frozen=True)
class SourceRecord:
    """One changed record from a source feed."""

    id: str
    modified_at: str
    data: dict[str, Any]


class SourceApi:
    """Keyset-paged change feed: every page starts strictly after the last record read."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        """Records with ``(modified_at, id) > (since, after_id)`` and ``modified_at < until``."""
        params = {"since": since, "after_id": after_id, "until": until, "limit": str(limit)}
        response = self.api.request(
            "GET", f"{quote(obj, safe='')}/changes", params=params, ok=(200,)
        )
        records = response.json().get("records")
        if not isinstance(records, list):
            raise PermanentError(
                f"source feed for {obj} returned no 'records' list", reason="schema_mismatch"
            )
        return [
            SourceRecord(
                id=str(r["id"]), modified_at=str(r["modified_at"]), data=dict(r.get("data") or {})
            )
            for r in records
        ]


def _record_path(obj: str, external_id_field: str, external_id: str) -> str:
    return "/".join(quote(part, safe="") for part in (obj, external_id_field, external_id))
