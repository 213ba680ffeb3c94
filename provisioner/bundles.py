"""Build deployable, reproducible Lambda zip files from a bundle folder.

A bundle folder (``secrets/``, ``functions/``) holds the package Lambda imports
and, optionally, a ``requirements.txt`` of pinned third-party dependencies.
``build_bundle`` installs those dependencies for the Lambda runtime
(``contract/runtime.py``), adds the sources and a copy of the dependency-free ``contract/``
package (the metric and environment-variable names the functions share with the
components) and writes one zip under ``<repo>/.build/``. The zip is
byte-for-byte deterministic (sorted entries, fixed timestamps and permissions),
so Pulumi's ``FileArchive`` hash only changes when the code or a pin changes,
and it is cached by a content hash, so a second call is instant.

Usage::

    from provisioner.bundles import build_bundle

    zip_path = build_bundle(ROOT / "secrets", requirements=ROOT / "secrets" / "requirements.txt")
    aws.lambda_.Function(..., code=pulumi.FileArchive(str(zip_path)))
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from contract.runtime import ARCHITECTURE, PIP_PLATFORMS, PYTHON_VERSION, RUNTIME
from provisioner.paths import BUILD_DIR, PROJECT_ROOT

__all__ = [
    "BUNDLES",
    "BundleBuildError",
    "BundleNotBuilt",
    "build_all",
    "build_bundle",
    "built_bundle",
    "bundle_sources_hash",
    "bundled_libraries",
    "packaged_sources",
    "source_files",
]

# Binary wheels for the project's Lambda runtime (contract/runtime.py) only.
PIP_PLATFORM_ARGS: tuple[str, ...] = (
    *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
)

# The Lambda Python runtime ships boto3 and botocore (Lambda developer guide,
# "Building Lambda functions with Python"); packaging them would only add
# ~20 MB and pin a second copy next to the runtime's.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})

# Never packaged: caches and bytecode (its contents embed timestamps).
_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
_SKIP_NAMES = frozenset({".DS_Store"})

# ZIP cannot store dates before 1980; a fixed stamp makes the archive reproducible.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
# Bump when the layout of produced zips changes, so stale cache entries are not reused.
_BUILDER_VERSION = "2"
_PIP_TAIL_LINES = 40


# The project's Lambda bundles: folder -> what it holds. Each folder's requirements.txt
# lists its third-party dependencies.
BUNDLES: dict[str, str] = {"functions": "sync", "secrets": "credential rotation"}
# Packages of this repository every bundle carries at its root next to its own: Lambda
# imports from the zip alone, and the bundles read the facts they share with the
# components (metric names, environment variables) from `contract`, standard library only.
SHARED_PACKAGES: tuple[Path, ...] = (PROJECT_ROOT / "contract",)


class BundleBuildError(RuntimeError):
    """Raised when a bundle cannot be built; the message carries pip's output tail."""


class BundleNotBuilt(BundleBuildError):
    """The zip for the bundle's current sources is not in the build folder."""


