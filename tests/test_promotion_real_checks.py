"""The real automated criteria: the policy pack over the raised plan, the rehearsal below.

The policy pack run takes a few seconds and is part of the default run. A full rehearsal
deploys a whole stack into the emulator (about 40 s), so it runs only with
PROVISIONER_REAL_REHEARSAL=1; `provisioner promote` itself always runs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from provisioner import promotion
from provisioner.promotion import promote

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TEXT = (ROOT / "roadmap.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_real_policy_pack_judges_the_integration_at_its_new_phase(tmp_path: Path) -> None:
    pytest.importorskip("provisioner.policy_harness")
    pytest.importorskip("provisioner.program")
    path = tmp_path / "roadmap.yaml"
    path.write_text(EXAMPLE_TEXT)

    outcome = promote(path, "quote-to-order", "prod", checks=(promotion.policy_pack_passes,))

    policy = outcome.assessment.criteria[-1]
    assert policy.id == "policy-pack"
    assert policy.status in ("passed", "failed"), policy.detail  # ran: never "not available"
    assert re.match(
        r"\d+ policies over \d+ resources of prod at phase 4: \d+ mandatory", policy.detail
    ), policy.detail
    if policy.status == "failed":
        assert policy.fix and path.read_text() == EXAMPLE_TEXT
    else:
        assert outcome.written and "prod: 4}" in path.read_text()


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("PROVISIONER_REAL_REHEARSAL") != "1",
    reason="a full rehearsal takes ~40 s; set PROVISIONER_REAL_REHEARSAL=1 to run it",
)
def test_real_rehearsal_runs_in_the_environment_below(tmp_path: Path) -> None:
    pytest.importorskip("provisioner.rehearsal")
    path = tmp_path / "roadmap.yaml"
    path.write_text(EXAMPLE_TEXT)

    outcome = promote(
        path, "quote-to-order", "prod", dry_run=True, checks=(promotion.rehearsal_passes,)
    )

    rehearsal = outcome.assessment.criteria[-1]
    assert rehearsal.id == "rehearsal"
    assert rehearsal.status in ("passed", "failed"), rehearsal.detail
    assert re.match(r"\d+ of \d+ rehearsal checks passed in staging", rehearsal.detail)
    assert path.read_text() == EXAMPLE_TEXT
