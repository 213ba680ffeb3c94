"""The built policy pack stands alone: its own copy of contract/, its own virtualenv setting,
deterministic, brought up to date when the sources change, and served from its folder by an
interpreter that cannot import the repository."""

from __future__ import annotations

import os
import shutil
import site
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from policy_cases import recorded_stack

from provisioner.bundles import SHARED_PACKAGES, source_files
from provisioner.pack_build import (
    PACK_IGNORE_FILE,
    PACK_PROJECT_FILE,
    PACK_VIRTUALENV,
    PackEnvironmentError,
    build_pack,
    ensure_pack_virtualenv,
)
from provisioner.paths import POLICY_PACK_DIR
from provisioner.policy_harness import PolicyHarness, stack_config


def tree(folder: Path) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in source_files(folder)}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of the pack's sources to edit."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICY_PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_built_pack_holds_its_sources_the_contract_and_its_own_virtualenv(
    source: Path, tmp_path: Path
) -> None:
    built = tree(build_pack(source, tmp_path / "a"))
    for name, data in tree(source).items():
        if name != PACK_PROJECT_FILE:
            assert built[name] == data, name
    for package in SHARED_PACKAGES:
        for name, data in tree(package).items():
            assert built[f"{package.name}/{name}"] == data, name
    assert {"requirements.txt", "config.prod.json", "__main__.py"} <= set(built)
    project = yaml.safe_load(built[PACK_PROJECT_FILE])
    assert project["runtime"]["options"]["virtualenv"] == PACK_VIRTUALENV
    assert project["name"] == yaml.safe_load((source / PACK_PROJECT_FILE).read_text())["name"]
    ignored = built[PACK_IGNORE_FILE].decode().splitlines()  # what publishing leaves out
    assert {f"{PACK_VIRTUALENV}/", "__pycache__/"} <= set(ignored)
    # Deterministic: another build of the same sources is the same files, mode 0644.
    assert tree(build_pack(source, tmp_path / "b")) == built
    assert {stat.S_IMODE(path.stat().st_mode) for _, path in source_files(tmp_path / "b")} == {
        0o644
    }


def test_a_rebuild_follows_the_sources_and_keeps_the_packs_virtualenv(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pack"
    extra = source / "integration_policies" / "extra" / "gone.py"
    extra.parent.mkdir()
    extra.write_text("GONE = 1\n")
    build_pack(source, out)
    untouched = (out / "__main__.py").stat().st_ino
    (out / PACK_VIRTUALENV).mkdir()
    (out / PACK_VIRTUALENV / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (out / "integration_policies" / "extra" / "__pycache__").mkdir()
    shutil.rmtree(extra.parent)
    (source / "integration_policies" / "tagging.py").write_text("CHANGED = True\n")

    build_pack(source, out)

    assert tree(out) == tree(build_pack(source, tmp_path / "fresh"))
    assert (out / "integration_policies" / "tagging.py").read_text() == "CHANGED = True\n"
    assert not (out / "integration_policies" / "extra").exists()
    assert (out / PACK_VIRTUALENV / "pyvenv.cfg").is_file()
    assert (out / "__main__.py").stat().st_ino == untouched  # unchanged files are not rewritten


class Installer:
    """`subprocess.run` as the pack's virtualenv is made: each command recorded, `venv`
    leaving an interpreter behind, `pip` failing when `pip_fails`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[list[str]] = []
        self.pip_fails = False
        monkeypatch.setattr(subprocess, "run", self.run)

    def run(self, command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            (Path(command[3]) / "bin").mkdir(parents=True)
            (Path(command[3]) / "bin" / "python").write_text("")
        failed = self.pip_fails and "pip" in command
        stderr = "ERROR: No matching distribution found for pulumi-policy==1.21.0" if failed else ""
        return subprocess.CompletedProcess(command, 1 if failed else 0, "", stderr)


def test_the_packs_virtualenv_is_made_from_its_pins_once_and_again_when_they_change(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = Installer(monkeypatch)
    pack = build_pack(source, tmp_path / "pack")
    python = pack / PACK_VIRTUALENV / "bin" / "python"

    assert ensure_pack_virtualenv(pack) == python
    assert installer.commands == [
        [sys.executable, "-m", "venv", str(pack / PACK_VIRTUALENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(pack / "requirements.txt")],
    ]
    assert ensure_pack_virtualenv(pack) == python and len(installer.commands) == 2  # reused
    (source / "requirements.txt").write_text("pulumi-policy==1.22.0\n")
    build_pack(source, pack)
    ensure_pack_virtualenv(pack)
    assert len(installer.commands) == 4  # new pins: made again


def test_a_failed_install_names_the_step_and_leaves_no_half_made_virtualenv(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer = Installer(monkeypatch)
    installer.pip_fails = True
    pack = build_pack(source, tmp_path / "pack")
    with pytest.raises(PackEnvironmentError) as caught:
        ensure_pack_virtualenv(pack)
    message = str(caught.value)
    assert f"-m pip install --quiet -r {pack / 'requirements.txt'}` exited 1" in message
    assert "No matching distribution found for pulumi-policy==1.21.0" in message
    assert not (pack / PACK_VIRTUALENV).exists()


def _isolated_python(folder: Path) -> Path:
    """An interpreter launcher that sees the third-party libraries and nothing of the
    repository: no site processing (so no editable install of the project), the venv's
    site-packages on PYTHONPATH, bytecode written (the evidence of what was imported)."""
    launcher = folder / "python"
    libraries = os.pathsep.join(site.getsitepackages())
    launcher.write_text(
        "#!/bin/sh\n"
        "unset PYTHONDONTWRITEBYTECODE PYTHONSAFEPATH PYTHONSTARTUP\n"
        f"PYTHONPATH='{libraries}' exec '{sys.executable}' -S \"$@\"\n"
    )
    launcher.chmod(0o755)
    return launcher


@pytest.mark.slow
def test_the_built_pack_serves_the_engine_from_its_own_folder(tmp_path: Path) -> None:
    pack_dir = build_pack(out_dir=tmp_path / "policy-pack")
    python = _isolated_python(tmp_path)
    # The launcher really cannot import the repository's contract from anywhere but the pack.
    probe = subprocess.run(
        [str(python), "-c", "import contract"], cwd=tmp_path, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "No module named 'contract'" in probe.stderr, probe
    plan = recorded_stack("dev")
    broken = [r for r in plan if r["name"] != "quote-to-order-dlq"]
    with PolicyHarness(
        pack_dir, stack="dev", config=stack_config("dev"), python=str(python)
    ) as pack:
        clean = pack.check(plan)
        refused = pack.analyze_stack(broken)
    assert not clean.mandatory, [v.as_dict() for v in clean.mandatory]
    assert clean.resources_analyzed == len(plan) and clean.policies
    assert any(
        v.policy == "phase-requirements" and "quote-to-order" in v.message for v in refused
    ), [v.as_dict() for v in refused]
    # What answered imported contract/ from the built folder (its bytecode is there).
    assert list((pack_dir / "contract" / "__pycache__").glob("phases.*.pyc"))
