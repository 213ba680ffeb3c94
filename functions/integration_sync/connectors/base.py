"""The interface every connector implements, and the helpers its writes share.

Reading by keyset window (``changes``) over a vendor's pages, and the time formats, are
``window.py``.

A connector speaks one vendor's documented API for the sync functions:

* ``authenticate()``: check the credential works (one cheap authenticated call);
* ``changes(obj, since=, after_id=, until=, limit=)``: records changed in the keyset window
  ``(modified_at, id) > (since, after_id)`` and ``modified_at < until``, ordered by
  ``(modified_at, id)``, at most ``limit``: the batch job's watermark contract, whatever
  paging the vendor uses underneath (cursor, token, offset or partition);
* ``upsert_many(obj, external_id_field, records)``: create or update by external id,
  returning one `WriteResult` per record in order (partial failure is per record);
  ``upsert`` is the one-record form and raises `TargetRejected` for a refused record;
* ``delete(obj, external_id_field, external_id)``: a missing record counts as deleted;
* ``lookup(obj, external_id_field, ids)``: target records by external id (reconciliation);
* rate limits: the vendor's signals (429 and Retry-After, or what the vendor sends instead)
  reach `ApiClient`, which waits within the invocation's deadline or leaves it to SQS.

Object names are the vendor's API names (``FIELD_MAPPING``'s ``source_object``/
``target_object``); the fields a source query selects are the mapping's source fields.

Example::

    connector = connector_for(settings, "target", api)
    connector.upsert("Invoice", "Reference", "INV-1", {"Total": 1200.0})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from integration_sync.clients import ApiClient, SourceRecord
from integration_sync.config import ObjectMapping
from integration_sync.credentials import SecretAuth
from integration_sync.errors import ConfigurationError, PermanentError, TargetRejected

__all__ = ["Connector", "HeaderAuth", "SourceRecord", "WriteResult", "chunks", "one_by_one"]


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one record's upsert: created, updated, or refused with the reason."""

    external_id: str
    ok: bool
    status: int = 200
    error: str = ""


class Connector:
    """Base class: one vendor's API behind the interface above."""

    #: the name in ``contract/connectors.py`` (and of the module implementing it)
    name: ClassVar[str] = ""
    #: the largest number of records one upsert call of the vendor takes
    max_batch: ClassVar[int] = 1

    def __init__(self, api: ApiClient, mapping: Mapping[str, ObjectMapping] | None = None):
        self.api = api
        self.mapping = dict(mapping or {})
        if api.auth is not None:
            api.auth = self.vendor_auth(api.auth)

    def vendor_auth(self, auth: SecretAuth) -> SecretAuth:
        """The function's secret auth as this vendor takes it: as it is, or wrapped (its own
        header, ``HeaderAuth``, or its own token exchange)."""
        return auth

    # -- the interface ---------------------------------------------------------------

    def authenticate(self) -> None:
        """Make one cheap authenticated call; raise if the credential is refused."""
        raise NotImplementedError

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        raise PermanentError(f"{self.name} is not read as a source", reason="unsupported")

    def upsert_many(
        self, obj: str, external_id_field: str, records: list[tuple[str, dict[str, Any]]]
    ) -> list[WriteResult]:
        raise PermanentError(f"{self.name} is read only", reason="unsupported")

    def delete(self, obj: str, external_id_field: str, external_id: str) -> int:
        raise PermanentError(f"{self.name} does not delete {obj}", reason="unsupported")

    def lookup(self, obj: str, external_id_field: str, ids: list[str]) -> list[dict[str, Any]]:
        raise PermanentError(f"{self.name} cannot look up {obj}", reason="unsupported")

    # -- shared forms ---------------------------------------------------------------

    def upsert(
        self, obj: str, external_id_field: str, external_id: str, body: dict[str, Any]
    ) -> int:
        """Upsert one record; returns its status, raises TargetRejected when refused."""
        (result,) = self.upsert_many(obj, external_id_field, [(external_id, body)])
        if not result.ok:
            raise TargetRejected(
                f"{self.name} refused {obj} {external_id_field}={external_id}: {result.error}"
            )
        return result.status

    def source_fields(self, obj: str) -> list[str]:
        """The source fields the mapping reads for ``obj`` (its source API name or slug)."""
        for spec in self.mapping.values():
            if obj in (spec.source_object, spec.name):
                return list(spec.fields)
        known = sorted(spec.source_object for spec in self.mapping.values())
        raise ConfigurationError(f"no FIELD_MAPPING entry reads {obj!r} (known: {known})")

    def target_fields(self, obj: str, external_id_field: str) -> list[str]:
        """The target fields the mapping writes into ``obj``, external id first."""
        fields = [external_id_field]
        for spec in self.mapping.values():
            if obj in (spec.target_object, spec.name):
                fields += [f for f in spec.fields.values() if f not in fields]
        return fields


class HeaderAuth(SecretAuth):
    """The secret's credential in the header its vendor documents.

    Wraps the function's own ``SecretAuth`` (same secret, cache and refresh); ``build``
    turns the secret into headers (Zendesk's Basic ``email/token``, Shopify's
    ``X-Shopify-Access-Token``); when it returns None the secret authenticates as usual.
    """

    def __init__(
        self, inner: SecretAuth, build: Callable[[dict[str, Any]], dict[str, str] | None]
    ) -> None:
        super().__init__(inner.secret_arn)
        self.inner = inner
        self.build = build

    def headers(
        self, method: str = "GET", url: str = "", params: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        built = self.build(self.inner.secret())
        return built if built is not None else self.inner.headers(method, url, params)

    def secret(self) -> dict[str, Any]:
        return self.inner.secret()

    def refresh(self) -> None:
        super().refresh()
        self.inner.refresh()


def one_by_one(
    records: list[tuple[str, dict[str, Any]]], write: Callable[[str, dict[str, Any]], int]
) -> list[WriteResult]:
    """Per-record results for a vendor that writes one record per call."""
    results = []
    for external_id, body in records:
        try:
            status = write(external_id, body)
        except TargetRejected as err:
            results.append(WriteResult(external_id, False, 400, err.detail))
        else:
            results.append(WriteResult(external_id, True, status))
    return results


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def nested(fields: Mapping[str, Any], path: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
