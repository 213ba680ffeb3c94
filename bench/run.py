"""Benchmarks: how the program, the policy check and the sync functions scale.

    python bench/run.py            # full run, under 10 minutes on 2 cores
    python bench/run.py --quick    # smaller sizes, under 2 minutes

Progress goes to stderr; the last line on stdout is one JSON object with a section per
benchmark (plan, check, sync, import, rehearsal), each measured against its baseline in the
same run. bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench`, `components`... importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log

__all__ = ["PROFILES", "main"]

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "plan_sizes": (5, 20),
        "plan_repeats": 1,
        "plan_sdk_repeats": 1,
        "plan_budget_seconds": 40,
        "check_integrations": 10,
        "check_repeats": 5,
        "sync_records": 200,
        "sync_repeats": 2,
        "import_runs": 3,
        "rehearsal_sizes": (),
    },
    "full": {
        "plan_sizes": (10, 50, 200, 500),
        "plan_repeats": 3,
        "plan_sdk_repeats": 1,
        "plan_budget_seconds": 420,
        "check_integrations": 50,
        "check_repeats": 3,
        "sync_records": 1000,
        "sync_repeats": 3,
        "import_runs": 7,
        "rehearsal_sizes": (10, 40),
    },
}
SECTIONS = ("plan", "check", "sync", "import", "rehearsal")


@contextlib.contextmanager
def _stdout_reserved() -> Iterator[Callable[[str], None]]:
    """Send everything else printed to fd 1 (EMF lines, SDK chatter) to stderr; yield a
    writer for the one JSON line that belongs on stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:

        def emit(line: str) -> None:
            sys.stdout.flush()
            os.write(saved, (line + "\n").encode())

        yield emit
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _section(name: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    log(f"--- {name}")
    started = time.perf_counter()
    try:
        result = action()
    except Exception as err:  # report it and carry on with the other benchmarks
        log(f"{name} failed: {type(err).__name__}: {err}")
        result = {"error": f"{type(err).__name__}: {err}"}
    result["section_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (under 2 minutes)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args(argv)
    profile_name = "quick" if args.quick else "full"
    p = PROFILES[profile_name]
    wanted = set(args.only or SECTIONS)

    from bench.check import bench_check
    from bench.plan import bench_plan
    from bench.rehearsal import bench_rehearsal, bench_rehearsal_scale
    from bench.sync import bench_import, bench_sync

    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "plan": lambda: bench_plan(
            p["plan_sizes"], p["plan_repeats"], p["plan_budget_seconds"], p["plan_sdk_repeats"]
        ),
        "check": lambda: bench_check(p["check_integrations"], p["check_repeats"]),
        "sync": lambda: bench_sync(p["sync_records"], p["sync_repeats"]),
        "import": lambda: bench_import(p["import_runs"]),
        "rehearsal": lambda: {
            **bench_rehearsal(),
            "scale": bench_rehearsal_scale(p["rehearsal_sizes"]),
        },
    }
    started = time.perf_counter()
    with _stdout_reserved() as emit:
        report: dict[str, Any] = {
            "profile": profile_name,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
        for name in SECTIONS:
            if name in wanted:
                report[name] = _section(name, steps[name])
        report["total_seconds"] = round(time.perf_counter() - started, 1)
        log(f"done in {report['total_seconds']}s")
        emit(json.dumps(report, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
