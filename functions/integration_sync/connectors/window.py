"""The keyset window a connector reads in, over whatever pages its vendor returns.

``changes(obj, since=, after_id=, until=, limit=)`` answers the records with
``(modified_at, id) > (since, after_id)`` and ``modified_at < until``, in that order, at most
``limit``; these helpers cut that window out of a vendor's pages and read and write the
times vendors use.

Example::

    in_window(records, since="2026-11-20T10:00:00Z", after_id="", until=iso(now), limit=200)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from integration_sync.clients import SourceRecord

__all__ = ["gather", "in_window", "iso", "parse_time"]


def gather(
    pages: Iterable[list[SourceRecord]], *, since: str, after_id: str, until: str, limit: int
) -> list[SourceRecord]:
    """The keyset window over a vendor's pages that come in ascending change time.

    Stops reading pages once ``limit`` records are in the window and a later page can only
    hold records that sort after them (a record newer than the last one kept).
    """
    seen: list[SourceRecord] = []
    for page in pages:
        seen += page
        window = in_window(seen, since=since, after_id=after_id, until=until, limit=limit)
        if (
            len(window) == limit
            and page
            and (parse_time(page[-1].modified_at) > parse_time(window[-1].modified_at))
        ):
            return window
    return in_window(seen, since=since, after_id=after_id, until=until, limit=limit)


def in_window(
    records: Iterable[SourceRecord], *, since: str, after_id: str, until: str, limit: int
) -> list[SourceRecord]:
    """The keyset window over records a vendor returned for ``modified >= since``.

    A record the vendor returned twice (Zendesk's time-based exports repeat the items of
    their boundary second) counts once, as its latest change.
    """
    start = (parse_time(since), after_id)
    end = parse_time(until)
    latest: dict[str, SourceRecord] = {}
    for record in records:
        seen = latest.get(record.id)
        if seen is None or parse_time(record.modified_at) >= parse_time(seen.modified_at):
            latest[record.id] = record
    kept = [
        r
        for r in latest.values()
        if (parse_time(r.modified_at), r.id) > start and parse_time(r.modified_at) < end
    ]
    kept.sort(key=lambda r: (parse_time(r.modified_at), r.id))
    return kept[:limit]


def parse_time(value: str | int | float) -> datetime:
    """ISO 8601 (with Z, offset or Salesforce's +0000) or epoch seconds, as aware UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
