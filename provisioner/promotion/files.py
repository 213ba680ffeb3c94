"""The roadmap file: reading and validating it, private copies, the atomic replace.

A promotion never leaves a half-written roadmap: `write_atomically` writes a temporary file
beside it and renames it over the original only if the original is still what was read.
`after_file` is a private temporary copy of an edited roadmap for the checks that run the
program (which reads files).

Usage::

    raw, text = read_text(path)
    roadmap = load_from_text(text, path)
    write_atomically(path, new_text.encode("utf-8"), raw)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provisioner.errors import CheckFailed, UsageError
from roadmap.io import SourceFileError, load_yaml, parse_roadmap, read_source
from roadmap.model import Roadmap
from roadmap.problems import RoadmapError

__all__ = ["after_file", "load_from_text", "read_text", "safe_load", "write_atomically"]


def safe_load(text: str, source: str) -> Any:
    """The YAML data of `text`; a file that does not parse is a usage error naming `source`."""
    try:
        return load_yaml(text, source)
    except SourceFileError as err:
        raise UsageError(str(err)) from None


def read_text(path: Path) -> tuple[bytes, str]:
    """The roadmap's bytes and text; unreadable files are usage errors naming the file."""
    try:
        text = read_source(path)
    except SourceFileError as err:
        raise UsageError(str(err)) from None
    return text.encode("utf-8"), text  # UTF-8 round-trips: these are the bytes read


def load_from_text(text: str, path: Path) -> Roadmap:
    """Validate roadmap text; an invalid roadmap cannot be promoted (CheckFailed, exit 1)."""
    data = safe_load(text, str(path))
    try:
        return parse_roadmap(data, source=path.name)
    except RoadmapError as err:
        raise CheckFailed(
            f"{path} is invalid ({len(err.problems)} problem(s)); fix it first, see "
            f"`provisioner validate --roadmap {path}`:\n{err}"
        ) from None


def write_atomically(path: Path, new: bytes, expected_old: bytes) -> None:
    """Replace `path` with `new` in one step, only if it still holds `expected_old`.

    The bytes go to a temporary file in the same directory (same file system, so
    `os.replace` is atomic), are flushed to disk, take the original's permissions, and
    replace the file. Any failure or interrupt before the replace removes the temporary
    file and leaves the roadmap untouched.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".promote", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        if path.read_bytes() != expected_old:
            raise CheckFailed(
                f"{path}: changed by someone else while promoting; nothing was written, rerun"
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where supported
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def after_file(text: str, name: str) -> Iterator[Path]:
    """`text` in a private temporary file called `name`, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="promote-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        yield path
