"""The exit criteria of a step, in the order they are checked: order, evidence, automated.

Order and recorded evidence are read from the roadmap alone; automated checks
(`provisioner.promotion.checks`) plan or rehearse and are run by `run_check`, which turns a
check's own crash into a failed criterion. `pending` assesses every integration's next step.

Usage::

    assessment = assess(roadmap, step, checks=AUTOMATED_CHECKS, roadmap_path=path,
                        after_text=edit_phase(text, step))
    assessment.failed  # the criteria that block it, each with its fix
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.phases import ENVIRONMENTS
from provisioner.promotion.editing import edit_phase
from provisioner.promotion.model import (
    LAST_PHASE,
    Assessment,
    AutomatedCheck,
    Criterion,
    Proposal,
    Step,
    plan_step,
    raised,
    roadmap_option,
)
from roadmap.evidence import PHASE_NAMES, REQUIREMENTS, Measurement, SampleValidation, SignOff
from roadmap.integrations import Integration
from roadmap.model import Roadmap

__all__ = [
    "Pending",
    "assess",
    "describe",
    "evidence_criteria",
    "order_criterion",
    "pending",
    "run_check",
]


def order_criterion(roadmap: Roadmap, step: Step, roadmap_path: Path | None = None) -> Criterion:
    """The new phase may not exceed the phase held in the environment below."""
    lower = step.below
    if lower is None:
        return Criterion(
            "order",
            "order",
            "passed",
            f"{step.environment} is the lowest environment; only phase {LAST_PHASE} limits it",
        )
    held = roadmap.integrations[step.index].phase(lower)
    if step.target <= held:
        return Criterion(
            "order",
            "order",
            "passed",
            f"phase {step.target} in {step.environment} does not exceed phase {held} in {lower}",
        )
    return Criterion(
        "order",
        "order",
        "failed",
        f"phase {step.target} in {step.environment} would be ahead of phase {held} in {lower}",
        f"promote {lower} first: provisioner promote {step.integration} --to {lower}"
        + (f" --to-phase {step.target}" if step.target > held + 1 else "")
        + roadmap_option(roadmap_path),
    )


def describe(item: Any) -> str:
    """One line for a recorded piece of evidence."""
    if isinstance(item, SignOff):
        return f"{item.name} <{item.email}> ({item.role}), {item.date.isoformat()}" + (
            f", {item.link}" if item.link else ""
        )
    if isinstance(item, SampleValidation):
        return f"{item.records} records validated {item.date.isoformat()}, {item.link}"
    if isinstance(item, Measurement):
        unit = f" {item.unit}" if item.unit else ""
        verdict = "improved" if item.improved else f"NOT improved ({item.better} is better)"
        return (
            f"{item.metric}: {item.before:g} -> {item.after:g}{unit}, {verdict}, "
            f"{item.date.isoformat()}"
        )
    return str(item)


def evidence_criteria(
    integration: Integration, index: int, phases: Sequence[int], source: str = "roadmap.yaml"
) -> list[Criterion]:
    """One criterion per evidence item that leaving each of `phases` needs."""
    out = []
    for phase in phases:
        for req in REQUIREMENTS[phase]:
            item = integration.evidence.recorded(phase, req.field)
            cid = f"evidence.{phase}.{req.field}"
            if item is not None:
                out.append(Criterion(cid, "evidence", "passed", describe(item)))
                continue
            out.append(
                Criterion(
                    cid,
                    "evidence",
                    "failed",
                    f"{req.what} (to leave phase {phase}, {PHASE_NAMES[phase]}) is not recorded",
                    f"record it in {source} at integrations[{index}].evidence.{phase}."
                    f"{req.field}: {req.example}",
                )
            )
    return out


def run_check(check: AutomatedCheck, proposal: Proposal) -> Criterion:
    """Run one automated check; its own crash is a failed criterion, never a pass.

    Each takes from seconds to a minute or more (a plan and the policy pack, a rehearsal),
    so it says on stderr what it is doing, and how long it took, keeping stdout for results.
    """
    name = getattr(check, "__name__", repr(check))
    step = proposal.step
    what = name.removesuffix("_passes").replace("_", " ")
    print(
        f"checking {what} for {step.integration} -> {step.environment} phase {step.target} ...",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    try:
        return check(proposal)
    except Exception as err:
        return Criterion(
            name.removesuffix("_passes").replace("_", "-"),
            "automated",
            "failed",
            f"the check itself failed: {type(err).__name__}: {err}",
            "rerun with PROVISIONER_DEBUG=1 and report it if it persists; the promotion "
            "cannot be approved without this check",
        )
    finally:
        print(f"  {what}: {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)


def assess(
    roadmap: Roadmap,
    step: Step,
    *,
    checks: Sequence[AutomatedCheck] = (),
    roadmap_path: Path = Path("roadmap.yaml"),
    after_text: str = "",
) -> Assessment:
    """Every criterion of `step`: order, recorded evidence, then each automated check.

    `after_text` is the roadmap file as it would be written; checks that run the program
    plan from it.
    """
    integration = roadmap.integrations[step.index]
    criteria = [order_criterion(roadmap, step, roadmap_path)]
    criteria += evidence_criteria(integration, step.index, step.phases_left, roadmap_path.name)
    if checks:
        proposal = Proposal(step, roadmap, raised(roadmap, step), roadmap_path, after_text)
        criteria += [run_check(check, proposal) for check in checks]
    return Assessment(step, tuple(criteria))


@dataclass(frozen=True)
class Pending:
    """An integration's next promotion in one environment (None at the last phase)."""

    integration: str
    environment: str
    phase: int
    assessment: Assessment | None


def pending(
    roadmap: Roadmap,
    *,
    checks: Sequence[AutomatedCheck] = (),
    roadmap_path: Path = Path("roadmap.yaml"),
    text: str = "",
) -> list[Pending]:
    """The next one-step promotion of every integration in every environment.

    Automated checks are expensive (a plan, a policy run, a rehearsal each), so they run
    only for promotions that order and recorded evidence do not already block.
    """
    out = []
    for integration in roadmap.integrations:
        for environment in ENVIRONMENTS:
            phase = integration.phase(environment)
            if phase >= LAST_PHASE:
                out.append(Pending(integration.name, environment, phase, None))
                continue
            step = plan_step(roadmap, integration.name, environment)
            recorded = assess(roadmap, step, roadmap_path=roadmap_path)
            if checks and recorded.promotable:
                after = edit_phase(text, step, roadmap_path.name)
                recorded = assess(
                    roadmap, step, checks=checks, roadmap_path=roadmap_path, after_text=after
                )
            out.append(Pending(integration.name, environment, phase, recorded))
    return out
