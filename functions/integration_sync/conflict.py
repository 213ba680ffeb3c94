"""Both ways at once: field ownership, the conflict strategy and echo suppression.

A bidirectional integration runs one consumer per direction. Before a write, each asks this
module what may be written, in this order:

1. **Echo.** A change the integration itself made, coming back from the system it wrote to,
   is not sent again: its author is one of the integration's own users in that system
   (``echo_authors``: Salesforce CDC ``commitUser``, ``author`` in a JSON envelope), or its
   mapped values are exactly what the other direction last wrote to that record.
2. **Field ownership.** A target field is written only by the direction whose source owns it
   (``own``), or, when the conflict rule covers it, by either direction (``contested``).
   Anything else is dropped from the write.
3. **Conflict.** A contested field is in conflict when the other direction wrote this record
   into our source *after* our change happened there (concurrent edits: neither side saw the
   other's). The declared strategy decides: ``source_wins``/``target_wins`` (the integration's
   source or target side keeps its value), ``last_writer_wins`` (the later source timestamp
   wins), or ``manual_review`` (the change is parked in the review queue, whose depth
   alarms, and the contested fields are not written). Where no review queue is deployed
   the parking place is the DLQ with ``failure-reason: conflict_review`` (its depth alarms).

After a successful write the direction records, per record, when its change happened, when
it was applied and the values it wrote (in ``STATE_TABLE``, ``id = conflict#{object}#{key}#
{direction}``, TTL ``expiration``): what the other direction reads for steps 1 and 3. The
record key is the external id, which both directions share (the source system's id).

Configured by ``CONFLICT`` (JSON, set by the program for bidirectional integrations)::

    {"direction": "forward", "strategy": "last_writer_wins", "echo_authors": ["005..."],
     "objects": {"campaign": {"own": ["Name"], "contested": ["Status"]}}}

Used at one place in the consumer::

    with resolver.gate(change, write) as allowed:
        if allowed is not None:
            upsert(allowed)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from integration_sync.config import ObjectMapping, Settings
from integration_sync.dead_letter import diagnosis, park
from integration_sync.envelope import Change
from integration_sync.errors import ConfigurationError
from integration_sync.mapping import TargetWrite, find_object_mapping

STRATEGIES = frozenset({"source_wins", "target_wins", "last_writer_wins", "manual_review"})
DIRECTIONS = ("forward", "reverse")
# As long as an idempotency record: a change may wait that long in a queue (SQS maximum
# retention, 14 days: SQS developer guide, "Quotas") and must still meet its counterpart.
STATE_TTL_SECONDS = 14 * 24 * 3600

# Outcomes of a decision. WRITE is the plain case; every other one is counted and logged.
WRITE, ECHO, NOT_OWNED = "write", "echo", "not-owned"
WON, LOST, PARKED = "conflict-won", "conflict-lost", "parked"


@dataclass(frozen=True)
class ObjectRule:
    """Target fields this direction writes alone (``own``) or shares under the rule."""

    own: frozenset[str]
    contested: frozenset[str]


@dataclass(frozen=True)
class ConflictPolicy:
    """This direction's side of the integration's conflict rule (from ``CONFLICT``)."""

    direction: str
    strategy: str
    objects: Mapping[str, ObjectRule]
    echo_authors: frozenset[str] = field(default_factory=frozenset)

    @property
    def other(self) -> str:
        return DIRECTIONS[1 - DIRECTIONS.index(self.direction)]

    @classmethod
    def parse(cls, raw: str) -> ConflictPolicy | None:
        """The policy in ``CONFLICT``, or None when unset (one-way integrations)."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            direction, strategy = data["direction"], data["strategy"]
            objects = {
                str(name): ObjectRule(
                    own=frozenset(rule.get("own", ())),
                    contested=frozenset(rule.get("contested", ())),
                )
                for name, rule in data.get("objects", {}).items()
            }
            authors = frozenset(str(a) for a in data.get("echo_authors", ()))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"CONFLICT must be JSON with direction, strategy and objects ({exc})"
            ) from None
        if direction not in DIRECTIONS or strategy not in STRATEGIES:
            raise ConfigurationError(
                f"CONFLICT: direction {direction!r} must be one of {DIRECTIONS} and strategy "
                f"{strategy!r} one of {sorted(STRATEGIES)}"
            )
        return cls(direction, strategy, objects, authors)


@dataclass(frozen=True)
class Decision:
    """What happens to one change: the write to send (or None) and why."""

    write: TargetWrite | None
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class _Applied:
    event_time: float
    applied_at: float
    values: dict[str, Any]


