"""requirements.lock pins the whole tree, and the environment the tests run in matches it."""

from __future__ import annotations

import ast
import re
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>.*))?$"
)


def _locked(*, here_only: bool = False) -> dict[str, set[str]]:
    """Locked versions by name; `here_only` keeps those whose marker fits this interpreter."""
    pins: dict[str, set[str]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = LOCK_LINE.match(line.strip())
        if not match:
            continue
        if here_only and match["marker"] and not Marker(match["marker"]).evaluate():
            continue
        pins.setdefault(canonicalize_name(match["name"]), set()).add(match["version"])
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared.extend(extra)
    return [Requirement(spec) for spec in declared]


def test_every_declared_dependency_is_locked_at_a_version_it_allows() -> None:
    locked = _locked()
    for requirement in _declared():
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in requirements.lock; run `make lock`"
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (
            f"requirements.lock has {requirement.name} {versions}, pyproject.toml asks "
            f"{requirement.specifier}; run `make lock`"
        )


def test_installed_distributions_are_the_locked_versions() -> None:
    locked = _locked(here_only=True)
    project = canonicalize_name("integration-provisioner")
    # Only what is installed in the environment: setuptools' pkg_resources (which parliament
    # imports) puts its own vendored packages on sys.path, and they are not installs.
    installed = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    for dist in metadata.distributions(path=installed):
        name = canonicalize_name(dist.metadata["Name"])
        # Copies vendored inside another package (setuptools/_vendor, put on sys.path once
        # anything imports pkg_resources) are that package's, not installed distributions.
        if name in {project, "pip"} or "_vendor" in Path(str(dist.locate_file(""))).parts:
            continue
        # setuptools puts its own vendored copies (packaging, ...) on sys.path once
        # pkg_resources is imported (parliament does): they are not installed distributions.
        if "_vendor" in Path(str(dist.locate_file(""))).parts:
            continue
        assert dist.version in locked.get(name, set()), (
            f"{name} {dist.version} is installed but requirements.lock has "
            f"{sorted(locked.get(name, set())) or 'nothing'}; run `make setup` (or `make lock`)"
        )


def test_lambda_bundle_requirements_match_the_lock() -> None:
    locked = _locked()
    for bundle in ("functions", "secrets", "policies"):
        for line in (ROOT / bundle / "requirements.txt").read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            requirement = Requirement(line)
            versions = locked.get(canonicalize_name(requirement.name), set())
            assert any(requirement.specifier.contains(v) for v in versions), (
                f"{bundle}/requirements.txt pins {line}, requirements.lock has {versions}"
            )


# Every folder of Python the project runs (the Pulumi program, __main__.py, besides).
SOURCE_DIRS = [
    "contract",
    "roadmap",
    "components",
    "provisioner",
    "functions",
    "secrets",
    "policies",
    "bench",
    "tests",
]


def _own_modules() -> set[str]:
    """The project's own top-level modules: its packages, the bundles' and the pack's
    packages (imported from their folders) and the tests' helper modules."""
    names = {"contract", "roadmap", "components", "provisioner", "bench", "tests"}
    for folder in ("functions", "secrets", "policies", "tests"):
        names.update(p.stem for p in (ROOT / folder).iterdir() if p.suffix == ".py" or p.is_dir())
    return names


def _imported_modules() -> dict[str, set[str]]:
    """Top-level module -> files importing it, over every Python file the project runs."""
    files = [ROOT / "__main__.py"]
    for folder in SOURCE_DIRS:
        files += (ROOT / folder).rglob("*.py")
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = {canonicalize_name(r.name) for r in _declared()}
    providers = metadata.packages_distributions()
    own = _own_modules()
    undeclared = {
        module: sorted(files)
        for module, files in _imported_modules().items()
        if module not in sys.stdlib_module_names
        and module not in own
        and not {canonicalize_name(d) for d in providers.get(module, [])} & declared
    }
    assert not undeclared, (
        f"imported but not declared in pyproject.toml: {undeclared}; pin the distribution "
        "that provides each (exactly), then run `make lock`"
    )
