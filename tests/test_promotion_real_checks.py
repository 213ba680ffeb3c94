"""The real automated criteria: the policy pack over the raised plan, the rehearsal below.

Both run for real: the policy pack over the plan with the raised phase (a few seconds) and
a full rehearsal of the environment below in the emulator (about 20 s). quote-to-order's
evidence for leaving phase 3 is recorded, so on the example both must pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provisioner import promotion
from provisioner.promotion import promote

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TEXT = (ROOT / "roadmap.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_real_policy_pack_judges_the_integration_at_its_new_phase(tmp_path: Path) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_text(EXAMPLE_TEXT)

    outcome = promote(path, "quote-to-order", "prod", checks=(promotion.policy_pack_passes,))

    policy = outcome.assessment.criteria[-1]
    assert policy.id == "policy-pack"
    assert policy.status == "passed", policy.detail
    assert re.match(
        r"\d+ policies over \d+ resources of prod at phase 4: \d+ mandatory", policy.detail
    ), policy.detail
    assert outcome.written and "prod: 4}" in path.read_text()


@pytest.mark.slow
def test_real_rehearsal_runs_in_the_environment_below(tmp_path: Path) -> None:
    path = tmp_path / "roadmap.yaml"
    path.write_text(EXAMPLE_TEXT)

    outcome = promote(
        path, "quote-to-order", "prod", dry_run=True, checks=(promotion.rehearsal_passes,)
    )

    rehearsal = outcome.assessment.criteria[-1]
    assert rehearsal.id == "rehearsal"
    assert rehearsal.status == "passed", rehearsal.detail
    assert re.match(r"\d+ of \d+ rehearsal checks passed in staging", rehearsal.detail)
    assert path.read_text() == EXAMPLE_TEXT
