"""The roadmap article's checklist, each question answered for one stack with its evidence.

Every item is a small pure function of the roadmap, the stack's settings and the other
parts' results. It returns findings (one line of evidence each, with its own status); the
item's verdict follows from them: any `fail` fails it, else any `not available` makes it
not available (a part it needs is missing: never a silent pass), else it passes.

The package: `findings` (verdicts, findings, inputs and the findings rules share),
`design` (systems, source of truth, cleanup, patterns) and `operations` (credentials,
recovery, tests, ownership, rollout, post-go-live); this module lists them in order.

Usage::

    c = load_stack_context("prod")
    items = evaluate(Inputs(c.stack, c.settings, c.roadmap, c.roadmap_path, policy, promotion))
    [(item.key, item.verdict) for item in items]
"""

from __future__ import annotations

from provisioner.report.checklist.design import (
    cleanup_before_sync,
    pattern_per_workflow,
    source_of_truth,
    systems_listed,
)
from provisioner.report.checklist.findings import (
    HIGH_VALUE_TARGET_KINDS,
    ChecklistItem,
    Finding,
    Inputs,
    Question,
    Verdict,
    is_high_value,
)
from provisioner.report.checklist.operations import (
    api_limits_and_credentials,
    ownership_agreed,
    phased_rollout,
    post_go_live,
    retry_replay_monitoring,
    uat_and_contract_tests,
)
from roadmap.evidence import PHASE_NAMES

__all__ = [
    "CHECKLIST",
    "HIGH_VALUE_TARGET_KINDS",
    "PHASE_NAMES",
    "ChecklistItem",
    "Finding",
    "Inputs",
    "Verdict",
    "evaluate",
    "is_high_value",
]


CHECKLIST: tuple[Question, ...] = (
    systems_listed,
    source_of_truth,
    cleanup_before_sync,
    pattern_per_workflow,
    api_limits_and_credentials,
    retry_replay_monitoring,
    uat_and_contract_tests,
    ownership_agreed,
    phased_rollout,
    post_go_live,
)
"""The questions in the article's order; each rule states its question, and its docstring
the rule."""


def evaluate(inputs: Inputs) -> list[ChecklistItem]:
    """Answer every checklist question for the stack."""
    return [ChecklistItem(q.key, q.question, q.check, tuple(q.check(inputs))) for q in CHECKLIST]
