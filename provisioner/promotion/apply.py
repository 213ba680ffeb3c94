"""`promote`: check every criterion of a step and, when all pass, write the one-value edit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from provisioner.promotion.checks import AUTOMATED_CHECKS
from provisioner.promotion.criteria import assess
from provisioner.promotion.editing import edit_phase, unified_diff
from provisioner.promotion.files import load_from_text, read_text, safe_load, write_atomically
from provisioner.promotion.model import (
    Assessment,
    AutomatedCheck,
    Criterion,
    Outcome,
    plan_step,
    roadmap_option,
)
from roadmap.io import parse_roadmap
from roadmap.problems import RoadmapError

__all__ = ["promote"]


def promote(
    path: Path,
    name: str,
    environment: str,
    to_phase: int | None = None,
    *,
    dry_run: bool = False,
    checks: Sequence[AutomatedCheck] = AUTOMATED_CHECKS,
) -> Outcome:
    """Check every criterion of the promotion and, when all pass, write it (unless dry run)."""
    raw, text = read_text(path)
    roadmap = load_from_text(text, path)
    step = plan_step(roadmap, name, environment, to_phase)
    new_text = edit_phase(text, step, path.name)
    assessment = assess(roadmap, step, checks=checks, roadmap_path=path, after_text=new_text)

    # Never write an invalid roadmap: validate exactly the text that would be written.
    try:
        parse_roadmap(safe_load(new_text, str(path)), source=path.name)
    except RoadmapError as err:
        order_failed = not assessment.criteria[0].passed
        own = f"integrations[{step.index}].phases."
        problems = [p for p in err.problems if not (order_failed and p.loc.startswith(own))]
        if problems:
            invalid = Criterion(
                "roadmap-valid",
                "roadmap",
                "failed",
                "the edited roadmap would break its rules: "
                + "; ".join(p.render(path.name) for p in problems),
                "fix those problems in the roadmap first (provisioner validate"
                f"{roadmap_option(path)}), then rerun",
            )
            assessment = Assessment(step, (*assessment.criteria, invalid))

    diff = unified_diff(text, new_text, path)
    written = False
    if assessment.promotable and not dry_run:
        write_atomically(path, new_text.encode("utf-8"), raw)
        written = True
    return Outcome(assessment, diff, dry_run, written, path)
