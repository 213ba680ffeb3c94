"""`provisioner status`: the phase matrix and what blocks each next promotion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioner import promotion
from provisioner.cli import main
from provisioner.promotion import Criterion, Proposal

ROOT = Path(__file__).resolve().parent.parent


def status(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["status", "--json", *extra]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def promotion_of(doc: dict[str, Any], name: str, env: str) -> dict[str, Any]:
    integ = next(i for i in doc["integrations"] if i["name"] == name)
    result: dict[str, Any] = next(p for p in integ["promotions"] if p["environment"] == env)
    return result


def test_json_has_the_matrix_and_a_promotion_per_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = status(capsys)
    assert set(doc) == {"roadmap", "environments", "automated_checks", "integrations"}
    assert doc["environments"] == ["dev", "staging", "prod"]
    assert doc["automated_checks"] is False
    quote = doc["integrations"][0]
    assert quote["name"] == "quote-to-order"
    assert quote["phases"] == {"dev": 5, "staging": 4, "prod": 3}
    assert [p["environment"] for p in quote["promotions"]] == ["dev", "staging", "prod"]
    assert set(quote["promotions"][2]) == {
        "environment",
        "phase",
        "to_phase",
        "ready",
        "blockers",
    }


def test_example_has_ready_and_blocked_promotions_with_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = status(capsys)
    assert promotion_of(doc, "quote-to-order", "prod") == {
        "environment": "prod",
        "phase": 3,
        "to_phase": 4,
        "ready": True,
        "blockers": [],
    }
    blocked = promotion_of(doc, "order-to-invoice", "prod")
    assert [b["criterion"] for b in blocked["blockers"]] == [
        "order",
        "evidence.3.rollback_plan",
        "evidence.3.owner_signoff",
    ]
    assert (
        blocked["blockers"][0]["reason"] == "phase 4 in prod would be ahead of phase 3 in staging"
    )
    assert all(b["fix"] for b in blocked["blockers"])


def test_phase_five_shows_the_automation_evidence_still_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = status(capsys)
    quote = doc["integrations"][0]
    assert promotion_of(doc, "quote-to-order", "dev")["to_phase"] is None
    assert quote["automation_evidence_missing"] == ["data_quality"]
    web = next(i for i in doc["integrations"] if i["name"] == "web-order-capture")
    assert web["automation_evidence_missing"] is None  # not at phase 5 anywhere


def test_with_checks_runs_automated_criteria_only_where_nothing_else_blocks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []

    def failing_policy(proposal: Proposal) -> Criterion:
        seen.append((proposal.step.integration, proposal.step.environment))
        return Criterion("policy-pack", "automated", "failed", "fake violation", "fix it")

    monkeypatch.setattr(promotion, "AUTOMATED_CHECKS", (failing_policy,))
    doc = status(capsys, "--with-checks")
    assert doc["automated_checks"] is True
    assert ("quote-to-order", "prod") in seen
    assert ("order-to-invoice", "prod") not in seen  # already blocked by order and evidence
    ready_before = promotion_of(doc, "quote-to-order", "prod")
    assert ready_before["ready"] is False
    assert [b["criterion"] for b in ready_before["blockers"]] == ["policy-pack"]


def test_text_output_lists_the_matrix_and_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "  quote-to-order          5       4    3" in out
    assert "    prod     3 -> 4: ready on order and evidence" in out
    assert "      - evidence.1.source_of_truth_matrix:" in out
    assert (
        "fix: record it in roadmap.yaml at integrations[6].evidence.1.source_of_truth_matrix" in out
    )


def test_unreadable_roadmap_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--roadmap", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such file" in capsys.readouterr().err
