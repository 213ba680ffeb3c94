"""Small helpers shared by the benchmarks: progress on stderr, timing, medians, budgets."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = ["REPO_ROOT", "Budget", "log", "median", "ratio", "timed", "timed_cpu"]

REPO_ROOT = Path(__file__).resolve().parents[1]
_START = time.perf_counter()
T = TypeVar("T")


def log(message: str) -> None:
    """One progress line on stderr, stamped with seconds since the run started."""
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def timed_cpu(action: Callable[[], T]) -> tuple[float, float, T]:
    """(wall seconds, CPU seconds of this process, result) of one call.

    CPU time stays meaningful on a machine other work is loading, where wall time can
    swing by a factor of two between two runs of the same thing.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator / denominator rounded, or None when either is missing or zero."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


class Budget:
    """Wall-clock budget of one section, to skip work that would overrun the run's limit."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    @property
    def remaining(self) -> float:
        return self.deadline - time.perf_counter()
