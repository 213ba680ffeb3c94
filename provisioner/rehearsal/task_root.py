"""A deployed function's task root and runtime libraries, laid out for a worker on this machine.

Lambda unpacks the function's zip into its task root, first on ``sys.path``, and after it
come the libraries of its Python runtime, boto3 and botocore among them (Lambda developer
guide, "Building Lambda functions with Python"); nothing else is importable. A rehearsal
worker gets the same: the bundle's own sources and the shared packages, the third-party
libraries its built zip carries (``provisioner.bundles.bundled_libraries``), and, in a
folder of its own after the task root, the runtime's libraries and what they need. The
worker runs without this interpreter's site-packages (``python -S``), so a library the zip
lacks is not importable and the handler fails at init, as it would on Lambda.

The zip's libraries are built for Lambda's platform (``contract/runtime.py``), whose native
extensions this machine cannot load, so each is linked from this interpreter's
site-packages, where the pins install the same version: the zip's ``*.dist-info`` folders,
which carry each version in their name, must be there too. Everything is linked, never
copied.

Usage::

    layout = lay_out(FUNCTIONS_BUNDLE, Path(scratch))
    # `python -S` in layout.root, layout.root first on sys.path, PYTHONPATH=layout.runtime
"""

from __future__ import annotations

import importlib.machinery
import re
import sysconfig
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from provisioner.bundles import RUNTIME_PROVIDED, SHARED_PACKAGES, bundled_libraries

__all__ = ["LibraryMismatch", "TaskRoot", "lay_out"]

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
_NATIVE = tuple(importlib.machinery.EXTENSION_SUFFIXES)


class LibraryMismatch(LookupError):
    """A library the bundle's zip carries is not installed here at the same version."""


@dataclass(frozen=True)
class TaskRoot:
    """Where a worker imports from: ``root`` (the zip's contents), then ``runtime``."""

    root: Path
    runtime: Path
    # The third-party modules and packages on both, by their import names.
    libraries: tuple[str, ...]


def lay_out(bundle: Path, into: Path) -> TaskRoot:
    """Lay out ``bundle``'s task root and the runtime's libraries in the new folder ``into``."""
    root, runtime = into / "task", into / "runtime"
    root.mkdir(parents=True)
    runtime.mkdir()
    for entry in (*sorted(bundle.iterdir()), *SHARED_PACKAGES):
        if not entry.name.startswith((".", "__pycache__")) and entry.name != "requirements.txt":
            (root / entry.name).symlink_to(entry)
    carried = [_installed(bundle, name) for name in bundled_libraries(bundle)]
    for installed in carried:
        (root / installed.name).symlink_to(installed)
    provided = [e for e in _runtime_entries() if not (root / e.name).exists()]
    for installed in provided:
        (runtime / installed.name).symlink_to(installed)
    names = {_import_name(e) for e in (*carried, *provided)}
    return TaskRoot(root, runtime, tuple(sorted(n for n in names if n)))


def _installed(bundle: Path, name: str) -> Path:
    """This interpreter's copy of the zip's top-level entry ``name``; a native extension
    module by its module name, whatever platform tag the zip's file carries."""
    found = SITE_PACKAGES / name
    if found.exists():
        return found
    if name.endswith(".so"):
        module = name.split(".", 1)[0]
        for suffix in _NATIVE:
            if (SITE_PACKAGES / f"{module}{suffix}").exists():
                return SITE_PACKAGES / f"{module}{suffix}"
    raise LibraryMismatch(
        f"the {bundle.name} bundle's zip carries {name}, which {SITE_PACKAGES} lacks: "
        f"its requirements.txt and the project's pins disagree; pin the same version in "
        f"both, then run `make setup`"
    )


@cache
def _runtime_entries() -> tuple[Path, ...]:
    """The site-packages entries of the runtime's libraries and everything they require."""
    wanted, seen = sorted(RUNTIME_PROVIDED), set()
    entries: set[Path] = set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        distribution = metadata.distribution(name)
        for requirement in distribution.requires or []:
            if "extra ==" not in requirement:
                wanted.append(re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0])
        for file in distribution.files or []:
            top = file.parts[0]
            if top != ".." and not top.startswith("__"):
                entries.add(SITE_PACKAGES / top)
    return tuple(sorted(e for e in entries if e.exists()))


def _import_name(entry: Path) -> str:
    """The name ``import`` finds ``entry`` by; "" for metadata and data."""
    if entry.name.endswith(".dist-info"):
        return ""
    if entry.is_dir():
        return entry.name if (entry / "__init__.py").exists() else ""
    if entry.name.endswith(".py"):
        return entry.name[: -len(".py")]
    return entry.name.split(".", 1)[0] if entry.name.endswith(_NATIVE) else ""
