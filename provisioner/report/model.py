"""The report's content as data: matrices, checklist, policy verdicts and costs for one stack.

Rendering (HTML, Markdown) only formats what is built here, so tests can check the
content once and both formats show the same facts.

Usage::

    report = build_report(load_stack_context("prod"), policy=..., costs=..., promotion=...)
    report.checklist[0].verdict  # Verdict.PASS
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.phases import ENVIRONMENTS
from provisioner.context import StackContext
from provisioner.report.checklist import PHASE_NAMES, ChecklistItem, Inputs, Verdict, evaluate
from provisioner.report.sources import CostResults, PolicyResults, PromotionResults
from provisioner.violations import Violation
from roadmap.integrations import Direction, Integration
from roadmap.model import Roadmap

__all__ = [
    "MatrixCell",
    "PhaseCell",
    "PolicyVerdict",
    "Report",
    "build_report",
    "phase_matrix",
    "policy_verdicts",
    "source_of_truth_matrix",
]


@dataclass(frozen=True)
class MatrixCell:
    """One object in one system: owned (whole or some fields), read from, written into."""

    owner: bool = False
    owned_fields: tuple[str, ...] = ()
    read_by: tuple[str, ...] = ()  # integrations that read the object from this system
    written_by: tuple[str, ...] = ()  # integrations that write the object into this system

    @property
    def empty(self) -> bool:
        return not (self.owner or self.owned_fields or self.read_by or self.written_by)


def source_of_truth_matrix(roadmap: Roadmap) -> dict[str, dict[str, MatrixCell]]:
    """objects x systems: who owns each object (and field), which flows read and write it."""
    matrix: dict[str, dict[str, MatrixCell]] = {}
    for obj in roadmap.objects:
        row = {}
        for system in roadmap.systems:
            reads, writes = [], []
            for integ in roadmap.integrations:
                if obj.name not in integ.objects:
                    continue
                both = integ.direction is Direction.BIDIRECTIONAL
                if system.name == integ.source or (both and system.name == integ.target):
                    reads.append(integ.name)
                if system.name == integ.target or (both and system.name == integ.source):
                    writes.append(integ.name)
            fields = tuple(f for f, owner in obj.field_owners.items() if owner == system.name)
            row[system.name] = MatrixCell(
                owner=obj.owner == system.name,
                owned_fields=fields,
                read_by=tuple(reads),
                written_by=tuple(writes),
            )
        matrix[obj.name] = row
    return matrix


@dataclass(frozen=True)
class PhaseCell:
    """An integration's phase in one environment and what blocks its next step there."""

    phase: int
    blockers: tuple[str, ...]
    criteria: str  # the exit-criteria check's state: "checked", or why it is not available


def _ceiling(integ: Integration, environment: str) -> str | None:
    """The roadmap's own limit: no phase past 5, none above the environment below."""
    phase = integ.phase(environment)
    if phase >= 5:
        return "at the last phase (5, automation)"
    index = ENVIRONMENTS.index(environment)
    if index > 0:
        lower = ENVIRONMENTS[index - 1]
        if integ.phase(lower) <= phase:
            return f"{lower} is at phase {integ.phase(lower)}; promote it in {lower} first"
    return None


def phase_matrix(roadmap: Roadmap, promotion: PromotionResults) -> dict[str, dict[str, PhaseCell]]:
    """integration x environment: phase and what blocks the next promotion there."""
    out: dict[str, dict[str, PhaseCell]] = {}
    for integ in roadmap.integrations:
        row = {}
        for env in ENVIRONMENTS:
            if promotion.available:
                blockers = promotion.blockers.get((integ.name, env), ())
                criteria = "checked"
            else:
                # The roadmap's own ceiling still holds; the exit criteria come from promotion.
                ceiling = _ceiling(integ, env)
                blockers = (ceiling,) if ceiling else ()
                criteria = f"exit criteria not available: {promotion.reason}"
            row[env] = PhaseCell(integ.phase(env), blockers, criteria)
        out[integ.name] = row
    return out


@dataclass(frozen=True)
class PolicyVerdict:
    """The policy pack's verdict on one integration's resources in the stack."""

    integration: str
    phase: int
    verdict: Verdict
    violations: tuple[Violation, ...]
    note: str


def policy_verdicts(
    roadmap: Roadmap, environment: str, policy: PolicyResults
) -> list[PolicyVerdict]:
    """Pass, fail (a mandatory violation) or not available, per integration."""
    out = []
    for integ in roadmap.integrations:
        phase = integ.phase(environment)
        found = policy.for_integration(integ.name)
        if not policy.available:
            verdict, note = Verdict.UNAVAILABLE, policy.reason
        elif any(v.mandatory for v in found):
            verdict = Verdict.FAIL
            note = f"{sum(v.mandatory for v in found)} mandatory violation(s)"
        elif phase < 2:
            verdict, note = Verdict.INFO, "phase 1 (discovery): nothing provisioned"
        else:
            advisory = len(found)
            verdict = Verdict.PASS
            note = f"no mandatory violation{f', {advisory} advisory' if advisory else ''}"
        out.append(PolicyVerdict(integ.name, phase, verdict, found, note))
    return out


@dataclass(frozen=True)
class Report(Inputs):
    """Everything the report shows for one stack: what the checklist looked at, the costs,
    and the checklist's answers."""

    costs: CostResults
    checklist: tuple[ChecklistItem, ...]

    @property
    def source_of_truth(self) -> dict[str, dict[str, MatrixCell]]:
        return source_of_truth_matrix(self.roadmap)

    @property
    def phases(self) -> dict[str, dict[str, PhaseCell]]:
        return phase_matrix(self.roadmap, self.promotion)

    @property
    def policy_verdicts(self) -> list[PolicyVerdict]:
        return policy_verdicts(self.roadmap, self.environment, self.policy)

    def counts(self) -> dict[Verdict, int]:
        """How many checklist items have each verdict."""
        out = dict.fromkeys((Verdict.PASS, Verdict.WAITING, Verdict.FAIL, Verdict.UNAVAILABLE), 0)
        for item in self.checklist:
            out[item.verdict] += 1
        return out


def phase_label(phase: int) -> str:
    return f"{phase} {PHASE_NAMES[phase]}"


def direction_label(integ: Integration, environment: str) -> str:
    """The flow's direction as provisioned here: a bidirectional flow runs back from phase 3."""
    flows = integ.flows(environment)
    if len(flows) > 1:
        return "both ways: " + ", ".join(f"{a} -> {b}" for _, a, b in flows)
    if integ.bidirectional:
        return "both ways (one way until phase 3)"
    return "one way"


def build_report(
    context: StackContext,
    *,
    policy: PolicyResults,
    costs: CostResults,
    promotion: PromotionResults,
) -> Report:
    """Evaluate the checklist and gather every section for the stack."""
    c = context
    inputs = Inputs(c.stack, c.settings, c.roadmap, c.roadmap_path, policy, promotion)
    checklist = tuple(evaluate(inputs))
    return Report(
        c.stack, c.settings, c.roadmap, c.roadmap_path, policy, promotion, costs, checklist
    )
