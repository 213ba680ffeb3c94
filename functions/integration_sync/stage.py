"""A warehouse pipeline's S3 stage: each page of a batch run lands as one file the warehouse
loads itself (Snowflake: COPY INTO or Snowpipe auto-ingest).

A file holds the page's rows as newline-delimited JSON, one target row per line (the
mapped fields, the external id included), under ``{object}/{watermark}.json``: the keyset
position (``modified_at``, then the id after which the page starts) the page was read from.
A Bulk API 2.0 result page is keyed by its window's start, its job and the locator it
came by. The same page of the same run always gets the same key, so a retried run overwrites rather
than duplicates its file; the batch job commits the watermark only after the put succeeded.
Rows a later run reads again (the overlap) are loaded again and merged by external id.

Usage::

    Stage("dev-warehouse-export-stage-111111111111").put_page(
        "account", ("2026-01-01T00:00:00Z", ""), [{"SALESFORCE_ID": "001...", "NAME": "Acme"}]
    )
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["CONTENT_TYPE", "Stage", "stage_key"]

CONTENT_TYPE = "application/x-ndjson"
# S3 user guide, "Naming Amazon S3 objects": safe characters are letters, digits and
# `!-_.*'()`; anything else in an id is replaced so keys stay plain.
_UNSAFE = re.compile(r"[^A-Za-z0-9!_.*'()-]")


def stage_key(obj: str, since: str, after_id: str) -> str:
    """``{object}/{watermark}.json`` for the page that starts after (``since``, ``after_id``)."""
    mark = _UNSAFE.sub("-", since) + (f"_{_UNSAFE.sub('-', after_id)}" if after_id else "")
    return f"{obj}/{mark}.json"


class Stage:
    """Puts pages into the stage bucket; the bucket's default encryption (SSE-KMS with the
    integration's key) applies to every file."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def put_page(self, obj: str, start: tuple[str, str], rows: Sequence[dict[str, Any]]) -> str:
        """Write one page's rows; an empty page writes nothing. Returns the key."""
        key = stage_key(obj, *start)
        if not rows:
            return key
        body = "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows)
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body.encode(), ContentType=CONTENT_TYPE
        )
        return key
