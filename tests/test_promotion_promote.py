"""`provisioner promote`: criteria, refusals with reasons, one-value edits, atomic writes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from provisioner import promotion
from provisioner.cli import main
from provisioner.errors import CheckFailed, UsageError
from provisioner.promotion import Criterion, Proposal, promote
from roadmap.evidence import REQUIREMENTS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TEXT = (ROOT / "roadmap.yaml").read_text(encoding="utf-8")


def passing_policy(proposal: Proposal) -> Criterion:
    step = proposal.step
    assert proposal.after.integration(step.integration).phase(step.environment) == step.target
    return Criterion("policy-pack", "automated", "passed", "fake: no violations")


def passing_rehearsal(proposal: Proposal) -> Criterion:
    return Criterion("rehearsal", "automated", "passed", "fake: all checks passed")


def failing_policy(proposal: Proposal) -> Criterion:
    return Criterion(
        "policy-pack",
        "automated",
        "failed",
        "queue-dlq-max-receive: maxReceiveCount 3 < 5 on quote-to-order-queue",
        "raise maxReceiveCount to 5 or more",
    )


def failing_rehearsal(proposal: Proposal) -> Criterion:
    return Criterion(
        "rehearsal",
        "automated",
        "failed",
        f"poison message did not reach the DLQ in {proposal.step.below}",
        "fix the redrive policy",
    )


FAKES = (passing_policy, passing_rehearsal)


def evidence_block(text: str, integration: str, phases: range) -> str:
    """The YAML lines of one integration's evidence for `phases`, as written in the example."""
    section = text.split(f"  - name: {integration}\n", 1)[1].split("\n\n", 1)[0]
    lines = section.split("\n")
    start = next(n for n, line in enumerate(lines) if line.startswith("    evidence:"))
    out, keep = ["    evidence:"], False
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        if re.match(r"      \d:", line):
            keep = int(line.strip()[0]) in phases
        if keep:
            out.append(line)
    return "\n".join(out)


def with_evidence(text: str, integration: str, block: str) -> str:
    """Add an evidence block after the integration's phases line."""
    head, rest = text.split(f"  - name: {integration}\n", 1)
    section, tail = rest.split("\n\n", 1) if "\n\n" in rest else (rest, "")
    section = re.sub(
        r"(    phases: \{[^}]*\}\n?)",
        lambda m: m.group(1).rstrip("\n") + "\n" + block + "\n",
        section,
        count=1,
    )
    return (
        head
        + f"  - name: {integration}\n"
        + section.rstrip("\n")
        + ("\n\n" + tail if tail else "\n")
    )


