"""Reports of a roadmap in a stack, built as `provisioner report` builds them, for the
report tests; what a test does not pass was "not run in this test"::

    report = report_of(load_roadmap(ROOT / "roadmap.yaml"), "dev")
"""

from __future__ import annotations

from pathlib import Path

from provisioner.context import StackContext
from provisioner.report import CostResults, PolicyResults, PromotionResults, Report, build_report
from roadmap.model import Roadmap
from roadmap.settings import StackSettings
from roadmap.stack_config import load_stack_settings

ROOT = Path(__file__).resolve().parent.parent
NOT_RUN = "not run in this test"


def report_of(
    roadmap: Roadmap,
    stack: str = "dev",
    *,
    settings: StackSettings | None = None,
    policy: PolicyResults | None = None,
    costs: CostResults | None = None,
    promotion: PromotionResults | None = None,
    roadmap_path: Path = ROOT / "roadmap.yaml",
) -> Report:
    """The report of `roadmap` in `stack` (its settings from the repository's stack file)."""
    context = StackContext(
        stack, settings or load_stack_settings(ROOT / "stacks", stack), roadmap, roadmap_path
    )
    return build_report(
        context,
        policy=policy or PolicyResults.unavailable(NOT_RUN),
        costs=costs or CostResults.unavailable(NOT_RUN),
        promotion=promotion or PromotionResults.unavailable(NOT_RUN),
    )
