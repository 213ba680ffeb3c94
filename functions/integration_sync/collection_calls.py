"""Which of a batch's writes go together into one collection call, and in what order.

A target with a collection endpoint (``Connector.max_batch`` > 1: Salesforce sObject
Collections 200, Snowflake MERGE 200, Marketo 300, Xero 50, Shopify 25 aliased mutations,
HubSpot batch upsert 100) takes many records of one object per call; the others take one.
``calls`` cuts a batch into as few calls as those limits allow without reordering what
must stay in order:

* a write never joins a call ahead of an earlier write of the same record (two changes of
  one record are never in one request, and the older one goes first);
* a write never joins a call ahead of an earlier write in one of its lanes (its message,
  and on a FIFO queue its message group) that is not in that call;
* once the caller blocks a lane from a position on (``blocked[lane] = position``: a write of
  the message at that position in the batch failed and will be retried), no write of that
  lane from that position on is handed out: SQS redelivers them, in order.

Example::

    blocked: dict[Hashable, int] = {}
    for writes in calls(pending, size=lambda write: 200, blocked=blocked):
        ...  # one vendor call; on a transient failure of writes[0]:
        # blocked.update(dict.fromkeys(writes[0].lanes, writes[0].position))
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

__all__ = ["Plannable", "calls", "is_blocked"]


class Plannable(Protocol):
    @property
    def key(self) -> Hashable:
        """What a call is about: writes of one key may share a call (object, id field, verb)."""

    @property
    def identity(self) -> Hashable:
        """The target record written."""

    @property
    def lanes(self) -> tuple[Hashable, ...]:
        """Sequences the write must keep its place in (message, FIFO message group)."""

    @property
    def position(self) -> int:
        """Where its message is in the batch."""


T = TypeVar("T", bound=Plannable)


def calls(
    writes: Sequence[T], *, size: Callable[[T], int], blocked: Mapping[Hashable, int]
) -> Iterator[list[T]]:
    """Yield the writes of each call, in an order that keeps every lane's order.

    ``size(write)`` is how many writes like it one call takes.
    """
    pending = list(writes)
    while True:
        pending = [w for w in pending if not is_blocked(w, blocked)]
        if not pending:
            return
        key = pending[0].key
        limit = max(size(pending[0]), 1)
        chosen: list[T] = []
        rest: list[T] = []
        barred: set[Hashable] = set()
        for write in pending:
            if (
                write.key == key
                and len(chosen) < limit
                and write.identity not in barred
                and not _touches(write.lanes, barred)
            ):
                chosen.append(write)
                barred.add(write.identity)
            else:
                rest.append(write)
                barred.add(write.identity)
                barred.update(write.lanes)
        yield chosen
        pending = rest


def is_blocked(write: Plannable, blocked: Mapping[Hashable, int]) -> bool:
    """Whether a failure earlier in one of its lanes (or of its own message) holds it back."""
    return any(blocked.get(lane, write.position + 1) <= write.position for lane in write.lanes)


def _touches(lanes: Iterable[Hashable], names: set[Hashable]) -> bool:
    return any(lane in names for lane in lanes)
