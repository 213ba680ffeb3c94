"""Rehearsal benchmarks: the example stack, and how a generated roadmap's rehearsal scales.

Each rehearsal runs as `provisioner rehearse --json` in a fresh subprocess, so one size's
imports, caches and emulator state never help another; its wall time is measured around
the subprocess and its peak memory is the rehearsal process's own high-water resident set
(the Lambda workers it starts are processes of their own and not counted).

Usage::

    bench_rehearsal("dev")               # the example roadmap
    bench_rehearsal_scale((10, 40))      # generated roadmaps, and the ratios 40/10
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, log, ratio
from bench.roadmaps import write_roadmap

__all__ = ["SCALE_LIMIT", "bench_rehearsal", "bench_rehearsal_scale", "rehearse_in_child"]

# The goal: the rehearsal of 40 integrations costs at most 3x that of 10,
# in time and in memory (4x the integrations: linear would be 4x, the fixed part brings it
# down).
SCALE_LIMIT = 3.0


def _high_water_kib(pid: int) -> int:
    """The process's own peak resident set (``VmHWM``, KiB; proc(5)), 0 once it is gone.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's resident set at fork over
    into the child's ``ru_maxrss`` through ``execve``, so after the plan section had grown
    this process to gigabytes every child reported the same figure. ``VmHWM`` belongs to
    the child's own address space, which ``execve`` starts afresh; it is a high-water mark,
    so sampling it while the child runs misses only growth in its last 50 ms.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rehearse_in_child(stack: str, roadmap: Path | None = None) -> dict[str, Any]:
    """Wall seconds, peak RSS and the report of one `provisioner rehearse` subprocess."""
    command = [sys.executable, "-m", "provisioner", "rehearse", "--stack", stack, "--json"]
    if roadmap is not None:
        command += ["--roadmap", str(roadmap)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=err)
        peak_kib = 0
        while child.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(child.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    result: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "exit_code": child.returncode,
    }
    try:
        report = json.loads(stdout)
        checks = report.get("checks", [])
        result["resources_created"] = report.get("resources_created")
        result["checks_passed"] = sum(1 for c in checks if c.get("ok"))
        result["checks"] = len(checks)
    except (ValueError, AttributeError):
        result["note"] = "no JSON report: " + (stderr.strip().splitlines() or ["?"])[-1]
    return result


def bench_rehearsal(stack: str = "dev") -> dict[str, Any]:
    """`provisioner rehearse --stack <stack>` on the example roadmap."""
    result = {"command": f"provisioner rehearse --stack {stack}", **rehearse_in_child(stack)}
    log(f"rehearsal: {result['seconds']:.1f}s, exit {result['exit_code']}")
    return result


def bench_rehearsal_scale(sizes: Sequence[int], stack: str = "dev") -> dict[str, Any]:
    """The rehearsal of generated roadmaps of each size, and largest / smallest ratios."""
    if len(sizes) < 2:
        return {"note": "not measured in this profile (it needs two sizes)"}
    by_size: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            row = rehearse_in_child(stack, write_roadmap(size, Path(directory)))
            by_size[str(size)] = row
            log(
                f"rehearsal of {size} integrations: {row['seconds']:.1f}s, "
                f"{row['peak_rss_mb']:.0f} MB, {row.get('checks_passed')}/{row.get('checks')}"
            )
    small, large = by_size[str(min(sizes))], by_size[str(max(sizes))]
    seconds_ratio = ratio(large["seconds"], small["seconds"], 2)
    memory_ratio = ratio(large["peak_rss_mb"], small["peak_rss_mb"], 2)
    return {
        "stack": stack,
        "by_size": by_size,
        "seconds_ratio": seconds_ratio,
        "peak_rss_ratio": memory_ratio,
        "within_3x": None
        if seconds_ratio is None or memory_ratio is None
        else seconds_ratio <= SCALE_LIMIT and memory_ratio <= SCALE_LIMIT,
    }
