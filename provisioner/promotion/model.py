"""What a promotion is: the step asked for, each criterion's result, the outcome.

`plan_step` turns a request (integration, environment, optional target phase) into a
`Step`, refusing what cannot be promoted with a message that says why; `raised` is the
roadmap with the step applied, which the automated checks plan and rehearse.

Usage::

    step = plan_step(roadmap, "quote-to-order", "prod")   # Step(current=3, target=4, ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from contract.phases import ENVIRONMENTS
from provisioner.errors import UsageError
from provisioner.paths import ROADMAP
from roadmap.evidence import PHASE_NAMES
from roadmap.model import Roadmap

__all__ = [
    "LAST_PHASE",
    "Assessment",
    "AutomatedCheck",
    "Criterion",
    "Outcome",
    "Proposal",
    "Step",
    "below",
    "plan_step",
    "raised",
    "roadmap_option",
]

LAST_PHASE = 5
Status = Literal["passed", "failed"]


@dataclass(frozen=True)
class Step:
    """The proposed change: one integration's phase in one environment, from -> to."""

    integration: str
    index: int
    environment: str
    current: int
    target: int
    held_below: int | None = None

    @property
    def below(self) -> str | None:
        return below(self.environment)

    @property
    def phases_left(self) -> range:
        """The phases whose exit criteria this step needs (current .. target-1)."""
        return range(self.current, self.target)


@dataclass(frozen=True)
class Criterion:
    """One exit criterion's result; a failed one says what to do in `fix`."""

    id: str
    kind: Literal["order", "evidence", "automated", "roadmap"]
    status: Status
    detail: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "passed": self.passed,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Proposal:
    """What an automated check sees: the step, the roadmap before it and a copy after it."""

    step: Step
    before: Roadmap
    after: Roadmap
    roadmap_path: Path
    after_text: str = ""


AutomatedCheck = Callable[[Proposal], Criterion]


@dataclass(frozen=True)
class Assessment:
    """Every criterion of one step, in the order they were checked."""

    step: Step
    criteria: tuple[Criterion, ...]

    @property
    def failed(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.passed)

    @property
    def promotable(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Outcome:
    """What `promote` did: the assessment, the diff, and whether the file was written."""

    assessment: Assessment
    diff: str
    dry_run: bool
    written: bool
    path: Path
    notes: tuple[str, ...] = field(default=())

    @property
    def promoted(self) -> bool:
        return self.assessment.promotable

    def as_dict(self) -> dict[str, Any]:
        step = self.assessment.step
        lower = step.below
        return {
            "roadmap": str(self.path),
            "integration": step.integration,
            "environment": step.environment,
            "from_phase": step.current,
            "to_phase": step.target,
            "below": None if lower is None else {"environment": lower, "phase": step.held_below},
            "dry_run": self.dry_run,
            "promoted": self.promoted,
            "written": self.written,
            "criteria": [c.as_dict() for c in self.assessment.criteria],
            "failed": [c.id for c in self.assessment.failed],
            "diff": self.diff,
        }


def below(environment: str) -> str | None:
    """The environment under `environment` (dev -> None, staging -> dev, prod -> staging)."""
    position = ENVIRONMENTS.index(environment)
    return ENVIRONMENTS[position - 1] if position else None


def plan_step(roadmap: Roadmap, name: str, environment: str, to_phase: int | None = None) -> Step:
    """Resolve the request into a Step, or raise UsageError naming what is wrong."""
    if environment not in ENVIRONMENTS:
        raise UsageError(
            f"unknown environment {environment!r}; use one of: {', '.join(ENVIRONMENTS)}"
        )
    try:
        integration = roadmap.integration(name)
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    index = roadmap.integrations.index(integration)
    current = integration.phase(environment)
    if to_phase is None:
        if current >= LAST_PHASE:
            raise UsageError(
                f"{name} is at phase {LAST_PHASE} ({PHASE_NAMES[LAST_PHASE]}) in {environment}, "
                "the last phase; there is nothing to promote"
            )
        target = current + 1
    elif not 1 <= to_phase <= LAST_PHASE:
        raise UsageError(f"--to-phase {to_phase}: phases run from 1 to {LAST_PHASE}")
    elif to_phase <= current:
        raise UsageError(
            f"--to-phase {to_phase}: {name} is already at phase {current} in {environment}; "
            f"promotion only raises a phase (choose {current + 1}..{LAST_PHASE})"
            if current < LAST_PHASE
            else f"{name} is already at phase {current} in {environment}, the last phase"
        )
    else:
        target = to_phase
    lower = below(environment)
    held = None if lower is None else integration.phase(lower)
    return Step(name, index, environment, current, target, held)


def raised(roadmap: Roadmap, step: Step) -> Roadmap:
    """A copy of the roadmap with the step applied (not re-validated: checks may need it)."""
    integration = roadmap.integrations[step.index]
    phases = integration.phases.model_copy(update={step.environment: step.target})
    integrations = list(roadmap.integrations)
    integrations[step.index] = integration.model_copy(update={"phases": phases})
    return roadmap.model_copy(update={"integrations": tuple(integrations)})


def roadmap_option(path: Path | str | None) -> str:
    """` --roadmap PATH` for a fix hint when the user named another roadmap than the default,
    so the command the hint suggests checks the same file."""
    if path is None or Path(path).resolve() == ROADMAP.resolve():
        return ""
    return f" --roadmap {path}"
