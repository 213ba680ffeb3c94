"""The import directions docs/architecture.md draws, checked against every module's imports.

The table in the document is the rule: the test parses it, so changing what a package may
import means changing the document first.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
# Where each of the project's packages lives.
PACKAGES = {
    "contract": ROOT / "contract",
    "roadmap": ROOT / "roadmap",
    "components": ROOT / "components",
    "integration_policies": ROOT / "policies" / "integration_policies",
    "integration_sync": ROOT / "functions" / "integration_sync",
    "credential_rotation": ROOT / "secrets" / "credential_rotation",
    "provisioner": ROOT / "provisioner",
    "bench": ROOT / "bench",
}
# Libraries whose private names only the seam modules may touch.
SEAMED_LIBRARIES = ("pulumi", "pulumi_policy", "aws_lambda_powertools")
SEAMS = {
    ROOT / "provisioner" / "sdk_seams.py",
    ROOT / "policies" / "integration_policies" / "_once.py",
}


def allowed_imports() -> dict[str, set[str]]:
    """The "Who may import whom" table of docs/architecture.md."""
    section = DOC.read_text().split("## Who may import whom", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            table[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return table


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def test_the_document_names_every_package() -> None:
    assert set(allowed_imports()) == set(PACKAGES)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_follow_the_documented_directions(package: str) -> None:
    allowed = allowed_imports()[package] | {package}
    crossings = []
    for path in sorted(PACKAGES[package].rglob("*.py")):
        for lineno, module in imported_modules(path):
            top = module.split(".")[0]
            if top in PACKAGES and top not in allowed:
                crossings.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    assert not crossings, (
        f"{package} may import only {sorted(allowed)} (docs/architecture.md): {crossings}"
    )


def _private_uses(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    library_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] not in SEAMED_LIBRARIES:
                continue
            for alias in node.names:
                if alias.name.startswith("_") or node.module.split(".")[-1].startswith("_"):
                    yield f"{path.name}:{node.lineno} from {node.module} import {alias.name}"
                library_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SEAMED_LIBRARIES:
                    library_aliases.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in library_aliases
        ) or (isinstance(node, ast.Attribute) and node.attr == "DEFAULT_PROVIDERS"):
            yield f"{path.name}:{node.lineno} {ast.unparse(node)}"


def test_library_internals_are_reached_only_through_the_seams() -> None:
    offenders = [
        use
        for directory in PACKAGES.values()
        for path in sorted(directory.rglob("*.py"))
        if path not in SEAMS
        for use in _private_uses(path)
    ]
    assert not offenders, offenders


def test_the_seam_check_sees_a_private_name(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from pulumi.runtime import mocks\nfrom pulumi.runtime.sync_await import _sync_await\n"
        "mocks._ensure_event_loop()\n"
    )
    assert len(list(_private_uses(module))) == 2
