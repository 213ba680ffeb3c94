"""A read-only view of the stack for stack policies: resources grouped by integration.

A resource belongs to the integration in its `integration` tag; untaggable resources
(role policies, queue policies, permissions, dashboards) inherit it from their parent, or
else from their logical name `{integration}-{role}` (docs/contracts.md "Names").
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from ._common import as_int, integration_from_name, is_unknown, label, plain, tags_of

# The last view built on each of the pack's gRPC threads, with the response it serves.
_LAST = threading.local()
_ID_FIELDS = ("arn", "id", "name", "url", "keyId", "functionName", "dashboardName")


@dataclass
class Res:
    type: str
    name: str
    urn: str
    props: dict[str, Any]
    tags: dict[str, str]
    integration: str | None = None
    role: str = ""
    parent_urn: str | None = None
    ids: set[str] = field(default_factory=set)

    def is_role(self, *roles: str) -> bool:
        """The role part of the logical name is one of `roles` (optionally with a suffix)."""
        return any(self.role == r or self.role.startswith(f"{r}-") for r in roles)

    @property
    def who(self) -> str:
        """`[integration] name`, as messages about the resource open."""
        return f"{label(self.integration)}{self.name}"

    def get(self, key: str, default: Any = None) -> Any:
        value = self.props.get(key, default)
        return None if is_unknown(value) else value


class StackView:
    """All resources of the stack, indexed by identifier and grouped by integration.

    Stack policies take theirs from `StackView.shared(args, report)`: one view per
    `AnalyzeStack` call instead of one per policy.
    """

    @classmethod
    def shared(cls, args: StackValidationArgs, report: ReportViolation) -> StackView:
        """The view of this `AnalyzeStack` call, built by the first stack policy that asks.

        The SDK deserializes every resource again for each stack policy, but reports every
        policy's violations into one response object of the call, which each policy's
        `report` closes over (pulumi-policy 1.21.0, `_create_report_violation`). That
        response identifies the call; when it cannot be found the view is built afresh.
        """
        response = next(
            (
                cell.cell_contents
                for cell in getattr(report, "__closure__", None) or ()
                if type(cell.cell_contents).__name__ == "AnalyzeResponse"
            ),
            None,
        )
        if response is None:
            return cls(args)
        cached = getattr(_LAST, "view", None)
        if cached is not None and cached[0] is response:
            return cached[1]  # type: ignore[no-any-return]
        view = cls(args)
        _LAST.view = (response, view)  # holds the response: its id cannot be reused meanwhile
        return view

    def __init__(self, args: StackValidationArgs):
        self.resources: list[Res] = []
        by_urn: dict[str, Res] = {}
        for r in args.resources:
            props = plain(r.props)
            res = Res(r.resource_type, r.name, r.urn, props, tags_of(props) or {})
            res.parent_urn = r.parent.urn if r.parent is not None else r.opts.parent
            res.ids = {
                v
                for k in _ID_FIELDS
                if isinstance(v := props.get(k), str) and v and not is_unknown(v)
            }
            self.resources.append(res)
            by_urn[res.urn] = res
        self.integrations = frozenset(
            r.tags["integration"] for r in self.resources if r.tags.get("integration")
        )
        for res in self.resources:
            res.integration = self._owner(res, by_urn)
            if res.integration and res.name.startswith(f"{res.integration}-"):
                res.role = res.name[len(res.integration) + 1 :]
        self._index: dict[str, list[Res]] = defaultdict(list)
        for res in self.resources:
            for ident in res.ids:
                self._index[ident].append(res)
        self.groups: dict[str, list[Res]] = defaultdict(list)
        # Position in the stack by type: `of_type` reads only the types asked for, in the
        # stack's order, instead of scanning every resource each time a rule asks.
        self._by_type: dict[str, list[tuple[int, Res]]] = defaultdict(list)
        for at, res in enumerate(self.resources):
            if res.integration:
                self.groups[res.integration].append(res)
            self._by_type[res.type].append((at, res))

    def _owner(self, res: Res, by_urn: dict[str, Res]) -> str | None:
        seen: set[str] = set()
        node: Res | None = res
        while node is not None and node.urn not in seen:
            if node.tags.get("integration"):
                return node.tags["integration"]
            seen.add(node.urn)
            node = by_urn.get(node.parent_urn or "")
        return integration_from_name(res.name, self.integrations)

    def find(self, ref: Any, *types: str) -> Res | None:
        """The resource (of one of `types`, if given) an ARN, id, name or URL refers to.

        Physical names repeat across types (a function and its role may share one), so pass
        the type whenever the field says what it refers to. A function ARN may carry a version.
        """
        if not isinstance(ref, str) or not ref or is_unknown(ref):
            return None
        found = self._index.get(ref)
        if not found and ref.startswith("arn:aws:lambda:") and ref.count(":") == 7:
            found = self._index.get(ref.rsplit(":", 1)[0])
        matches = [r for r in found or () if not types or r.type in types]
        return matches[0] if matches else None

    def of(self, integration: str, *types: str) -> list[Res]:
        return [r for r in self.groups.get(integration, []) if r.type in types]

    def owned(self, *types: str) -> Iterator[Res]:
        """The resources of `types` that belong to an integration."""
        return (r for r in self.of_type(*types) if r.integration)

    def of_type(self, *types: str) -> Iterator[Res]:
        """The stack's resources of `types`, in the stack's order."""
        found = [self._by_type.get(t, []) for t in dict.fromkeys(types)]
        if len(found) == 1:
            return (res for _, res in found[0])
        return (res for _, res in sorted(p for group in found for p in group))

    def phase(self, integration: str) -> int | None:
        phases = [as_int(r.tags.get("phase")) for r in self.groups.get(integration, [])]
        known = [p for p in phases if p is not None]
        return max(known) if known else None

    def tag(self, integration: str, key: str) -> str | None:
        values = [r.tags[key] for r in self.groups.get(integration, []) if r.tags.get(key)]
        return values[0] if values else None

    def alarms(self, integration: str) -> dict[str, list[Res]]:
        kinds: dict[str, list[Res]] = defaultdict(list)
        for r in self.groups.get(integration, []):
            if r.tags.get("alarm"):
                kinds[r.tags["alarm"]].append(r)
        return kinds


def strings(value: Any) -> Iterable[str]:
    """Every string inside a value (for reference scans)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
