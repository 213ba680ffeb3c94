"""What a run of the program registered: the records every offline command reads.

`provisioner.program.run_program` fills them (contracts.md, "Recorded resources"); a
`ResourceBackend` decides what each registered resource is (`provisioner.aws_shapes` for
plan and check, the emulator for the rehearsal).

Usage::

    run = run_program("dev")
    run.find("quote-to-order-dlq").inputs["messageRetentionSeconds"]  # 1209600
    [r.name for r in run.by_type(SQS_QUEUE)]  # contract.aws_types
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract.aws_types import INTEGRATION
from contract.naming import SECRET
from roadmap.settings import StackSettings

__all__ = [
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "ResourceBackend",
    "ResourceRequest",
    "iter_secret_values",
]

Path_ = tuple[str | int, ...]


class ProgramError(Exception):
    """The program failed (a user error it reported, or a bug); the message says which."""


@dataclass(frozen=True)
class ResourceRequest:
    """What a backend is asked to create: the resource as the engine would see it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]  # camelCase, secrets unwrapped, integral floats back to ints
    import_id: str = ""


@dataclass(frozen=True)
class RecordedResource:
    """One registered resource (contracts.md, "Recorded resources").

    `inputs` hold plain values (secrets unwrapped: the rehearsal needs them); the paths of
    values the SDK marked secret are in `secret_paths`, and `to_json()` redacts them.
    `options` carries the resource options the engine would pass to an analyzer:
    protect, ignoreChanges, dependsOn, deleteBeforeReplace, additionalSecretOutputs, and
    aliases (the former URNs the engine resolves, inherited ones included).
    """

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool = True
    secret_paths: frozenset[Path_] = frozenset()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        return self.outputs.get("id")

    def redacted_inputs(self) -> dict[str, Any]:
        """Inputs with every value the SDK marked secret replaced by "[secret]"."""
        redacted: dict[str, Any] = _redact(self.inputs, self.secret_paths)
        return redacted

    def to_json(self, *, redact: bool = True) -> dict[str, Any]:
        """The contract's JSON shape: type, name, urn, parent, inputs, outputs."""
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "inputs": self.redacted_inputs() if redact else self.inputs,
            "outputs": self.outputs,
        }


@dataclass
class ProgramRun:
    """Everything one run of the program registered, in registration order."""

    stack: str
    settings: StackSettings
    config: dict[str, str]
    resources: list[RecordedResource]
    stack_outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def find(self, name: str, type_: str | None = None) -> RecordedResource:
        """The one resource with this logical name (and type, when names repeat)."""
        found = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type_})")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def descendants(self, urn: str) -> list[RecordedResource]:
        """Resources whose parent chain reaches `urn`."""
        parents = {r.urn: r.parent for r in self.resources}

        def under(u: str | None) -> bool:
            while u is not None:
                if u == urn:
                    return True
                u = parents.get(u)
            return False

        return [r for r in self.resources if r.urn != urn and under(r.parent)]

    def integration_of(self, resource: RecordedResource) -> str | None:
        """The name of the Integration component a resource belongs to, if any."""
        by_urn = {r.urn: r for r in self.resources}
        current: RecordedResource | None = resource
        while current is not None:
            if current.type == INTEGRATION:
                return current.name
            current = by_urn.get(current.parent) if current.parent else None
        return None


class ResourceBackend(Protocol):
    """Decides what each registered resource is: its id and computed outputs.

    `create` returns `(id, outputs)`; outputs are merged over the inputs as the engine
    does, so they need only the computed properties (`arn`, `url`, ...). The rehearsal
    implements this by creating the resource in moto and returning real ids and ARNs.
    """

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]: ...

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]: ...


def _redact(value: Any, secret_paths: frozenset[Path_], path: Path_ = ()) -> Any:
    if path in secret_paths:
        return SECRET
    if isinstance(value, dict):
        return {k: _redact(v, secret_paths, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secret_paths, (*path, i)) for i, v in enumerate(value)]
    return value


def iter_secret_values(run: ProgramRun) -> Iterator[str]:
    """Every string the SDK marked secret in any input (for tests and audits)."""
    for resource in run.resources:
        for path in resource.secret_paths:
            value: Any = resource.inputs
            for part in path:
                value = value[part]
            if isinstance(value, str):
                yield value