class ConflictResolver:
    """Decides each write of one direction against what the other direction applied."""

    def __init__(
        self,
        policy: ConflictPolicy,
        mapping: Mapping[str, ObjectMapping],
        table_name: str,
        review_queue_url: str,
        client: Any = None,
        sqs: Any = None,
        clock: Any = time.time,
    ) -> None:
        import boto3

        self.policy = policy
        self.mapping = mapping
        self.table_name = table_name
        self.review_queue_url = review_queue_url
        self.client = client or boto3.client("dynamodb")
        self.sqs = sqs or boto3.client("sqs")
        self.clock = clock

    @classmethod
    def of(cls, settings: Settings, sqs: Any = None) -> ConflictResolver | None:
        """The resolver of the function's direction (``CONFLICT``), parking contested
        changes in ``REVIEW_QUEUE_URL`` (else the DLQ); None for a one-way flow."""
        policy = ConflictPolicy.parse(settings.conflict)
        if policy is None:
            return None
        review_queue_url = settings.review_queue_url or settings.dlq_url
        return cls(policy, settings.mapping, settings.state_table, review_queue_url, sqs=sqs)

    def decide(self, change: Change, write: TargetWrite) -> Decision:
        """Echo, ownership, then the strategy: what of ``write`` may be sent."""
        if change.author and change.author in self.policy.echo_authors:
            return Decision(None, ECHO, f"changed by the integration's own user {change.author}")
        spec = find_object_mapping(change.object, self.mapping)
        other = self._load(spec.name, write.external_id, self.policy.other)
        if other is not None and _is_echo(change, spec, other):
            return Decision(None, ECHO, f"the values the {self.policy.other} direction wrote")
        if write.delete:
            return Decision(write, WRITE)
        rule = self.policy.objects.get(spec.name)
        body = dict(write.body)
        dropped: list[str] = []
        if rule is not None:
            dropped = sorted(f for f in body if f not in rule.own | rule.contested)
            body = {f: v for f, v in body.items() if f not in dropped}
        contested = sorted(f for f in body if rule is not None and f in rule.contested)
        happened = change.event_time if change.event_time is not None else self.clock()
        outcome, detail = (NOT_OWNED if dropped else WRITE), ""
        if dropped:
            detail = f"fields owned by the other side not written: {dropped}"
        if contested and other is not None and other.applied_at > happened:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(other.event_time))
            if self._wins(happened, other):
                outcome = WON
                detail = (
                    f"{self.policy.strategy}: {contested} changed on both sides; this change "
                    f"wins over the {self.policy.other} direction's write of {when}"
                )
            else:
                body = {f: v for f, v in body.items() if f not in contested}
                outcome = PARKED if self.policy.strategy == "manual_review" else LOST
                detail = (
                    f"{self.policy.strategy}: {contested} changed on both sides; the "
                    f"{self.policy.other} direction's write of {when} stands"
                )
        if not body:
            return Decision(None, outcome, detail)
        return Decision(replace(write, body=body), outcome, detail)

    def _wins(self, happened: float, other: _Applied) -> bool:
        strategy = self.policy.strategy
        if strategy == "source_wins":
            return self.policy.direction == "forward"
        if strategy == "target_wins":
            return self.policy.direction == "reverse"
        if strategy == "last_writer_wins":
            return happened > other.event_time
        return False  # manual_review: a person decides

    @contextmanager
    def gate(self, change: Change, write: TargetWrite, message: str) -> Iterator[Decision]:
        """Decide, let the caller write ``decision.write``, then record it for the other side.

        ``message`` is the original queue message, which a parked change keeps (so replay
        re-drives it once a person has settled the record). Nothing is recorded or parked
        when the caller's write raises (the record is retried).
        """
        decision = self.decide(change, write)
        yield decision
        self.settle(change, write, decision, message)

    def settle(self, change: Change, write: TargetWrite, decision: Decision, message: str) -> None:
        """After ``decision.write`` was written (or nothing was to be): record, then park."""
        if decision.write is not None:
            self._record(change, decision.write)
        if decision.outcome == PARKED:
            # After the uncontested part is written: if parking fails, the record is retried,
            # its write is then a recognised duplicate, and parking happens on the retry.
            self._park(change, write, decision, message)

    def _park(self, change: Change, write: TargetWrite, decision: Decision, message: str) -> None:
        attributes = {
            **diagnosis("conflict_review", decision.detail),
            "conflict-record": f"{change.object}/{write.external_id}"[:256],
            "conflict-direction": self.policy.direction,
        }
        fifo = None
        if self.review_queue_url.endswith(".fifo"):
            # A change without a sender id is parked once per distinct parked message.
            dedup = change.idempotency_key or hashlib.sha256(message.encode()).hexdigest()
            fifo = (f"{change.object}:{write.external_id}", dedup[-128:])
        park(self.sqs, self.review_queue_url, message, attributes, fifo=fifo)

    def _record(self, change: Change, write: TargetWrite) -> None:
        spec = find_object_mapping(change.object, self.mapping)
        now = self.clock()
        happened = change.event_time if change.event_time is not None else now
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "id": {"S": _key(spec.name, write.external_id, self.policy.direction)},
                "event_time": {"N": repr(float(happened))},
                "applied_at": {"N": repr(float(now))},
                "values": {"S": json.dumps(write.body, sort_keys=True, default=str)},
                "expiration": {"N": str(int(now) + STATE_TTL_SECONDS)},
            },
        )

    def _load(self, obj: str, key: str, direction: str) -> _Applied | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"id": {"S": _key(obj, key, direction)}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        return _Applied(
            event_time=float(item["event_time"]["N"]),
            applied_at=float(item["applied_at"]["N"]),
            values=json.loads(item["values"]["S"]),
        )


def _key(obj: str, key: str, direction: str) -> str:
    return f"conflict#{obj}#{key}#{direction}"


def _is_echo(change: Change, spec: ObjectMapping, other: _Applied) -> bool:
    """Every mapped field the change carries holds what the other direction wrote there."""
    id_source = next((s for s, t in spec.fields.items() if t == spec.external_id), None)
    carried = [source for source in spec.fields if source != id_source and source in change.fields]
    if change.changed_fields:
        # A CDC update lists what changed; an echo changed only fields we wrote.
        carried = [s for s in carried if s in change.changed_fields] or carried
    return bool(carried) and all(
        source in other.values and other.values[source] == change.fields[source]
        for source in carried
    )
