"""Read the project's YAML input files (roadmap, stack settings) with errors a person can act on.

Every problem with the file itself raises `SourceFileError` whose message names the file,
where in it, and what to do: a file too large to be a roadmap, text that is not UTF-8,
YAML that does not parse (with the line), a key written twice in one mapping. A roadmap
that reads but breaks the model or its rules raises `RoadmapError` with every problem.

Usage::

    try:
        roadmap = load_roadmap(Path("roadmap.yaml"))
    except RoadmapError as err:
        for problem in err.problems:
            print(problem.render(err.source))
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from roadmap.model import Roadmap
from roadmap.problems import Problem, RoadmapError, pydantic_problems
from roadmap.rules import check_rules

__all__ = [
    "MAX_INPUT_BYTES",
    "SourceFileError",
    "load_roadmap",
    "load_yaml",
    "parse_roadmap",
    "read_source",
    "read_yaml",
]

# A roadmap of 200 integrations is about 280 kB; 5 MiB leaves room for any real roadmap
# and refuses, in a moment, files that are not one (a 67 MB file took 23 s to reject).
MAX_INPUT_BYTES = 5 * 1024 * 1024


class SourceFileError(Exception):
    """An input file is missing, unreadable, too large or not YAML (a usage error)."""


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MiB" if count >= 1024 * 1024 else f"{count:,} bytes"


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def read_source(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """The file's text; refuses files over `limit` bytes before reading them."""
    try:
        size = path.stat().st_size
        if size > limit:
            shown, allowed = _size(size), _size(limit)
            if shown == allowed:  # just past the limit: "5.0 MiB is over 5.0 MiB" says nothing
                shown, allowed = f"{size:,} bytes", f"{limit:,} bytes"
            raise SourceFileError(
                f"{path}: {shown} is too large for an input file (the limit is "
                f"{allowed}); check that this is the roadmap or stack file you meant"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceFileError(f"{path}: no such file; check the path (--roadmap PATH)") from None
    except IsADirectoryError:
        raise SourceFileError(f"{path}: is a directory; pass the YAML file inside it") from None
    except OSError as err:
        raise SourceFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceFileError(
            f"{path}: the file is UTF-16 text; save it as UTF-8 (in most editors: "
            "Save As > Encoding > UTF-8)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = _position(raw, err.start)
        raise SourceFileError(
            f"{path}: line {line}, column {column}: byte 0x{raw[err.start]:02x} is not UTF-8 "
            "text; save the file as UTF-8 (in most editors: Save As > Encoding > UTF-8, or "
            f"`iconv -f WINDOWS-1252 -t UTF-8 {path.name} > fixed.yaml`)"
        ) from None


_DUPLICATE = re.compile(r'found duplicate key "(?P<key>.*)" with value')


def _yaml_message(err: Exception) -> str:
    """ruamel's error in one line with its position, without its notes about its own API."""
    from ruamel.yaml.constructor import DuplicateKeyError

    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = str(getattr(err, "problem", None) or err).strip()
    context = getattr(err, "context", None)
    context_mark = getattr(err, "context_mark", None)
    if isinstance(err, DuplicateKeyError):
        found = _DUPLICATE.search(problem)
        key = found["key"] if found else "a key"
        first = f" (the mapping starts at line {context_mark.line + 1})" if context_mark else ""
        return f"{where}key '{key}' appears twice in one mapping{first}; keep one of them"
    if "'\\t'" in problem:
        return f"{where}a tab character; YAML indents with spaces only, replace the tab"
    opened = ""
    if context and context_mark is not None:
        opened = f", {context} opened at line {context_mark.line + 1}"
    return (
        f"{where}not valid YAML ({problem}{opened}); check the indentation, quotes and "
        "brackets just before this point"
    )


def load_yaml(text: str, path: Path | str) -> Any:
    """Parse YAML safely (no custom tags); errors name the file and the line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as err:
        raise SourceFileError(f"{path}: {_yaml_message(err)}") from None


def read_yaml(path: Path) -> Any:
    """Read YAML from a file, raising SourceFileError with the file named on any I/O problem."""
    return load_yaml(read_source(path), path)


def load_roadmap(path: Path) -> Roadmap:
    """Load and validate the roadmap at `path` (SourceFileError, RoadmapError on failure)."""
    return parse_roadmap(read_yaml(path), source=path.name)


def parse_roadmap(data: Any, source: str = "roadmap.yaml") -> Roadmap:
    """Validate plain data (from YAML) into a Roadmap, or raise RoadmapError with every problem."""
    if not isinstance(data, dict):
        raise RoadmapError(
            source, [Problem("", "expected a mapping with systems, objects and integrations")]
        )
    try:
        roadmap = Roadmap.model_validate(data)
    except ValidationError as err:
        raise RoadmapError(source, pydantic_problems(err)) from None
    problems = list(check_rules(roadmap))
    if problems:
        raise RoadmapError(source, problems)
    return roadmap
