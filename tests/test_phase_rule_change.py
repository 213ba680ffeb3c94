"""One phase rule changed in one place, and every part of the project follows it.

`contract/phases.py` says which alarms each phase requires. In a copy of the project, the
`throttles` alarm moves from phase 3 to phase 4; then, in that copy, the program's plan,
the policy pack, the rehearsal's alarm check and the report's checklist must all agree with
the new rule, while the unchanged pack (this checkout's) refuses the copy's plan: the parts
read the rule from the table, not from a memory of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.phases import ALARMS_BY_PHASE, first_phase
from provisioner.policy_harness import check_resources
from provisioner.program import stack_config

ROOT = Path(__file__).resolve().parent.parent
MOVED = "throttles"
# Two example integrations: one at phase 3 in dev, one at phase 4.
AT_3, AT_4 = "inventory-to-promise", "order-to-invoice"
SKIPPED = {".git", ".venv", "out", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _literal(kinds: tuple[str, ...]) -> str:
    """A tuple of kinds as the table writes it (ruff format: double quotes)."""
    return "(" + ", ".join(f'"{k}"' for k in kinds) + ("," if len(kinds) == 1 else "") + ")"


def _copy_with_moved_rule(dest: Path) -> None:
    shutil.copytree(ROOT, dest, ignore=lambda _dir, names: [n for n in names if n in SKIPPED])
    phases = dest / "contract" / "phases.py"
    text = phases.read_text()
    old_3 = f"    3: {_literal(ALARMS_BY_PHASE[3])},"
    old_4 = f"    4: {_literal(ALARMS_BY_PHASE[4])},"
    assert old_3 in text and old_4 in text, "the table's layout changed: update this test"
    new_3 = tuple(k for k in ALARMS_BY_PHASE[3] if k != MOVED)
    text = text.replace(old_3, f"    3: {_literal(new_3)},").replace(
        old_4, f"    4: {_literal((MOVED, *ALARMS_BY_PHASE[4]))},"
    )
    phases.write_text(text)


def _run(copy: Path, *argv: str) -> tuple[int, Any]:
    """A `provisioner` command run in the copy, its own packages first on the path."""
    paths = [copy, copy / "functions", copy / "secrets", copy / "policies"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *argv, "--json"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"{argv}: no JSON (exit {done.returncode}): {done.stderr[-3000:]}"
        ) from None


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    assert first_phase(MOVED) == 3, "the test moves a phase-3 alarm"
    copy = tmp_path_factory.mktemp("project") / "p"
    _copy_with_moved_rule(copy)
    roadmap = yaml.safe_load((ROOT / "roadmap.yaml").read_text())
    roadmap["integrations"] = [i for i in roadmap["integrations"] if i["name"] in (AT_3, AT_4)]
    phases = {i["name"]: i["phases"]["dev"] for i in roadmap["integrations"]}
    assert phases == {AT_3: 3, AT_4: 4}, phases
    small = copy / "small-roadmap.yaml"
    small.write_text(yaml.safe_dump(roadmap, sort_keys=False))
    return copy, small


def _alarm_kinds(plan: dict[str, Any], integration: str) -> set[str]:
    entry = next(i for i in plan["integrations"] if i["name"] == integration)
    return {
        r["inputs"]["tags"]["alarm"]
        for r in entry["resources"]
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"
    }


@pytest.mark.slow
def test_every_part_follows_a_phase_rule_changed_in_the_contract(
    changed: tuple[Path, Path],
) -> None:
    copy, small = changed
    code, plan = _run(copy, "plan", "--stack", "dev", "--roadmap", str(small))
    assert code == 0
    assert MOVED not in _alarm_kinds(plan, AT_3)  # the components follow
    assert MOVED in _alarm_kinds(plan, AT_4)

    code, check = _run(copy, "check", "--stack", "dev", "--roadmap", str(small))
    assert (code, check["violations"]) == (0, [])  # the copy's pack follows

    # This checkout's pack still requires the alarm at phase 3, so it refuses the same plan.
    resources = [r for i in plan["integrations"] for r in i["resources"]]
    resources += plan["stack_resources"]
    ours = check_resources(resources, stack="dev", config=stack_config("dev"))
    assert any(
        v.policy == "phase-requirements" and f"'{MOVED}' alarm" in v.message and AT_3 in v.message
        for v in ours.mandatory
    ), [v.message for v in ours.mandatory]

    code, rehearsal = _run(copy, "rehearse", "--stack", "dev", "--roadmap", str(small))
    alarms = {c["name"]: c for c in rehearsal["checks"] if c["name"].startswith("alarms:")}
    assert alarms[f"alarms:{AT_3}"]["ok"], alarms  # the rehearsal's alarm check follows
    assert alarms[f"alarms:{AT_4}"]["ok"], alarms

    out = copy / "report"
    code, report = _run(
        copy, "report", "--stack", "dev", "--roadmap", str(small), "--out", str(out)
    )
    assert code == 0 and report["policy"]["available"], report["policy"]
    findings = [f for item in report["checklist"] for f in item["findings"]]
    assert not [f for f in findings if f"'{MOVED}' alarm" in f["text"]], findings