def source_files(source_dir: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(relative name, path)`` for every file under ``source_dir`` worth shipping,
    sorted: no caches, bytecode or hidden folders (a pack's own ``.venv``)."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(source_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in filenames:
            if filename in _SKIP_NAMES or filename.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / filename
            found.append((path.relative_to(source_dir).as_posix(), path))
    yield from sorted(found)


def packaged_sources(
    source_dir: Path, shared: tuple[Path, ...] = SHARED_PACKAGES
) -> dict[str, Path]:
    """Name inside the artefact -> path of a folder's own sources and the shared packages'
    (the folder's own win on a name clash), sorted. A Lambda zip and the built policy pack
    both lay themselves out this way."""
    entries = {
        f"{package.name}/{name}": path for package in shared for name, path in source_files(package)
    }
    entries.update(source_files(source_dir))
    return dict(sorted(entries.items()))


def _bundle_sources(source_dir: Path, shared: tuple[Path, ...]) -> dict[str, Path]:
    """A bundle's packaged sources; its requirements.txt is installed by pip, not zipped."""
    entries = packaged_sources(source_dir, shared)
    entries.pop("requirements.txt", None)
    return entries


def bundle_sources_hash(
    source_dir: Path,
    *,
    requirements: Path | None,
    pip_args: tuple[str, ...] = PIP_PLATFORM_ARGS,
    shared: tuple[Path, ...] = SHARED_PACKAGES,
) -> str:
    """Return a SHA-256 hex digest of the bundle's sources, requirements and build settings."""
    digest = hashlib.sha256()
    digest.update(f"builder={_BUILDER_VERSION};pip={' '.join(pip_args)}\0".encode())
    for name, path in _bundle_sources(source_dir, shared).items():
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    if requirements is not None:
        digest.update(b"requirements\0" + requirements.read_bytes())
    return digest.hexdigest()


def _pip_install(
    requirements: Path, target: Path, pip_args: tuple[str, ...] = PIP_PLATFORM_ARGS
) -> None:
    """Install ``requirements`` for the Lambda platform (or ``pip_args``') into ``target``."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--target",
        str(target),
        *pip_args,
        "-r",
        str(requirements),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-_PIP_TAIL_LINES:])
        raise BundleBuildError(
            f"pip could not install {requirements} for Lambda {RUNTIME} {ARCHITECTURE} "
            f"(exit {proc.returncode}). Check the pins exist as wheels for one of "
            f"{', '.join(PIP_PLATFORMS)} (or pure Python) and that the package registry is "
            f"reachable. pip said:\n{tail}"
        )
    # Console scripts embed this machine's interpreter path; Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for name in RUNTIME_PROVIDED:
        shutil.rmtree(target / name, ignore_errors=True)
        for info in target.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)


def _add(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    """Add one file with fixed metadata so identical inputs give identical bytes."""
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.create_system = 3  # Unix, so external_attr is read as a mode
    mode = 0o755 if os.access(path, os.X_OK) else 0o644
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes(), compresslevel=9)


def _zip_path(
    source_dir: Path,
    requirements: Path | None,
    build_dir: Path | None,
    pip_args: tuple[str, ...] = PIP_PLATFORM_ARGS,
    shared: tuple[Path, ...] = SHARED_PACKAGES,
) -> Path:
    out_dir = Path(build_dir) if build_dir is not None else BUILD_DIR
    content_hash = bundle_sources_hash(
        source_dir, requirements=requirements, pip_args=pip_args, shared=shared
    )
    suffix = "" if pip_args == PIP_PLATFORM_ARGS else "-host"
    return out_dir / f"{source_dir.name}-{content_hash[:16]}{suffix}.zip"


def _requirements(source_dir: Path) -> Path | None:
    path = source_dir / "requirements.txt"
    return path if path.is_file() else None


def built_bundle(source_dir: Path, *, build_dir: Path | None = None) -> Path:
    """The zip `build_bundle` made for the current sources of `source_dir`; never builds.

    Raises BundleNotBuilt (naming `provisioner build`) when the sources or the pins changed
    since the last build, or nothing was built here yet.
    """
    source_dir = Path(source_dir).resolve()
    if not source_dir.is_dir():
        raise BundleBuildError(f"bundle folder {source_dir} does not exist")
    zip_path = _zip_path(source_dir, _requirements(source_dir), build_dir)
    if not zip_path.is_file():
        raise BundleNotBuilt(
            f"{zip_path.name} (the bundle of {source_dir.name}/ as it is now) is not built in "
            f"{zip_path.parent}; run `provisioner build` (`make setup` does) and retry"
        )
    return zip_path


def bundled_libraries(source_dir: Path, *, build_dir: Path | None = None) -> tuple[str, ...]:
    """The top-level entries (packages, modules, ``*.dist-info``) of the third-party
    libraries the built zip of ``source_dir`` carries, sorted: its ``requirements.txt``
    installed, nothing of its own sources or the shared packages. A bundle without a
    ``requirements.txt`` carries none and needs no zip; one with it must be built
    (BundleNotBuilt otherwise).
    """
    source_dir = Path(source_dir).resolve()
    if _requirements(source_dir) is None:
        return ()
    own = {name.split("/", 1)[0] for name in _bundle_sources(source_dir, SHARED_PACKAGES)}
    with zipfile.ZipFile(built_bundle(source_dir, build_dir=build_dir)) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
    return tuple(sorted(top - own))


def build_all(project_dir: Path = PROJECT_ROOT, *, build_dir: Path | None = None) -> list[Path]:
    """Build (or find in the cache) every bundle of `BUNDLES`; the zips' paths."""
    return [
        build_bundle(
            project_dir / folder,
            requirements=_requirements(project_dir / folder),
            build_dir=build_dir,
        )
        for folder in BUNDLES
    ]


def build_bundle(
    source_dir: Path,
    *,
    requirements: Path | None,
    build_dir: Path | None = None,
    pip_args: tuple[str, ...] = PIP_PLATFORM_ARGS,
    shared: tuple[Path, ...] = SHARED_PACKAGES,
) -> Path:
    """Build (or reuse) the deterministic Lambda zip for ``source_dir`` and return its path.

    ``pip_args`` other than the Lambda platform's (``()``: this machine's) build a zip of
    the same package set that this interpreter can import, for tests; never deployed.

    ``requirements`` is installed with pip for the Lambda runtime's platform and
    placed at the zip root next to the sources and the ``shared`` packages (sources win on
    a name clash; ``()`` packages none).
    ``build_dir`` defaults to ``<repo>/.build``. Raises ``BundleBuildError`` when
    the source folder is missing or pip fails.
    """
    source_dir = Path(source_dir).resolve()
    if not source_dir.is_dir():
        raise BundleBuildError(f"bundle folder {source_dir} does not exist")
    if requirements is not None and not Path(requirements).is_file():
        raise BundleBuildError(f"requirements file {requirements} does not exist")
    zip_path = _zip_path(source_dir, requirements, build_dir, pip_args, shared)
    if zip_path.is_file():
        return zip_path
    out_dir = zip_path.parent

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=out_dir) as tmp:
        entries: dict[str, Path] = {}
        if requirements is not None:
            staging = Path(tmp) / "deps"
            _pip_install(Path(requirements), staging, pip_args)
            entries.update(source_files(staging))
        entries.update(_bundle_sources(source_dir, shared))
        partial = Path(tmp) / "bundle.zip"
        with zipfile.ZipFile(partial, "w") as archive:
            for name in sorted(entries):
                _add(archive, name, entries[name])
        # Atomic: a concurrent build of the same hash sees either nothing or the whole zip.
        os.replace(partial, zip_path)
    return zip_path
