"""The outcome of one smoke check, and where progress is reported while the rehearsal works."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TextIO

__all__ = ["Check", "Progress"]


@dataclass(frozen=True)
class Check:
    """One named smoke check: ``access-matrix:sqs:quote-to-order`` passed or not, and why."""

    name: str
    ok: bool
    detail: str

    @classmethod
    def judged(cls, name: str, problems: list[str], passed: str, *, about: str = "") -> Check:
        """Failed with the ``problems`` found (after ``about``, what was judged), else passed
        with ``passed``, what was proven."""
        if problems:
            return cls(name, False, f"{about}: " * bool(about) + "; ".join(problems))
        return cls(name, True, passed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


class Progress:
    """Prints what the rehearsal is doing to stderr, so stdout holds only results.

    ``on_check`` is called with each check as soon as it is decided (the CLI prints it).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        on_check: Callable[[Check], None] | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        self._stream = stream
        self._on_check = on_check
        self._quiet = quiet
        self._started = time.monotonic()

    def step(self, message: str) -> None:
        if self._quiet:
            return
        stream = self._stream or sys.stderr
        print(f"[{time.monotonic() - self._started:6.1f}s] {message}", file=stream, flush=True)

    def check(self, check: Check) -> Check:
        if self._on_check is not None:
            self._on_check(check)
        return check
