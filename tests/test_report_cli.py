"""`provisioner report`: writes both files, exit codes, and no traceback on bad input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "roadmap.yaml").read_text())


def test_report_writes_self_contained_html_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["report", "--stack", "staging", "--out", str(out), "--no-check"]) == 0
    html = (out / "index.html").read_text()
    md = (out / "report.md").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<style>" in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert md.startswith("# Northwind Outdoor: integration roadmap report (staging)")
    printed = capsys.readouterr().out
    assert "wrote" in printed and "policy: not available" in printed


def test_report_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["report", "--stack", "dev", "--out", str(tmp_path / name), "--no-check"]) == 0
    for file in ("index.html", "report.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


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
