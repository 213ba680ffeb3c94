"""The system map as data: which systems, which flows, and how each flow is drawn.

The SVG map (`diagram`) and the Mermaid map in report.md (`mermaid`) are both drawn from
`system_map`, so they show the same systems, flows, words and line styles.

Usage::

    m = system_map(roadmap, "prod")
    m.hub                           # 'salesforce': the system the map centres on
    m.flows[0].lines                # ('quote-to-order', 'quote, order', 'event-driven, phase 3')
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from roadmap.integrations import Integration, Pattern
from roadmap.model import Roadmap

__all__ = [
    "PATTERN_STYLES",
    "PLANNED",
    "MapFlow",
    "MapNode",
    "PatternStyle",
    "SystemMap",
    "system_map",
]


@dataclass(frozen=True)
class PatternStyle:
    label: str
    colour: str  # at least 4.5:1 against the map's white (WCAG 2.x AA for text)
    dash: str  # SVG stroke-dasharray; "" is a solid line


PATTERN_STYLES: dict[Pattern, PatternStyle] = {
    Pattern.REAL_TIME_API: PatternStyle("real-time API", "#b8322a", ""),
    Pattern.EVENT_DRIVEN: PatternStyle("event-driven", "#1f5fbf", ""),
    Pattern.BATCH: PatternStyle("batch", "#2e7d32", "10 5"),
    Pattern.MIDDLEWARE: PatternStyle("middleware", "#7b3fa0", "12 4 3 4"),
    Pattern.WAREHOUSE_PIPELINE: PatternStyle("warehouse pipeline", "#a84a00", "5 4"),
}

# A planned flow (phase 1, discovery: nothing provisioned) keeps its pattern's colour at
# full contrast and is drawn as a row of round dots instead of its pattern's line.
PLANNED = PatternStyle("planned (phase 1, discovery): nothing provisioned yet", "", "0.1 7")


@dataclass(frozen=True)
class MapNode:
    name: str
    kind: str
    vendor: str

    @property
    def subtitle(self) -> str:
        return f"{self.kind} · {self.vendor}"


@dataclass(frozen=True)
class MapFlow:
    """An integration as the map draws it: an arrow between its systems, at its phase here."""

    integration: Integration
    phase: int

    @property
    def ends(self) -> tuple[str, str]:
        """(source, target): the systems the arrow joins."""
        return self.integration.source, self.integration.target

    @property
    def both_ways(self) -> bool:
        return self.integration.bidirectional

    @property
    def planned(self) -> bool:
        return self.phase < 2

    @property
    def style(self) -> PatternStyle:
        return PATTERN_STYLES[self.integration.pattern]

    @property
    def dash(self) -> str:
        return PLANNED.dash if self.planned else self.style.dash

    @property
    def lines(self) -> tuple[str, str, str]:
        """Its label: name, objects, then pattern, direction and phase in words."""
        both = " (both ways)" if self.both_ways else ""
        planned = " (planned)" if self.planned else ""
        return (
            self.integration.name,
            ", ".join(self.integration.objects),
            f"{self.style.label}{both}, phase {self.phase}{planned}",
        )


@dataclass(frozen=True)
class SystemMap:
    environment: str
    hub: str
    nodes: tuple[MapNode, ...]
    flows: tuple[MapFlow, ...]

    def node(self, name: str) -> MapNode:
        return next(n for n in self.nodes if n.name == name)


def _hub(roadmap: Roadmap) -> str:
    """The Salesforce org, else the most connected system (the first on a tie)."""
    sf = [s for s in roadmap.systems if s.is_salesforce]
    if sf:
        return sf[0].name
    degree: dict[str, int] = defaultdict(int)
    for integ in roadmap.integrations:
        degree[integ.source] += 1
        degree[integ.target] += 1
    names = [s.name for s in roadmap.systems]
    return max(names, key=lambda n: (degree[n], -names.index(n)))


def system_map(roadmap: Roadmap, environment: str) -> SystemMap:
    """Every system and every flow of the roadmap, phases as in `environment`."""
    return SystemMap(
        environment=environment,
        hub=_hub(roadmap),
        nodes=tuple(MapNode(s.name, s.kind.value, s.vendor) for s in roadmap.systems),
        flows=tuple(MapFlow(i, i.phase(environment)) for i in roadmap.integrations),
    )
