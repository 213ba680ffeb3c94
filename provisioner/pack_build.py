"""Build the policy pack as a folder that stands alone, the way the Lambda bundles are built.

`policies/` imports `contract` (names, ownership, phases, resource type tokens), which lives
at the repository root: run from its own folder on another machine, or published with
`pulumi policy publish`, the pack would not find it. `build_pack` writes
`.build/policy-pack/`: the pack's sources, its config files and `requirements.txt`, a copy
of every package in `provisioner.bundles.SHARED_PACKAGES` (`contract/`) laid out as a Lambda
zip lays them out, and a `PulumiPolicy.yaml` whose virtualenv is the folder's own `.venv`
(made from that `requirements.txt`), not the project's.

The folder is deterministic (the same sources give the same files, byte for byte, mode
0644) and brought up to date on every call: files whose bytes differ are rewritten (each
atomically), files the sources no longer have are removed, and hidden folders (the pack's
`.venv`) and bytecode caches are left alone; its `.gitignore` keeps both out of what
`pulumi policy publish` uploads. Reading some sixty small files, a call costs
milliseconds, so `provisioner build`, `check` and every command that starts the pack call
it instead of trusting a stamp.

`ensure_pack_virtualenv` makes that `.venv` from the folder's `requirements.txt` (again
when the pins change): `provisioner preview` and `up` hand the Pulumi CLI the built
folder, the pack `check`, `rehearse`, `promote` and `report` run, and the CLI runs it with
that interpreter.

Usage::

    from provisioner.pack_build import build_pack

    pack_dir = build_pack()      # .build/policy-pack, current
    PolicyHarness(pack_dir, stack="dev")
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from provisioner.bundles import SHARED_PACKAGES, packaged_sources, source_files
from provisioner.paths import BUILT_POLICY_PACK_DIR, POLICY_PACK_DIR

__all__ = [
    "PACK_IGNORE_FILE",
    "PACK_PROJECT_FILE",
    "PACK_VIRTUALENV",
    "PackEnvironmentError",
    "build_pack",
    "ensure_pack_virtualenv",
    "pack_contents",
]

PACK_PROJECT_FILE = "PulumiPolicy.yaml"
# Where Pulumi finds the built pack's interpreter: a virtualenv inside the folder, made from
# its requirements.txt (hidden, so a rebuild leaves it in place).
PACK_VIRTUALENV = ".venv"
# `pulumi policy publish` archives the folder minus what its .gitignore names (Pulumi
# docs, "Authoring policy packs": Python packs): never the local virtualenv or bytecode.
PACK_IGNORE_FILE = ".gitignore"
_IGNORED = f"{PACK_VIRTUALENV}/\n__pycache__/\n*.pyc\n"
_HEADER = (
    "# Built by `provisioner build` from policies/ with its own copy of contract/; edit the\n"
    f"# sources, not this copy. Pulumi runs it with the virtualenv {PACK_VIRTUALENV} in this\n"
    "# folder, made from requirements.txt.\n"
)


def _project_file(source: Path) -> bytes:
    """The source pack's PulumiPolicy.yaml, its virtualenv pointed inside the built folder."""
    project: dict[str, Any] = yaml.safe_load(source.read_text())
    runtime = project.get("runtime")
    if not isinstance(runtime, dict):  # `runtime: python` has no options yet
        runtime = project["runtime"] = {"name": runtime}
    runtime.setdefault("options", {})["virtualenv"] = PACK_VIRTUALENV
    return (_HEADER + yaml.safe_dump(project, sort_keys=False, width=100)).encode()


def pack_contents(
    source_dir: Path = POLICY_PACK_DIR, shared: tuple[Path, ...] = SHARED_PACKAGES
) -> dict[str, bytes]:
    """Relative name -> bytes of every file of the built pack, sorted."""
    files = {name: path.read_bytes() for name, path in packaged_sources(source_dir, shared).items()}
    files[PACK_PROJECT_FILE] = _project_file(source_dir / PACK_PROJECT_FILE)
    files[PACK_IGNORE_FILE] = _IGNORED.encode()
    return dict(sorted(files.items()))


def _write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` at once: a pack starting meanwhile reads old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _prune(out_dir: Path, stale: set[str]) -> None:
    """Remove files the sources no longer have, and folders left with nothing but caches."""
    for name in sorted(stale, reverse=True):
        path = out_dir / name
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == out_dir or not folder.is_dir() or any(source_files(folder)):
                break
            shutil.rmtree(folder)


def build_pack(
    source_dir: Path = POLICY_PACK_DIR,
    out_dir: Path = BUILT_POLICY_PACK_DIR,
    *,
    shared: tuple[Path, ...] = SHARED_PACKAGES,
) -> Path:
    """Bring `out_dir` up to date with the pack in `source_dir` and `shared`; `out_dir`."""
    if not (source_dir / PACK_PROJECT_FILE).is_file():
        raise FileNotFoundError(f"{source_dir}: no {PACK_PROJECT_FILE}; not a policy pack")
    wanted = pack_contents(source_dir, shared)
    present = dict(source_files(out_dir)) if out_dir.is_dir() else {}
    for name, data in wanted.items():
        if name not in present or present[name].read_bytes() != data:
            _write(out_dir / name, data)
    _prune(out_dir, set(present) - set(wanted))
    return out_dir


# The pins the pack's virtualenv was made from (a hash of its requirements.txt), inside it.
_VIRTUALENV_STAMP = ".requirements-sha256"
_PIP_TAIL_LINES = 40


class PackEnvironmentError(RuntimeError):
    """The built pack's virtualenv could not be made; the message carries the output's tail."""


def ensure_pack_virtualenv(pack_dir: Path = BUILT_POLICY_PACK_DIR) -> Path:
    """The interpreter of the built pack's own virtualenv, made or remade when missing or
    made from other pins (`requirements.txt`); what the Pulumi CLI runs the pack with.

    A failed step removes the half-made virtualenv, so the next call starts afresh.
    """
    venv = pack_dir / PACK_VIRTUALENV
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    requirements = pack_dir / "requirements.txt"
    pins = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / _VIRTUALENV_STAMP
    if python.is_file() and stamp.is_file() and stamp.read_text() == pins:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
    )
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-_PIP_TAIL_LINES:])
            raise PackEnvironmentError(
                f"making the policy pack's virtualenv {venv} failed: `{' '.join(command)}` "
                f"exited {done.returncode}:\n{tail}"
            )
    stamp.write_text(pins)
    return python
