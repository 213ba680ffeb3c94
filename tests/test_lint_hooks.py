"""The pre-commit hooks run exactly what CI's lint runs: `make lint`'s targets, nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _lint_targets() -> list[str]:
    """The prerequisites of the Makefile's `lint` target, in order."""
    found = re.search(r"^lint:(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile has no lint target"
    return found.group(1).split()


def _hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_each_lint_target_is_one_hook_and_each_hook_is_a_lint_target() -> None:
    entries = [hook["entry"].split() for hook in _hooks()]
    assert all(entry[0] == "make" for entry in entries), entries
    assert [entry[-1] for entry in entries] == _lint_targets()


def test_hooks_use_the_project_environment_and_check_the_whole_tree_as_ci_does() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    for hook in _hooks():
        # system: the Makefile's .venv tools, not an environment pre-commit builds itself.
        assert hook["language"] == "system", hook["id"]
        assert hook["pass_filenames"] is False, hook["id"]
        assert hook["always_run"] is True, hook["id"]


def test_lint_targets_run_the_linters_and_the_type_checker() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipes = {
        target: re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        for target in _lint_targets()
    }
    commands = " ".join(m.group(1) for m in recipes.values() if m)
    assert len([m for m in recipes.values() if m]) == len(recipes), "a lint target has no recipe"
    for tool in ("ruff check $(CODE)", "ruff format --check $(CODE)", "mypy"):
        assert f"$(BIN)/{tool}" in commands, tool
