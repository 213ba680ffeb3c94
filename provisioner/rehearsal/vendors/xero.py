"""Fake Xero organisation: Accounting API 2.0 as developer.xero.com documents it.

* ``POST /connect/token`` (custom connection, client credentials);
* every API call needs ``Xero-tenant-id`` (403 ``AuthenticationUnsuccessful`` otherwise);
* ``GET /api.xro/2.0/{Endpoint}?page=&order=&where=`` with ``If-Modified-Since``: 100
  records a page (``page_size``), ``UpdatedDateUTC`` as ``/Date(ms+0000)/``;
* ``POST /api.xro/2.0/{Endpoint}?summarizeErrors=false``: items without their ``...ID``
  are created (Xero does not match on Reference: a second POST makes a duplicate), items
  with it updated; each item answers ``StatusAttributeString`` and ``ValidationErrors``; a
  repeated ``Idempotency-Key`` returns the first answer without writing again;
* 401 ``TokenExpired``; 429 with ``Retry-After`` and ``X-Rate-Limit-Problem``
  (``limit_problem``: ``minute`` or ``day``)
  (https://developer.xero.com/documentation/guides/oauth2/limits/).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from werkzeug import Request, Response

from contract.connectors import CONNECTORS
from provisioner.rehearsal.vendors.base import Answer, Record, VendorFake, epoch_ms, json_response

PREFIX = "/api.xro/2.0"


class XeroFake(VendorFake):
    name = "xero"
    token_path = "/connect/token"
    limit_problem = "minute"
    denied = Answer(
        401,
        {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"},
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )

    def __init__(self) -> None:
        super().__init__()
        self.tenant_id = str(uuid.uuid4())
        self.idempotent: dict[str, Any] = {}

    def oauth_client(self) -> dict[str, Any]:
        return {**super().oauth_client(), "tenant_id": self.tenant_id}

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def throttled(self) -> Response:
        wait = "43200" if self.limit_problem == "day" else "1"
        return Response(
            "", 429, headers={"Retry-After": wait, "X-Rate-Limit-Problem": self.limit_problem}
        )

    def count(self, obj: str, external_id: str) -> int:
        with self.lock:
            return sum(
                1 for r in self.records.get(obj, {}).values() if r.external_id == external_id
            )

    def route(self, request: Request, path: str) -> Response:
        if request.headers.get("Xero-tenant-id") != self.tenant_id:
            return json_response(
                {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, 403
            )
        match = re.fullmatch(rf"{PREFIX}/(\w+)", path)
        if not match:
            return json_response({"Title": "Not Found", "Status": 404}, 404)
        obj = match.group(1)
        if obj == "Organisation" and request.method == "GET":
            return json_response({"Organisations": [{"Name": "Northwind Outdoor"}]})
        if request.method == "GET":
            return self._list(obj, request)
        if request.method == "POST":
            key = request.headers.get("Idempotency-Key", "")
            if key and key in self.idempotent:
                return json_response(self.idempotent[key])
            answer = self._post(obj, request.get_json(silent=True) or {})
            if key:
                self.idempotent[key] = answer
            return json_response(answer)
        return json_response({"Title": "Method Not Allowed", "Status": 405}, 405)

    def _list(self, obj: str, request: Request) -> Response:
        rows = list(self.records.get(obj, {}).values())
        since = request.headers.get("If-Modified-Since")
        if since:
            bound = parsedate_to_datetime(since)
            rows = [r for r in rows if r.modified_at.replace(microsecond=0) >= bound]
        where = request.args.get("where")
        if where:
            wanted = {(f, v) for f, v in re.findall(r'(\w+)=="((?:[^"\\]|\\.)*)"', where)}
            rows = [r for r in rows if (_external_id_field(obj), r.external_id) in wanted]
        rows.sort(key=lambda r: r.modified_at)
        page = int(request.args.get("page", "1"))
        chunk = rows[(page - 1) * self.page_size : page * self.page_size]
        return json_response({obj: [self._json(obj, r) for r in chunk]})

    def _post(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        id_field = _id_field(obj)
        answer = []
        for item in body.get(obj, []):
            external_id = str(item.get(_external_id_field(obj), ""))
            if self.refuses(obj, external_id):
                answer.append(
                    {
                        **item,
                        "StatusAttributeString": "ERROR",
                        "ValidationErrors": [{"Message": "Account code '200' is not valid"}],
                    }
                )
                continue
            with self.lock:
                record = self.records.get(obj, {}).get(str(item.get(id_field, "")))
                if record is None:
                    record = Record(self.new_id(), external_id, datetime.now(UTC))
                    self.records.setdefault(obj, {})[record.id] = record
                record.fields.update({k: v for k, v in item.items() if k != id_field})
                record.external_id = external_id
                record.modified_at = datetime.now(UTC)
            self.count_write()
            answer.append({**self._json(obj, record), "StatusAttributeString": "OK"})
        return {obj: answer}

    def _json(self, obj: str, record: Record) -> dict[str, Any]:
        return {
            _id_field(obj): record.id,
            "UpdatedDateUTC": f"/Date({epoch_ms(record.modified_at)}+0000)/",
            **record.fields,
        }


def _id_field(endpoint: str) -> str:
    """Xero names each record's id after its endpoint: ``Invoices`` -> ``InvoiceID``."""
    return f"{endpoint.removesuffix('s')}ID"


def _external_id_field(obj: str) -> str:
    """The field Xero finds another system's records by (contract/connectors.py)."""
    return CONNECTORS["xero"].external_ids.get(obj, "Reference")
