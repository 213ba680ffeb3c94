"""The controls table (`integration_policies.controls`): every control it marks met is
enforced by a policy the pack runs, every resource type the program creates has its table,
and docs/controls.md is generated from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from program_runs import stack_run

from integration_policies import POLICIES
from integration_policies.controls import ATTACHED, CONTROLS, GAP, MET, NOT_APPLICABLE, markdown

ROOT = Path(__file__).resolve().parents[1]
ALL = [(t.title, c) for t, controls in CONTROLS.items() for c in controls]


@pytest.mark.parametrize(("table", "control"), ALL, ids=[f"{t}:{c.ids}" for t, c in ALL])
def test_each_control_is_met_by_running_policies_or_says_why_not(table: str, control: Any) -> None:
    assert control.status in (MET, NOT_APPLICABLE, GAP)
    assert control.how.strip()
    if control.status == MET:
        assert control.enforced_by, f"{control.ids} is met but nothing in the pack enforces it"
        assert set(control.enforced_by) <= {p.name for p in POLICIES}
    else:
        assert not control.enforced_by


def test_every_resource_type_the_program_creates_has_its_table() -> None:
    tabled = {token for t in CONTROLS for token in t.tokens} | set(ATTACHED)
    created = {r.type for r in stack_run("prod").resources if r.custom}
    assert created - tabled == set()


def test_docs_controls_md_is_generated_from_the_table() -> None:
    assert (ROOT / "docs/controls.md").read_text() == markdown(), (
        "regenerate: python policies/integration_policies/controls.py > docs/controls.md"
    )
