"""`provisioner report`: writes both files, exit codes, and no traceback on bad input."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())


def test_report_writes_self_contained_html_and_markdown_reproducibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        argv = ["report", "--stack", "staging", "--out", str(tmp_path / name), "--no-check"]
        assert main(argv) == 0
    out = tmp_path / "a"
    html = (out / "index.html").read_text()
    md = (out / "report.md").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<style>" in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert md.startswith("# Northwind Outdoor: integration roadmap report (staging)")
    assert "Not available: skipped with --no-check" in md
    printed = capsys.readouterr().out
    assert "wrote" in printed and "policy: not available" in printed
    for file in ("index.html", "report.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_full_report_runs_the_policy_pack_and_prices_each_integration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--stack", "prod", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "policy: checked" in printed and "0 not available" in printed
    md = (tmp_path / "report.md").read_text()
    costs = md[md.index("## Monthly cost (prod)") :]
    money = r"\$([\d.,]+)"
    found = re.findall(rf"^\| ([a-z-]+) \| {money} \| {money} \| {money} \|$", costs, re.M)
    rows = {name: tuple(float(v) for v in values) for name, *values in found}
    active = [i["name"] for i in EXAMPLE["integrations"] if i["phases"]["prod"] >= 2]
    assert sorted(rows) == sorted([*active, "total"])
    assert all(rows[name][0] >= 3.0 for name in active)  # a rotated key at least
    assert abs(sum(rows[n][2] for n in active) - rows["total"][2]) < 0.01
    assert rows["quote-to-order"] == (7.60, 0.75, 8.35)  # as plan --json, tests/test_pricing.py
    assert "| quote-to-order | 3 | PASS |" in md  # the example passes the pack in prod


def test_invalid_roadmap_exits_1_and_points_at_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(EXAMPLE)
    data["integrations"][0]["target"] = "magento"
    roadmap = tmp_path / "roadmap.yaml"
    roadmap.write_text(yaml.safe_dump(data, sort_keys=False))
    argv = ["report", "--stack", "dev", "--out", str(tmp_path / "o"), "--roadmap", str(roadmap)]
    assert main([*argv, "--no-check"]) == 1
    err = capsys.readouterr().err
    assert "provisioner validate" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("not a directory")
    assert main(["report", "--stack", "dev", "--out", str(target), "--no-check"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_missing_roadmap_and_missing_out_are_usage_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    out = str(tmp_path / "o")
    assert main(["report", "--stack", "dev", "--out", out, "--roadmap", missing, "--no-check"]) == 2
    assert main(["report", "--stack", "dev"]) == 2
