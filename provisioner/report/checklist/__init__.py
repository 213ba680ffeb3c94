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
    Rule,
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


CHECKLIST: tuple[tuple[str, str, Rule], ...] = (
    ("systems-listed", "Is every system listed?", systems_listed),
    ("source-of-truth", "Is the source of truth defined for each object?", source_of_truth),
    ("cleanup-before-sync", "Is data cleaned up before it syncs?", cleanup_before_sync),
    (
        "pattern-per-workflow",
        "Does each workflow have an integration pattern?",
        pattern_per_workflow,
    ),
    (
        "api-limits-credentials",
        "Are API limits, scopes, service accounts and rotation documented?",
        api_limits_and_credentials,
    ),
    (
        "retry-replay-monitoring",
        "Are retry, replay, monitoring and reconciliation defined per integration?",
        retry_replay_monitoring,
    ),
    (
        "uat-contract-tests",
        "Do high-value flows have UAT and contract tests?",
        uat_and_contract_tests,
    ),
    ("ownership-agreed", "Is ownership agreed?", ownership_agreed),
    ("phased-rollout", "Is the rollout phased?", phased_rollout),
    (
        "post-go-live",
        "Are post-go-live support and reporting validation in place?",
        post_go_live,
    ),
)
"""(key, question, rule) in the article's order; each rule's docstring states it."""


def evaluate(inputs: Inputs) -> list[ChecklistItem]:
    """Answer every checklist question for the stack."""
    return [
        ChecklistItem(key, question, _rule_text(rule), tuple(rule(inputs)))
        for key, question, rule in CHECKLIST
    ]


def _rule_text(rule: Rule) -> str:
    """The rule's docstring as one paragraph: what the report shows under the question."""
    return " ".join((rule.__doc__ or "").split())
