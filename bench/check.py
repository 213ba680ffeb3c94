"""Check benchmark: resources analysed per second through the policy pack over gRPC.

The resources are those `provisioner check` analyses (provisioner/commands/check.py's
`plan_resources`) for a generated roadmap (bench/roadmaps.py) on the dev stack. Both packs
are started once by `provisioner.policy_harness.PolicyHarness`, exactly as the engine starts
them, and then `check` (every `Analyze`, then one `AnalyzeStack`) alternates between
policies/ (dev config) and bench/noop_pack/ (one policy that reports nothing). Medians.

Example::

    result = bench_check(integrations=50, repeats=3)
    result["policy_overhead_ratio"]  # seconds with our pack / seconds with the no-op pack
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO_ROOT, log, median, ratio, timed
from bench.plan import STACK
from bench.roadmaps import write_roadmap
from provisioner.commands.check import plan_resources
from provisioner.policy_harness import PolicyHarness, load_pack_config

__all__ = ["NOOP_PACK", "bench_check"]

NOOP_PACK = REPO_ROOT / "bench" / "noop_pack"


def bench_check(integrations: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        roadmap = write_roadmap(integrations, Path(tmp))
        resources, config = plan_resources(STACK, roadmap)
    log(f"check: {len(resources)} resources from {integrations} integrations")
    ours_pack = PolicyHarness(stack=STACK, config=config, policy_config=load_pack_config(STACK))
    noop_pack = PolicyHarness(NOOP_PACK, stack=STACK, config=config)
    ours_start, _ = timed(ours_pack.start)
    try:
        noop_start, _ = timed(noop_pack.start)
        try:
            ours: list[float] = []
            noop: list[float] = []
            violations: dict[str, int] = {}
            for _ in range(repeats):
                seconds, result = timed(lambda: ours_pack.check(resources))
                ours.append(seconds)
                violations = {
                    "mandatory": len(result.mandatory),
                    "total": len(result.violations),
                }
                seconds, _ = timed(lambda: noop_pack.check(resources))
                noop.append(seconds)
                log(f"check: policies {ours[-1]:.2f}s, no-op pack {noop[-1]:.2f}s")
            policies = len(ours_pack.policy_names)
        finally:
            noop_pack.stop()
    finally:
        ours_pack.stop()
    ours_s, noop_s = median(ours), median(noop)
    return {
        "stack": STACK,
        "integrations": integrations,
        "resources": len(resources),
        "policies": policies,
        "repeats": repeats,
        "violations": violations,
        "ours_seconds": round(ours_s, 3),
        "noop_seconds": round(noop_s, 3),
        "resources_per_second": round(len(resources) / ours_s, 1),
        "noop_resources_per_second": round(len(resources) / noop_s, 1),
        "policy_overhead_ratio": ratio(ours_s, noop_s),
        "pack_start_seconds": {"ours": round(ours_start, 3), "noop": round(noop_start, 3)},
    }