@pytest.fixture
def roadmap(tmp_path: Path) -> Path:
    """The example roadmap, with web-order-capture (phase 1 everywhere) fully evidenced."""
    block = evidence_block(EXAMPLE_TEXT, "quote-to-order", range(1, 5)).replace(
        "quote-to-order", "web-order-capture"
    )
    path = tmp_path / "roadmap.yaml"
    path.write_text(with_evidence(EXAMPLE_TEXT, "web-order-capture", block), encoding="utf-8")
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example roadmap, as it is, in a folder of its own."""
    path = tmp_path / "roadmap.yaml"
    path.write_text(EXAMPLE_TEXT)
    return path


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """`provisioner promote` runs the passing fakes instead of the pack and the rehearsal."""
    monkeypatch.setattr(promotion, "AUTOMATED_CHECKS", FAKES)


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    body = [line for line in diff.splitlines() if not line.startswith(("---", "+++", "@@"))]
    return [x[1:] for x in body if x.startswith("-")], [x[1:] for x in body if x.startswith("+")]


def phases_of(path: Path, name: str) -> str:
    section = path.read_text().split(f"  - name: {name}\n", 1)[1]
    match = re.search(r"phases: (\{[^}]*\})", section)
    assert match
    return match.group(1)


# ------------------------------------------------------------------ the happy path


def test_promotes_dev_then_staging_then_prod_through_every_phase(roadmap: Path) -> None:
    lines = roadmap.read_text().split("\n")
    start = lines.index("  - name: web-order-capture")
    line = next(n for n in range(start, len(lines)) if lines[n].startswith("    phases:"))
    for phase in (2, 3, 4, 5):
        for env in ("dev", "staging", "prod"):
            before = roadmap.read_text()
            outcome = promote(roadmap, "web-order-capture", env, checks=FAKES)
            assert outcome.promoted and outcome.written, outcome.assessment.failed
            removed, added = changed_lines(outcome.diff)
            assert len(removed) == len(added) == 1
            assert re.sub(rf"{env}: {phase - 1}", f"{env}: {phase}", removed[0]) == added[0]
            old, new = before.split("\n"), roadmap.read_text().split("\n")
            assert [n for n, (a, b) in enumerate(zip(old, new, strict=True)) if a != b] == [line]
    assert phases_of(roadmap, "web-order-capture") == "{dev: 5, staging: 5, prod: 5}"


def test_to_phase_raises_several_steps_and_needs_every_left_phases_evidence(
    roadmap: Path,
) -> None:
    outcome = promote(roadmap, "web-order-capture", "dev", to_phase=4, checks=FAKES)
    assert outcome.written
    ids = [c.id for c in outcome.assessment.criteria if c.kind == "evidence"]
    assert ids == [f"evidence.{r.phase}.{r.field}" for p in (1, 2, 3) for r in REQUIREMENTS[p]]
    assert phases_of(roadmap, "web-order-capture") == "{dev: 4, staging: 1, prod: 1}"


def test_promotion_of_the_example_prod_writes_only_that_value(example: Path) -> None:
    outcome = promote(example, "quote-to-order", "prod", checks=FAKES)
    assert outcome.written
    assert outcome.diff.count("\n-    phases: {dev: 5, staging: 4, prod: 3}") == 1
    assert outcome.diff.count("\n+    phases: {dev: 5, staging: 4, prod: 4}") == 1
    assert example.read_text() == EXAMPLE_TEXT.replace(
        "    phases: {dev: 5, staging: 4, prod: 3}", "    phases: {dev: 5, staging: 4, prod: 4}"
    )


# ------------------------------------------------------------------ refusals, each with its reason


@pytest.mark.parametrize(
    "phase,field", [(r.phase, r.field) for p in (1, 2, 3, 4) for r in REQUIREMENTS[p]]
)
def test_each_missing_evidence_item_refuses_with_where_to_record_it(
    roadmap: Path, phase: int, field: str
) -> None:
    text = roadmap.read_text()
    head, section = text.split("  - name: web-order-capture\n", 1)
    section, count = re.subn(rf"\n {{8}}{field}: [^\n]*", "", section, count=1)
    assert count == 1
    roadmap.write_text(head + "  - name: web-order-capture\n" + section)
    before = roadmap.read_bytes()

    outcome = promote(roadmap, "web-order-capture", "dev", to_phase=5, checks=FAKES)

    assert not outcome.promoted and not outcome.written
    assert [c.id for c in outcome.assessment.failed] == [f"evidence.{phase}.{field}"]
    failed = outcome.assessment.failed[0]
    assert "is not recorded" in failed.detail
    assert f"integrations[8].evidence.{phase}.{field}:" in failed.fix
    assert roadmap.read_bytes() == before


def test_phase_above_the_environment_below_is_refused(example: Path) -> None:
    outcome = promote(example, "inventory-to-promise", "prod", checks=FAKES)
    assert [c.id for c in outcome.assessment.failed] == ["order"]
    order = outcome.assessment.failed[0]
    assert order.detail == "phase 3 in prod would be ahead of phase 2 in staging"
    assert order.fix == (
        f"promote staging first: provisioner promote inventory-to-promise --to staging "
        f"--roadmap {example}"
    )
    assert example.read_text() == EXAMPLE_TEXT


def test_dev_is_limited_only_by_phase_five(roadmap: Path) -> None:
    outcome = promote(roadmap, "web-order-capture", "dev", to_phase=5, checks=FAKES)
    assert outcome.promoted
    assert "lowest environment" in outcome.assessment.criteria[0].detail


@pytest.mark.parametrize(
    "checks,failed",
    [
        ((failing_policy, passing_rehearsal), ["policy-pack"]),
        ((passing_policy, failing_rehearsal), ["rehearsal"]),
        ((failing_policy, failing_rehearsal), ["policy-pack", "rehearsal"]),
    ],
)
def test_failing_automated_criteria_refuse_and_say_what_to_do(
    example: Path, checks: tuple[promotion.AutomatedCheck, ...], failed: list[str]
) -> None:
    outcome = promote(example, "quote-to-order", "prod", checks=checks)
    assert [c.id for c in outcome.assessment.failed] == failed
    assert all(c.fix for c in outcome.assessment.failed)
    assert example.read_text() == EXAMPLE_TEXT


def test_a_check_that_crashes_is_a_failed_criterion_not_a_pass(example: Path) -> None:
    def broken_rehearsal(proposal: Proposal) -> Criterion:
        raise ConnectionError("moto server did not start")

    outcome = promote(example, "quote-to-order", "prod", checks=(passing_policy, broken_rehearsal))
    (failed,) = outcome.assessment.failed
    assert failed.id == "broken-rehearsal"
    assert "ConnectionError: moto server did not start" in failed.detail
    assert example.read_text() == EXAMPLE_TEXT


# ------------------------------------------------------------------ nothing written unless promoted


@pytest.mark.usefixtures("fake_checks")
@pytest.mark.parametrize(
    "argv,code,said",
    [
        pytest.param(
            ["quote-to-order", "--to", "prod", "--dry-run"],
            0,
            ["+    phases: {dev: 5, staging: 4, prod: 4}", "dry run: would promote"],
            id="dry-run-prints-the-diff",
        ),
        pytest.param(
            ["order-to-invoice", "--to", "staging"],
            1,
            [
                "FAIL  evidence.3.rollback_plan",
                "FAIL  evidence.3.owner_signoff",
                "fix: record it in roadmap.yaml at integrations[2].evidence.3.rollback_plan",
                "refused: 2 of",
            ],
            id="refused-exits-1-with-the-fixes",
        ),
    ],
)
def test_a_promotion_not_made_writes_nothing(
    example: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, said: list[str]
) -> None:
    before, stat = example.read_bytes(), example.stat()
    assert main(["promote", *argv, "--roadmap", str(example)]) == code
    out = capsys.readouterr().out
    assert [line for line in said if line not in out] == []
    assert example.read_bytes() == before
    assert example.stat().st_mtime_ns == stat.st_mtime_ns
    assert os.listdir(example.parent) == ["roadmap.yaml"]


@pytest.mark.parametrize(
    "step,interrupt",
    [
        ("replace", KeyboardInterrupt),  # the rename over the roadmap
        ("replace", OSError),
        ("fsync", KeyboardInterrupt),  # the temporary file's write
    ],
)
def test_an_interrupted_write_leaves_the_roadmap_unchanged_and_no_trace(
    example: Path, monkeypatch: pytest.MonkeyPatch, step: str, interrupt: type[BaseException]
) -> None:
    before = example.read_bytes()

    def crash(*args: object) -> None:
        raise interrupt("power cut")

    monkeypatch.setattr(os, step, crash)
    with pytest.raises(interrupt):
        promote(example, "quote-to-order", "prod", checks=FAKES)
    assert example.read_bytes() == before
    assert os.listdir(example.parent) == ["roadmap.yaml"]  # the temporary file is gone too


def test_a_roadmap_changed_during_the_checks_is_not_overwritten(example: Path) -> None:
    edited = EXAMPLE_TEXT + "# someone else's edit\n"

    def slow_rehearsal(proposal: Proposal) -> Criterion:
        example.write_text(edited)  # another engineer saves the file meanwhile
        return passing_rehearsal(proposal)

    with pytest.raises(CheckFailed, match="changed by someone else"):
        promote(example, "quote-to-order", "prod", checks=(passing_policy, slow_rehearsal))
    assert example.read_text() == edited


# ------------------------------------------------------------------ format preservation


def test_file_in_another_style_keeps_its_style(tmp_path: Path) -> None:
    text = (
        "# hand-written, four-space indents and CRLF line ends\r\n"
        "version: 1\r\norganisation: 'Northwind'\r\n"
        + EXAMPLE_TEXT.split("systems:\n", 1)[1]
        .split("integrations:\n", 1)[0]
        .join(["systems:\n", "integrations:\n"])
        .replace("\n", "\r\n")
        + "    -   name: 'quote-to-order'\r\n"
        "        source: salesforce\r\n        target: netsuite\r\n"
        "        objects: [quote]\r\n        pattern: event_driven\r\n"
        "        owner_team: revenue-operations\r\n"
        "        runbook: https://wiki.northwind.example/runbooks/quote-to-order\r\n"
        "        alert_path: pagerduty:revops-oncall\r\n"
        "        credentials:\r\n"
        "            -   {name: salesforce-jwt, kind: salesforce_jwt_bearer, system: salesforce,"
        " rotation_days: 30}\r\n"
        "        service_levels: {max_staleness_minutes: 5, expected_records_per_day: 10}\r\n"
        "        phases:\r\n            dev: 2    # cleanup in progress\r\n"
        "            staging: '1'\r\n            prod: 1\r\n"
        "        evidence:\r\n            1:\r\n"
        "                source_of_truth_matrix: {name: Priya Natarajan,"
        " email: p@northwind.example, role: Architect, date: 2026-02-16,"
        " link: https://wiki.northwind.example/sot}\r\n"
    )
    path = tmp_path / "roadmap.yaml"
    path.write_bytes(text.encode())
    outcome = promote(path, "quote-to-order", "staging", checks=FAKES)
    assert outcome.written, outcome.assessment.failed
    assert path.read_bytes() == text.replace("staging: '1'", "staging: '2'").encode()


# ------------------------------------------------------------------ usage errors and JSON


@pytest.mark.parametrize(
    "argv,message",
    [
        (["promote", "quote-to-cash", "--to", "prod"], "no integration named 'quote-to-cash'"),
        (["promote", "quote-to-order", "--to", "qa"], "invalid choice: 'qa'"),
        (["promote", "quote-to-order", "--to", "prod", "--to-phase", "7"], "phases run from 1"),
        (["promote", "quote-to-order", "--to", "prod", "--to-phase", "3"], "already at phase 3"),
        (["promote", "quote-to-order", "--to", "dev"], "the last phase"),
        (["promote", "quote-to-order", "--to", "prod", "--to-phase", "x"], "invalid int value"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(
    example: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--roadmap", str(example)]) == 2
    assert message in capsys.readouterr().err
    assert example.read_text() == EXAMPLE_TEXT


def test_unreadable_roadmap_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.yaml: no such file"):
        promote(tmp_path / "nope.yaml", "quote-to-order", "prod", checks=FAKES)
    bad = tmp_path / "bad.yaml"
    bad.write_text("integrations: [\n")
    with pytest.raises(UsageError, match=r"bad\.yaml: line 2, column 1: not valid YAML"):
        promote(bad, "quote-to-order", "prod", checks=FAKES)


def test_invalid_roadmap_is_refused_before_anything_else(tmp_path: Path) -> None:
    path = tmp_path / "roadmap.yaml"
    broken = EXAMPLE_TEXT.replace("        rotation_days: 30\n", "        rotation_days: 0\n", 1)
    assert broken != EXAMPLE_TEXT
    path.write_text(broken)
    with pytest.raises(CheckFailed, match=r"integrations\[1\]\.credentials\[0\]\.rotation_days"):
        promote(path, "quote-to-order", "prod", checks=FAKES)


def test_json_output_shape(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(promotion, "AUTOMATED_CHECKS", (passing_policy, failing_rehearsal))
    assert (
        main(["promote", "quote-to-order", "--to", "prod", "--json", "--roadmap", str(example)])
        == 1
    )
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {
        "roadmap", "integration", "environment", "from_phase", "to_phase", "below",
        "dry_run", "promoted", "written", "criteria", "failed", "diff",
    }  # fmt: skip
    assert (doc["from_phase"], doc["to_phase"]) == (3, 4)
    assert doc["below"] == {"environment": "staging", "phase": 4}
    assert (doc["promoted"], doc["written"], doc["failed"]) == (False, False, ["rehearsal"])
    assert [c["kind"] for c in doc["criteria"]] == ["order"] + ["evidence"] * 4 + ["automated"] * 2
    assert set(doc["criteria"][0]) == {"id", "kind", "status", "passed", "detail", "fix"}
    assert "+    phases: {dev: 5, staging: 4, prod: 4}" in doc["diff"]


@pytest.mark.usefixtures("fake_checks")
def test_fix_hints_keep_the_roadmap_the_user_named(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["promote", "quote-to-order", "--to", "prod", "--to-phase", "5", "--dry-run"]

    assert main([*argv, "--roadmap", str(example)]) == 1

    captured = capsys.readouterr()
    hint = f"provisioner promote quote-to-order --to staging --roadmap {example}"
    assert hint in captured.out + captured.err


@pytest.mark.usefixtures("fake_checks")
def test_automated_checks_say_on_stderr_what_they_run(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["promote", "quote-to-order", "--to", "prod", "--dry-run", "--json"]

    main([*argv, "--roadmap", str(example)])

    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays one JSON document
    assert "checking passing policy for quote-to-order -> prod phase 4 ..." in captured.err
