"""The one-value edit: a roadmap's text with one integration's phase in one environment raised.

Nothing else in the file changes: not a comment, a quote, an indent or a line end. The
result is checked line by line and value by value before anyone writes it.

Usage::

    new_text = edit_phase(text, step)
    print(unified_diff(text, new_text, Path("roadmap.yaml")))
"""

from __future__ import annotations

import difflib
import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from provisioner.errors import CheckFailed, UsageError
from provisioner.promotion.files import safe_load
from provisioner.promotion.model import Step

__all__ = ["edit_phase", "unified_diff"]

_SCALAR = re.compile(r"(?:!!int[ \t]+)?([\"']?)([0-9]+)\1")


def _round_trip_yaml() -> Any:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long flow mappings
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_phase(text: str, step: Step, source: str = "roadmap.yaml") -> str:
    """The roadmap text with `integrations[i].phases.<env>` set to the step's target.

    The file is loaded round-trip (ruamel) and dumped with the value changed; when that dump
    would touch any other line (a file indented or quoted differently from ruamel's
    settings, CRLF line ends), the new value is instead spliced in at the position the
    round-trip parser recorded for it. Either way the result is checked: exactly the one
    line differs and the data equals the old data with that one value changed.
    """
    loc = f"integrations[{step.index}].phases.{step.environment}"
    yaml = _round_trip_yaml()
    try:
        data = yaml.load(text)
        phases = data["integrations"][step.index]["phases"]
        line, column = phases.lc.value(step.environment)
    except (YAMLError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise UsageError(f"{source}: cannot locate {loc} to edit it ({err})") from None

    expected = safe_load(text, source)
    expected_phases = expected["integrations"][step.index]["phases"]
    # A quoted phase ('2') stays quoted: the edit changes the value, not its style.
    quoted = isinstance(expected_phases[step.environment], str)
    expected_phases[step.environment] = str(step.target) if quoted else step.target

    phases[step.environment] = step.target
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    for candidate in (buffer.getvalue(), _splice(text, line, column, step.target)):
        if (
            candidate is not None
            and _only_line_changed(text, candidate, line)
            and safe_load(candidate, source) == expected
        ):
            return candidate
    raise CheckFailed(
        f"{source}: {loc}: cannot change this value without touching other lines (is it an "
        f"anchor, alias or multi-line scalar?); nothing was written. Set it to {step.target} "
        "by hand and run `provisioner validate`"
    )


def _splice(text: str, line: int, column: int, value: int) -> str | None:
    lines = text.splitlines(keepends=True)
    if line >= len(lines):
        return None
    match = _SCALAR.match(lines[line], column)
    if match is None:
        return None
    start, end = match.span(2)
    lines[line] = lines[line][:start] + str(value) + lines[line][end:]
    return "".join(lines)


def _only_line_changed(old: str, new: str, line: int) -> bool:
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if len(before) != len(after):
        return False
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    return changed == [line]


def unified_diff(old: str, new: str, path: Path) -> str:
    """A unified diff of the roadmap edit, as `git diff` would label it."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )
