"""Fake Amplitude project: the Export API 2 as amplitude.com/docs documents it.

* HTTP Basic ``{api_key}:{secret_key}`` (401 otherwise);
* ``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH``: a zip archive of one gzipped
  JSON-lines file per hour holding the events whose ``server_upload_time`` falls in the
  range (end hour inclusive), 404 when there are none, 400 for a malformed range;
* 429 when throttled. Events are the fake's records: the object is the event type.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug import Request, Response

from provisioner.rehearsal.vendors.base import Answer, VendorFake

_HOUR = "%Y%m%dT%H"


class AmplitudeFake(VendorFake):
    name = "amplitude"
    issues = "api_key"
    denied = Answer(401, "Invalid API key")
    limited = Answer(429, {"error": "Too many requests"})

    def credential(self) -> dict[str, Any]:
        key, secret = secrets.token_hex(16), secrets.token_hex(16)
        with self.lock:
            self.keys.add(f"{key}:{secret}")
        return {"kind": "api_key", "api_key": key, "secret_key": secret}

    def enrol(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, **self.credential()}

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Basic ") and base64.b64decode(header[6:]).decode() in self.keys

    def route(self, request: Request, path: str) -> Response:
        if path != "/api/2/export" or request.method != "GET":
            return Response("Not found", 404)
        try:
            start = datetime.strptime(request.args["start"], _HOUR).replace(tzinfo=UTC)
            end = datetime.strptime(request.args["end"], _HOUR).replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return Response("start and end must be YYYYMMDDTHH", 400)
        hours: dict[str, list[str]] = {}
        for obj, records in self.records.items():
            for record in records.values():
                if start <= record.modified_at < end + timedelta(hours=1):
                    event = {
                        "uuid": record.id,
                        "event_type": obj,
                        "server_upload_time": record.modified_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                        **record.fields,
                    }
                    hour = record.modified_at.strftime("%Y-%m-%d_%H")
                    hours.setdefault(hour, []).append(json.dumps(event))
        if not hours:
            return Response("No data available for the time range", 404)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for hour, lines in sorted(hours.items()):
                archive.writestr(
                    f"123456/123456_{hour}#0.json.gz", gzip.compress("\n".join(lines).encode())
                )
        return Response(buffer.getvalue(), 200, content_type="application/zip")
