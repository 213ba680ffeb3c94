"""Tests for provisioner.bundles: deterministic, cached Lambda zips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from contract.aws_types import LAMBDA_FUNCTION
from contract.runtime import ARCHITECTURE, PIP_PLATFORMS, PYTHON_VERSION, RUNTIME
from provisioner.bundles import (
    BUNDLES,
    BundleBuildError,
    build_bundle,
    bundle_sources_hash,
)
from provisioner.paths import BUILT_POLICY_PACK_DIR, PROJECT_ROOT


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    """A bundle folder shaped like ``functions/``: a package, caches, a requirements file."""
    src = tmp_path / "sync_bundle"
    pkg = src / "integration_sync"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Sync."""\n')
    (pkg / "consumer.py").write_text("def handler(event, context):\n    return {}\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "consumer.cpython-311.pyc").write_bytes(b"\x00stale")
    (src / "requirements.txt").write_text("requests==2.34.2\n")
    return src


def _fake_pip(monkeypatch: pytest.MonkeyPatch, calls: list[list[str]]) -> None:
    """Replace pip with a function that lays out what ``pip install --target`` would."""

    def run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        target = Path(cmd[cmd.index("--target") + 1])
        for rel in (
            "requests/__init__.py",
            "requests-2.34.2.dist-info/METADATA",
            "boto3/__init__.py",
            "boto3-1.44.8.dist-info/METADATA",
            "botocore/__init__.py",
            "bin/normalizer",
        ):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_text("# installed\n")
        return subprocess.CompletedProcess(cmd, 0, "Successfully installed requests", "")

    monkeypatch.setattr(subprocess, "run", run)


@pytest.fixture
def zipped(bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names in the zip built from ``bundle_dir`` with its pinned requirements."""
    _fake_pip(monkeypatch, [])
    zip_path = build_bundle(
        bundle_dir, requirements=bundle_dir / "requirements.txt", build_dir=tmp_path / "out"
    )
    return zipfile.ZipFile(zip_path).namelist()


def test_zip_holds_sources_and_dependencies_without_caches(zipped: list[str]) -> None:
    assert "integration_sync/consumer.py" in zipped
    assert "requests/__init__.py" in zipped
    assert not [n for n in zipped if "__pycache__" in n or n.endswith(".pyc")]
    assert "requirements.txt" not in zipped


def test_runtime_provided_boto3_and_console_scripts_are_not_packaged(zipped: list[str]) -> None:
    tops = {n.split("/")[0] for n in zipped}
    assert not tops & {"boto3", "botocore", "boto3-1.44.8.dist-info", "bin"}


def test_pip_targets_the_lambda_runtimes_binary_wheels(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    _fake_pip(monkeypatch, calls)
    build_bundle(bundle_dir, requirements=bundle_dir / "requirements.txt", build_dir=tmp_path)
    (cmd,) = calls
    joined = " ".join(cmd)
    for platform in PIP_PLATFORMS:
        assert f"--platform {platform}" in joined
    assert "--implementation cp" in joined
    assert f"--python-version {PYTHON_VERSION}" in joined
    assert "--only-binary=:all:" in cmd


def test_second_build_is_served_from_cache_without_pip(
    bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    _fake_pip(monkeypatch, calls)
    req = bundle_dir / "requirements.txt"
    first = build_bundle(bundle_dir, requirements=req, build_dir=tmp_path)
    second = build_bundle(bundle_dir, requirements=req, build_dir=tmp_path)
    assert first == second
    assert len(calls) == 1


def test_zip_bytes_are_identical_when_only_mtimes_differ(bundle_dir: Path, tmp_path: Path) -> None:
    first = build_bundle(bundle_dir, requirements=None, build_dir=tmp_path / "a").read_bytes()
    for path in bundle_dir.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    second = build_bundle(bundle_dir, requirements=None, build_dir=tmp_path / "b").read_bytes()
    assert first == second


def test_zip_entries_are_sorted_with_fixed_timestamps(bundle_dir: Path, tmp_path: Path) -> None:
    infos = zipfile.ZipFile(
        build_bundle(bundle_dir, requirements=None, build_dir=tmp_path)
    ).infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert all((i.external_attr >> 16) & 0o444 == 0o444 for i in infos)  # Lambda must read them


def test_changing_a_source_file_changes_the_hash(bundle_dir: Path) -> None:
    before = bundle_sources_hash(bundle_dir, requirements=None)
    (bundle_dir / "integration_sync" / "consumer.py").write_text("def handler(e, c):\n    pass\n")
    assert bundle_sources_hash(bundle_dir, requirements=None) != before


# Run in a clean interpreter (-I: no PYTHONPATH, -S: no site-packages) with the zip alone
# on the path, as Lambda imports: where does `contract.metrics` come from?
IMPORT_FROM_ZIP = """
import sys
sys.path[:0] = [sys.argv[1]]
import contract.metrics
print(contract.metrics.__file__)
"""


def _import_from_zip(zip_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_FROM_ZIP, str(zip_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("folder", sorted(BUNDLES))
def test_each_bundle_imports_the_contract_from_inside_its_zip(folder: str, tmp_path: Path) -> None:
    zip_path = build_bundle(PROJECT_ROOT / folder, requirements=None, build_dir=tmp_path)
    assert "contract/metrics.py" in zipfile.ZipFile(zip_path).namelist()
    proc = _import_from_zip(zip_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{zip_path}/contract/metrics.py"


def test_a_bundle_built_without_the_shared_packages_cannot_import_the_contract(
    bundle_dir: Path, tmp_path: Path
) -> None:
    zip_path = build_bundle(bundle_dir, requirements=None, build_dir=tmp_path, shared=())
    assert _import_from_zip(zip_path).returncode != 0


def test_changing_a_shared_package_changes_the_hash(bundle_dir: Path, tmp_path: Path) -> None:
    shared = tmp_path / "contract"
    shared.mkdir()
    (shared / "metrics.py").write_text('RECORDS_SYNCED = "RecordsSynced"\n')
    before = bundle_sources_hash(bundle_dir, requirements=None, shared=(shared,))
    (shared / "metrics.py").write_text('RECORDS_SYNCED = "Synced"\n')
    assert bundle_sources_hash(bundle_dir, requirements=None, shared=(shared,)) != before


def test_changing_a_pin_changes_the_hash(bundle_dir: Path) -> None:
    req = bundle_dir / "requirements.txt"
    before = bundle_sources_hash(bundle_dir, requirements=req)
    req.write_text("requests==2.34.1\n")
    assert bundle_sources_hash(bundle_dir, requirements=req) != before


def test_pycache_does_not_change_the_hash(bundle_dir: Path) -> None:
    before = bundle_sources_hash(bundle_dir, requirements=None)
    (bundle_dir / "integration_sync" / "__pycache__" / "x.pyc").write_bytes(b"new")
    assert bundle_sources_hash(bundle_dir, requirements=None) == before


def test_pip_failure_raises_bundle_build_error_with_pip_output(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # An unparsable requirement makes the real pip fail before any network access.
    req = bundle_dir / "requirements.txt"
    req.write_text("this is not a requirement ===\n")
    with pytest.raises(BundleBuildError, match="pip could not install") as err:
        build_bundle(bundle_dir, requirements=req, build_dir=tmp_path)
    assert "this is not a requirement" in str(err.value)
    assert not list(tmp_path.glob("*.zip"))


def test_missing_bundle_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleBuildError, match="does not exist"):
        build_bundle(tmp_path / "nope", requirements=None, build_dir=tmp_path)


def test_build_command_builds_every_bundle_the_program_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from provisioner.bundles import built_bundle
    from provisioner.cli import main

    assert main(["build", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    built = document["bundles"]
    assert set(built) == set(BUNDLES)
    assert document["policy_pack"] == str(BUILT_POLICY_PACK_DIR)
    assert (BUILT_POLICY_PACK_DIR / "contract" / "phases.py").is_file()
    for folder, path in built.items():
        assert Path(path) == built_bundle(PROJECT_ROOT / folder)


def test_every_function_runs_the_one_runtime_and_its_bundles_native_code_matches_it() -> None:
    from program_runs import stack_run

    from provisioner.bundles import built_bundle

    functions = stack_run("dev").by_type(LAMBDA_FUNCTION)
    assert {f.inputs["runtime"] for f in functions} == {RUNTIME}
    assert {tuple(f.inputs["architectures"]) for f in functions} == {(ARCHITECTURE,)}
    # Every platform wheel in the deployed zips is for Lambda's aarch64, none for this host.
    for folder in ("functions", "secrets"):
        with zipfile.ZipFile(built_bundle(PROJECT_ROOT / folder)) as archive:
            tags = [
                line.removeprefix("Tag: ")
                for name in archive.namelist()
                if name.endswith(".dist-info/WHEEL")
                for line in archive.read(name).decode().splitlines()
                if line.startswith("Tag: ")
            ]
        native = [t for t in tags if not t.endswith("-any")]
        assert native and all(t.endswith("_aarch64") for t in native), (folder, tags)
