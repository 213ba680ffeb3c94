"""Amplitude: Export API 2 (``GET /api/2/export``), read only.

* authentication: HTTP Basic with the project's API key and secret key;
* reads: ``GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`` (hours in UTC, both
  inclusive) answers a zip archive of gzipped JSON-lines files, or 404 when the range holds
  no data; the range is by ``server_upload_time`` and data is exportable about two hours
  after Amplitude received it, so the window stops two hours before now (a later read would
  otherwise find events behind the watermark); 4 GB at most per request
  (https://amplitude.com/docs/apis/analytics/export);
* records: one per event, id ``uuid`` (else ``$insert_id``), change time
  ``server_upload_time``; the object name is the event type (``events`` for all).

Amplitude is a source only: the connector writes nothing.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.connectors import CONNECTORS
from integration_sync.connectors.base import Connector, HeaderAuth, SourceRecord
from integration_sync.connectors.window import in_window, iso, parse_time
from integration_sync.credentials import SecretAuth

EXPORT = "/api/2/export"
# Events become exportable up to two hours after upload.
EXPORT_LATENCY = timedelta(seconds=CONNECTORS["amplitude"].read_latency_seconds)
_HOUR = "%Y%m%dT%H"


class AmplitudeConnector(Connector):
    name = "amplitude"

    def vendor_auth(self, auth: SecretAuth) -> SecretAuth:
        return HeaderAuth(auth, _basic)

    def authenticate(self) -> None:
        hour = (datetime.now(UTC) - timedelta(days=1)).strftime(_HOUR)
        self.api.request("GET", EXPORT, params={"start": hour, "end": hour}, ok=(200, 404))

    def changes(
        self, obj: str, *, since: str, after_id: str, until: str, limit: int
    ) -> list[SourceRecord]:
        end = min(parse_time(until), datetime.now(UTC) - EXPORT_LATENCY)
        start = parse_time(since)
        if start >= end:
            return []
        response = self.api.request(
            "GET",
            EXPORT,
            params={"start": start.strftime(_HOUR), "end": end.strftime(_HOUR)},
            ok=(200, 404),
        )
        if response.status_code == 404:
            return []
        records = [
            SourceRecord(
                str(event.get("uuid") or event.get("$insert_id")),
                iso(parse_time(str(event["server_upload_time"]).replace(" ", "T") + "Z")),
                event,
            )
            for event in _events(response.content)
            if obj in ("events", event.get("event_type"))
        ]
        return in_window(records, since=since, after_id=after_id, until=iso(end), limit=limit)


def _events(archive: bytes) -> list[dict[str, Any]]:
    events = []
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for name in zipped.namelist():
            for line in gzip.decompress(zipped.read(name)).splitlines():
                if line.strip():
                    events.append(json.loads(line))
    return events


def _basic(secret: dict[str, Any]) -> dict[str, str] | None:
    if secret.get("kind") != "api_key":
        return None
    pair = f"{secret.get('api_key')}:{secret.get('secret_key')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
