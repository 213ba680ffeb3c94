"""What was deployed, grouped by integration, so each smoke check can find its resources.

Membership comes from the ``integration`` tag (docs/contracts.md: every taggable resource
carries it) and, for untaggable resources, from the logical name ``{integration}-{role}``.

Usage::

    inventory = Inventory.from_created(creator.created)
    inventory["quote-to-order"].queue.outputs["url"]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contract.aws_types import (
    IAM_ROLE,
    LAMBDA_FUNCTION,
    SNS_TOPIC,
    SQS_QUEUE,
)
from provisioner.rehearsal.backend import CreatedResource

__all__ = ["Deployed", "Inventory"]


class _Named:
    """``deployed.queue``: the integration's resource of one role word and type, or None."""

    def __init__(self, role: str, type_: str) -> None:
        self.role, self.type = role, type_

    def __get__(self, deployed: Deployed, owner: type[Deployed]) -> CreatedResource | None:
        return deployed.named(self.role, self.type)


class _All:
    """``deployed.queues``: every resource of the integration of one type."""

    def __init__(self, type_: str) -> None:
        self.type = type_

    def __get__(self, deployed: Deployed, owner: type[Deployed]) -> list[CreatedResource]:
        return deployed.of_type(self.type)


@dataclass
class Deployed:
    """One integration's resources as they exist in the emulator."""

    name: str
    resources: list[CreatedResource] = field(default_factory=list)

    role = _Named("role", IAM_ROLE)
    roles = _All(IAM_ROLE)
    queue = _Named("queue", SQS_QUEUE)
    dlq = _Named("dlq", SQS_QUEUE)
    queues = _All(SQS_QUEUE)
    consumer = _Named("consumer", LAMBDA_FUNCTION)

    def of_type(self, type_: str) -> list[CreatedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, role: str, type_: str | None = None) -> CreatedResource | None:
        """The resource whose logical name is ``{integration}-{role}`` (contracts: Names)."""
        wanted = f"{self.name}-{role}"
        return next(
            (r for r in self.resources if r.name == wanted and (type_ is None or r.type == type_)),
            None,
        )

    @property
    def topic(self) -> CreatedResource | None:
        return self.named("alerts", SNS_TOPIC) or next(iter(self.of_type(SNS_TOPIC)), None)


class Inventory:
    """Created resources by integration; resources of no integration are kept apart."""

    def __init__(self, by_integration: dict[str, Deployed], shared: list[CreatedResource]):
        self._by = by_integration
        self.shared = shared

    @classmethod
    def from_created(
        cls, created: Iterable[CreatedResource], integrations: Iterable[str] = ()
    ) -> Inventory:
        known = list(integrations)
        by: dict[str, Deployed] = {name: Deployed(name) for name in known}
        shared: list[CreatedResource] = []
        # Longest name first, so `lead-to-account-x` is never claimed by `lead-to-account`.
        prefixes = sorted(known, key=len, reverse=True)
        for resource in created:
            owner = _tag(resource, "integration") or next(
                (p for p in prefixes if resource.name.startswith(f"{p}-")), None
            )
            if owner is None:
                shared.append(resource)
            else:
                by.setdefault(owner, Deployed(owner)).resources.append(resource)
        return cls(by, shared)

    def __getitem__(self, name: str) -> Deployed:
        return self._by[name]

    def __iter__(self) -> Iterator[Deployed]:
        return iter(self._by.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by


def _tag(resource: CreatedResource, key: str) -> str | None:
    tags = resource.outputs.get("tags") or {}
    value = tags.get(key)
    return str(value) if value else None
