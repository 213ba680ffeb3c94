"""What the checklist's rules are made of: verdicts, findings, the inputs, shared findings.

A rule yields findings; `ChecklistItem.verdict` follows from them. The helpers here give
the findings several rules share: recorded exit-criteria evidence (`evidence_finding`),
evidence still due from a person (`due_finding`) and the policy pack's verdict on an
integration (`policy_finding`).

Usage::

    yield evidence_finding(inputs, integ, 2, "validated_samples")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contract.phases import ENVIRONMENTS
from provisioner.context import StackContext
from provisioner.report.sources import PolicyResults, PromotionResults
from roadmap.evidence import PHASE_NAMES, REQUIREMENTS, SampleValidation, SignOff
from roadmap.integrations import Integration
from roadmap.model import Roadmap
from roadmap.systems import SystemKind

__all__ = [
    "HIGH_VALUE_TARGET_KINDS",
    "REPORTING_KINDS",
    "ChecklistItem",
    "Finding",
    "Inputs",
    "Question",
    "Rule",
    "Verdict",
    "bad",
    "describe",
    "due_finding",
    "evidence_finding",
    "info",
    "is_high_value",
    "ok",
    "policy_finding",
    "question",
    "unavailable",
]


# Systems people act on: a wrong or late record there costs money or a customer.
HIGH_VALUE_TARGET_KINDS = frozenset(
    {
        SystemKind.CRM,
        SystemKind.ERP,
        SystemKind.ACCOUNTING,
        SystemKind.ECOMMERCE,
        SystemKind.BILLING,
        SystemKind.LOGISTICS,
    }
)
# Flows whose data must be this fresh are business-critical whatever their target.
HIGH_VALUE_MAX_STALENESS_MINUTES = 15
# Reporting targets: loads there are snapshots for analysis, not upserts into operations.
REPORTING_KINDS = frozenset({SystemKind.BI, SystemKind.ANALYTICS})


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNAVAILABLE = "not available"
    WAITING = "waiting"  # evidence a person still has to give; not a pass
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One line of evidence and what it means for the verdict."""

    status: Verdict
    text: str


@dataclass(frozen=True)
class Inputs(StackContext):
    """Everything an item may look at: the stack, and the other parts' results for it."""

    policy: PolicyResults
    promotion: PromotionResults

    def phase(self, integ: Integration) -> int:
        return integ.phase(self.environment)

    def active(self) -> list[Integration]:
        """Integrations that provision anything here (phase >= 2: credentials, role, key)."""
        return [i for i in self.roadmap.integrations if self.phase(i) >= 2]

    def live(self) -> list[Integration]:
        """Integrations that move records here (phase >= 3: queue or schedule, alarms)."""
        return [i for i in self.roadmap.integrations if self.phase(i) >= 3]

    def lower_stacks(self) -> tuple[str, ...]:
        return ENVIRONMENTS[: ENVIRONMENTS.index(self.environment)]


Rule = Callable[[Inputs], Iterator[Finding]]


@dataclass(frozen=True)
class Question:
    """A checklist question and the rule that answers it (its docstring states the rule)."""

    key: str
    question: str
    check: Rule

    @property
    def rule(self) -> str:
        """The rule's docstring as one paragraph: what the report shows under the question."""
        return " ".join((self.check.__doc__ or "").split())

    def __call__(self, inputs: Inputs) -> Iterator[Finding]:
        return self.check(inputs)


def question(key: str, text: str) -> Callable[[Rule], Question]:
    """Declare a rule as the answer to a checklist question (`key` names it in the report)."""
    return lambda check: Question(key, text, check)


@dataclass(frozen=True)
class ChecklistItem(Question):
    """A question answered for one stack: the evidence found."""

    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        statuses = {f.status for f in self.findings}
        if Verdict.FAIL in statuses:
            return Verdict.FAIL
        if Verdict.UNAVAILABLE in statuses:
            return Verdict.UNAVAILABLE
        if Verdict.WAITING in statuses:
            return Verdict.WAITING
        return Verdict.PASS


def ok(text: str) -> Finding:
    return Finding(Verdict.PASS, text)


def bad(text: str) -> Finding:
    return Finding(Verdict.FAIL, text)


def info(text: str) -> Finding:
    return Finding(Verdict.INFO, text)


def unavailable(text: str) -> Finding:
    return Finding(Verdict.UNAVAILABLE, text)


def is_high_value(roadmap: Roadmap, integ: Integration) -> bool:
    """Writes into an operational system (CRM, ERP, accounting, commerce) or must be fresh."""
    target = next((s for s in roadmap.systems if s.name == integ.target), None)
    operational = target is not None and target.kind in HIGH_VALUE_TARGET_KINDS
    fresh = integ.service_levels.max_staleness_minutes <= HIGH_VALUE_MAX_STALENESS_MINUTES
    return operational or fresh


def describe(item: Any) -> str:
    """One line for a recorded piece of evidence (a sign-off, a link, a sample report)."""
    if isinstance(item, SignOff):
        return f"{item.name} ({item.role}), {item.date.isoformat()}"
    if isinstance(item, SampleValidation):
        return f"{item.records} records validated {item.date.isoformat()}"
    return str(item)


def evidence_finding(inputs: Inputs, integ: Integration, phase: int, field: str) -> Finding:
    """The roadmap's recorded exit-criteria evidence for leaving `phase` (the promotion model).

    Required once the integration is past `phase` in this stack; promotion demands it, so
    a phase above it without the evidence means the roadmap was edited around promotion.
    """
    what = next(r.what for r in REQUIREMENTS[phase] if r.field == field)
    item = integ.evidence.recorded(phase, field)
    if item is not None:
        return ok(f"{integ.name}: {what}: {describe(item)}")
    return bad(
        f"{integ.name}: at phase {inputs.phase(integ)} in {inputs.stack} but {what} (to leave "
        f"phase {phase}, {PHASE_NAMES[phase]}) is not recorded; record it under "
        f"evidence.{phase}.{field}"
    )


def due_finding(inputs: Inputs, integ: Integration, phase: int, field: str) -> Finding:
    """Evidence to leave the integration's current phase: recorded, or waiting on its owner.

    Not a failure (promotion will demand it), but not a pass either: the question it
    answers stays open until a person gives it.
    """
    item = integ.evidence.recorded(phase, field)
    what = next(r.what for r in REQUIREMENTS[phase] if r.field == field)
    if item is not None:
        return ok(f"{integ.name}: {what}: {describe(item)}")
    return Finding(
        Verdict.WAITING,
        f"{integ.name}: {what} not given yet; {integ.owner_team} to record it under "
        f"evidence.{phase}.{field} before phase {phase + 1}",
    )


def policy_finding(inputs: Inputs, integ: Integration, what: str) -> Finding:
    """The policy pack's verdict on the integration's resources in this stack."""
    if not inputs.policy.available:
        return unavailable(f"{integ.name}: {what}: {inputs.policy.reason}")
    mandatory = [v for v in inputs.policy.for_integration(integ.name) if v.mandatory]
    if mandatory:
        names = ", ".join(sorted({v.policy for v in mandatory}))
        return bad(f"{integ.name}: {len(mandatory)} mandatory policy violation(s): {names}")
    return ok(f"{integ.name}: {what}: policy pack passes ({len(inputs.policy.policies)} policies)")
