"""The report's first screen: what runs where, what waits on a person, what fails, the cost.

Written for the people the roadmap serves who do not read evidence tables: sales
operations (what is live where), finance (what it costs) and IT (what fails, what waits).
Every line is built from the same facts as the sections below it.

Usage::

    glance = at_a_glance(report)
    glance.stages["prod"]["live"]  # ('quote-to-order', ...)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contract.phases import ENVIRONMENTS
from provisioner.report.checklist import Verdict
from provisioner.report.model import Report
from roadmap.evidence import REQUIREMENTS
from roadmap.integrations import Integration

__all__ = ["STAGES", "Glance", "Waiting", "at_a_glance", "grouped_sentences"]

# What an integration's phase means to someone who does not know the phases.
STAGES: dict[str, str] = {
    "live": "moves data (phase 3 and up)",
    "being built": "accounts, keys and credentials in place, no data moves yet (phase 2)",
    "planned": "agreed on paper, nothing built yet (phase 1)",
}


def stage_of(phase: int) -> str:
    return "live" if phase >= 3 else "being built" if phase == 2 else "planned"


@dataclass(frozen=True)
class Waiting:
    """Evidence a person still has to give before an integration can move on."""

    integration: str
    what: str
    owner: str
    phase: int
    environments: tuple[str, ...]
    since: dt.date | None  # when the step before was signed: how long this has waited

    def sentence(self) -> str:
        return f"{self.integration}: {self.what}, from {self.owner}, {self.step()}"

    def step(self) -> str:
        where = ", ".join(self.environments)
        since = f", waiting since {self.since.isoformat()}" if self.since else ""
        return f"to move from phase {self.phase} to {self.phase + 1} in {where}{since}"


def grouped_sentences(waiting: tuple[Waiting, ...]) -> list[str]:
    """One line per integration and step: everything its owner still has to give."""
    groups: dict[tuple[str, int], list[Waiting]] = {}
    for item in waiting:
        groups.setdefault((item.integration, item.phase), []).append(item)
    return [
        f"{items[0].integration}: {'; '.join(w.what for w in items)}; from "
        f"{items[0].owner}, {items[0].step()}"
        for items in groups.values()
    ]


@dataclass(frozen=True)
class Glance:
    stack: str
    stages: dict[str, dict[str, tuple[str, ...]]]
    waiting: tuple[Waiting, ...]
    failing: tuple[str, ...]
    cost: str


def _latest_date(integ: Integration, phase: int) -> dt.date | None:
    """The newest date among the evidence recorded for leaving `phase`."""
    dates = []
    for requirement in REQUIREMENTS.get(phase, ()):
        date = getattr(integ.evidence.recorded(phase, requirement.field), "date", None)
        if isinstance(date, dt.date):
            dates.append(date)
    return max(dates, default=None)


def _waiting(integ: Integration) -> list[Waiting]:
    by_phase: dict[int, list[str]] = {}
    for env in ENVIRONMENTS:
        phase = integ.phase(env)
        if phase < 5:
            by_phase.setdefault(phase, []).append(env)
    return [
        Waiting(
            integ.name,
            requirement.what,
            integ.owner_team,
            phase,
            tuple(envs),
            _latest_date(integ, phase - 1),
        )
        for phase, envs in sorted(by_phase.items())
        for requirement in integ.evidence.missing(phase)
    ]


def _cost(report: Report) -> str:
    costs = report.costs
    if not costs.available:
        return f"The monthly cost in {report.stack} could not be worked out: {costs.reason}."
    fixed = sum(c.fixed_usd for c in costs.breakdown.values()) if costs.breakdown else None
    split = (
        f" (${fixed:,.2f} whatever the traffic, ${costs.total - fixed:,.2f} for the expected "
        "record volumes)"
        if fixed is not None
        else ""
    )
    return (
        f"{report.stack} costs about ${costs.total:,.2f} a month in AWS charges for "
        f"{len(costs.per_integration)} integration(s){split}."
    )


def at_a_glance(report: Report) -> Glance:
    """The first screen's facts for the report's stack (stages for every environment)."""
    roadmap = report.roadmap
    stages = {
        env: {
            stage: tuple(i.name for i in roadmap.integrations if stage_of(i.phase(env)) == stage)
            for stage in STAGES
        }
        for env in ENVIRONMENTS
    }
    waiting = tuple(w for integ in roadmap.integrations for w in _waiting(integ))
    failing = tuple(
        f"{item.question} " + "; ".join(f.text for f in item.findings if f.status is Verdict.FAIL)
        for item in report.checklist
        if item.verdict is Verdict.FAIL
    )
    return Glance(report.stack, stages, waiting, failing, _cost(report))
