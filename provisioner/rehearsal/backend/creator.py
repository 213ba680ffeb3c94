"""Create each Pulumi resource through the AWS API of the emulator, returning real ids and outputs.

The Pulumi mock runtime hands every resource's type, logical name and camelCase inputs (as
the engine would send them to the AWS provider) to ``AwsCreator``, which looks the type up
in ``registry.RESOURCES`` and runs that service module's creator. A type missing from the
table fails loudly with ``UnsupportedResource`` naming it: a rehearsal that silently
skipped a resource would prove nothing about it.

Usage::

    creator = AwsCreator(emulator)
    resource_id, outputs = creator.create(SQS_QUEUE, "quote-to-order-queue",
                                          {"name": "dev-quote-to-order-queue.fifo",
                                           "fifoQueue": True})
    creator.find(creator.created[-1])  # raises unless it is in the emulator
    creator.absent(creator.created)  # [(resource, why), ...] for those that are not
    creator.unstage()  # once the program has run
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from contract.aws_types import STACK
from provisioner.rehearsal.backend.base import CreationFailed, Ctx, Inputs, Outputs
from provisioner.rehearsal.backend.registry import RESOURCES
from provisioner.rehearsal.emulator import Emulator

__all__ = ["AwsCreator", "CreatedResource", "UnsupportedResource"]


class UnsupportedResource(Exception):
    """The rehearsal has no way to create this resource type in the emulator."""

    def __init__(self, type_: str, name: str) -> None:
        self.type = type_
        self.name = name
        super().__init__(
            f"the rehearsal cannot create resource type {type_} (logical name {name!r}); "
            "add it to its service's module in provisioner/rehearsal/backend/ (a new service "
            "gets a module of its own, listed in backend/registry.py)"
        )


@dataclass(frozen=True)
class CreatedResource:
    """One resource as it now exists in the emulator."""

    type: str
    name: str
    id: str
    outputs: Outputs


# Resources Pulumi registers that are not cloud resources (providers, the stack): nothing
# to create.
_NOT_CLOUD_PREFIXES = ("pulumi:providers:", STACK)


class AwsCreator:
    """Creates each registered resource in the emulator and remembers what it created.

    Calls are serialised: the mock monitor registers resources from several threads, and a
    rehearsal gains nothing from racing a local server.
    """

    def __init__(self, aws: Emulator) -> None:
        self.ctx = Ctx(aws)
        self.created: list[CreatedResource] = []
        self.errors: list[Exception] = []
        self._lock = threading.Lock()

    def create(self, type_: str, name: str, inputs: Inputs) -> tuple[str, Outputs]:
        """Create one resource; raise UnsupportedResource or CreationFailed, and record it."""
        with self._lock:
            try:
                return self._create(type_, name, inputs)
            except Exception as err:
                # Kept: the mock runtime may swallow or rewrap an exception raised here.
                self.errors.append(err)
                raise

    def _create(self, type_: str, name: str, inputs: Inputs) -> tuple[str, Outputs]:
        if type_.startswith(_NOT_CLOUD_PREFIXES):
            return f"{name}-id", dict(inputs)
        resource = RESOURCES.get(type_)
        if resource is None:
            raise UnsupportedResource(type_, name)
        try:
            resource_id, outputs = resource.create(self.ctx, name, inputs)
        except (UnsupportedResource, CreationFailed):
            raise
        except Exception as err:
            raise CreationFailed(
                f"creating {type_} {name!r} in the emulator failed: {type(err).__name__}: {err}"
            ) from err
        self.created.append(CreatedResource(type_, name, resource_id, outputs))
        # The recorder merges these over the inputs itself (and re-encodes them, so they
        # must be computed values only, not the decoded input archives).
        return resource_id, {k: v for k, v in outputs.items() if inputs.get(k) is not v}

    def unstage(self) -> None:
        """Remove what the creators staged only to create resources (idempotent)."""
        with self._lock:
            cleanups, self.ctx.cleanups = self.ctx.cleanups, []
            for cleanup in cleanups:
                cleanup()

    def find(self, resource: CreatedResource) -> object:
        """Look the resource up in the emulator; raise if it is not there."""
        return RESOURCES[resource.type].find(self.ctx, resource.id, resource.outputs)

    def absent(self, resources: Sequence[CreatedResource]) -> list[tuple[CreatedResource, str]]:
        """The resources that are not in the emulator, each with what its lookup answered.

        Each type is read with its list calls (``Resource.listed``), a few calls for all of
        them instead of one each; a resource the listing did not show is then looked up on
        its own (``find``), and only what that cannot find is absent. A list call may show
        less than there is (ListSecrets "might not reflect changes from the last five
        minutes", Secrets Manager API reference, ListSecrets), so a listing only ever
        spares calls: it never decides that something is missing.
        """
        by_type: dict[str, list[CreatedResource]] = defaultdict(list)
        for resource in resources:
            by_type[resource.type].append(resource)
        missing: list[tuple[CreatedResource, str]] = []
        for type_, group in by_type.items():
            listed = RESOURCES[type_].listed
            seen = listed(self.ctx, [(r.id, r.outputs) for r in group]) if listed else ()
            for resource in group:
                if resource.id in seen:
                    continue
                try:
                    self.find(resource)
                except Exception as err:
                    missing.append((resource, str(err)))
        return missing
