"""What the report reads from the other parts: policy results, costs and promotion evidence.

Each part is optional. When one is missing (not built yet, skipped, or it failed), its
result says `available=False` with the reason, and the report shows "not available" for
everything that depends on it: never a pass it could not check.

Usage::

    policy = collect_policy("dev", Path("roadmap.yaml"))
    if policy.available:
        policy.for_integration("quote-to-order")  # violations of that integration
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from components.roadmap import Roadmap
from provisioner.paths import PROJECT_ROOT

__all__ = [
    "CostResults",
    "PolicyResults",
    "PromotionResults",
    "Violation",
    "collect_costs",
    "collect_policy",
    "collect_promotion",
    "integration_of",
]

# `provisioner check` builds the plan and runs the pack over gRPC; a few seconds normally.
CHECK_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Violation:
    """One policy violation as `provisioner check --json` prints it."""

    policy: str
    level: str
    urn: str
    message: str
    integration: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


@dataclass(frozen=True)
class PolicyResults:
    """The policy pack's verdicts for one stack, or why there are none."""

    available: bool
    reason: str = ""
    policies: tuple[str, ...] = ()
    resources_analyzed: int = 0
    violations: tuple[Violation, ...] = ()

    @classmethod
    def unavailable(cls, reason: str) -> PolicyResults:
        return cls(available=False, reason=reason)

    def for_integration(self, name: str) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.integration == name)

    @property
    def unattributed(self) -> tuple[Violation, ...]:
        """Stack-level violations that name no single integration."""
        return tuple(v for v in self.violations if v.integration is None)


@dataclass(frozen=True)
class CostResults:
    """Monthly fixed cost in USD per integration and in total, or why there is none."""

    available: bool
    reason: str = ""
    per_integration: Mapping[str, float] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def unavailable(cls, reason: str) -> CostResults:
        return cls(available=False, reason=reason)

    @property
    def total(self) -> float:
        return round(sum(self.per_integration.values()), 2)


@dataclass(frozen=True)
class PromotionResults:
    """What blocks each next promotion, from issue 8's exit-criteria assessment.

    `blockers[(integration, environment)]` lists what stops the next one-step promotion
    there (empty: nothing the roadmap records blocks it). `note` says what was not run.
    """

    available: bool
    reason: str = ""
    blockers: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    note: str = ""

    @classmethod
    def unavailable(cls, reason: str) -> PromotionResults:
        return cls(available=False, reason=reason)


def integration_of(urn: str, names: Iterable[str]) -> str | None:
    """The integration a resource URN belongs to, from its logical name `{integration}-{role}`.

    The longest matching name wins, so `order` never claims `order-to-invoice-queue`.
    """
    logical = urn.rsplit("::", 1)[-1]
    matches = [n for n in names if logical == n or logical.startswith(f"{n}-")]
    if not matches:
        # An Integration component's own URN or a parent chain may still carry the name.
        matches = [n for n in names if f"::{n}-" in urn or urn.endswith(f"::{n}")]
    return max(matches, key=len) if matches else None


def _optional_module(name: str) -> ModuleType | None:
    """Another part's module, or None while it has not landed (its own import errors raise)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return None
        raise


def _run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
        check=False,
    )


def _command_exists(name: str) -> bool:
    return (PROJECT_ROOT / "provisioner" / "commands" / f"{name}.py").is_file()


def parse_check_json(document: Any, roadmap: Roadmap) -> PolicyResults:
    """Turn `provisioner check --json` output into PolicyResults (ValueError if malformed)."""
    if not isinstance(document, dict) or not isinstance(document.get("violations"), list):
        raise ValueError("expected {'policies', 'resources_analyzed', 'violations': [...]}")
    names = [i.name for i in roadmap.integrations]
    violations = []
    for raw in document["violations"]:
        urn = str(raw.get("urn") or "")
        violations.append(
            Violation(
                policy=str(raw.get("policy", "")),
                level=str(raw.get("level", "mandatory")),
                urn=urn,
                message=str(raw.get("message", "")),
                integration=integration_of(urn, names) if urn else None,
            )
        )
    return PolicyResults(
        available=True,
        policies=tuple(str(p) for p in document.get("policies", ())),
        resources_analyzed=int(document.get("resources_analyzed", 0)),
        violations=tuple(violations),
    )


def collect_policy(stack: str, roadmap_path: Path, roadmap: Roadmap) -> PolicyResults:
    """Run `provisioner check --stack S --json` (issue 4's harness) and group its violations."""
    if not _command_exists("check"):
        return PolicyResults.unavailable(
            "`provisioner check` (the policy harness) is not built yet"
        )
    try:
        done = _run_cli(["check", "--stack", stack, "--roadmap", str(roadmap_path), "--json"])
    except subprocess.TimeoutExpired:
        return PolicyResults.unavailable(
            f"`provisioner check` did not finish in {CHECK_TIMEOUT_SECONDS} s"
        )
    if done.returncode not in (0, 1):
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return PolicyResults.unavailable(
            f"`provisioner check` failed (exit {done.returncode}): {tail}"
        )
    try:
        return parse_check_json(json.loads(done.stdout), roadmap)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        return PolicyResults.unavailable(
            f"`provisioner check --json` printed no usable JSON: {err}"
        )


def collect_costs(stack: str, roadmap: Roadmap) -> CostResults:
    """Monthly fixed cost per integration active in the stack, from `provisioner.pricing`."""
    pricing = _optional_module("provisioner.pricing")
    if pricing is None:
        return CostResults.unavailable("provisioner.pricing (issue 3) is not built yet")
    del stack, roadmap
    return CostResults.unavailable("provisioner.pricing has no API the report knows yet")


def collect_promotion(roadmap: Roadmap) -> PromotionResults:
    """Blockers of every next promotion from `provisioner.promotion.pending` (issue 8).

    Only the order and recorded-evidence criteria are assessed here: the automated ones
    (policy pack, rehearsal) each need a plan or an emulator run per step; the report shows
    the policy pack's verdicts in their own section instead.
    """
    promotion = _optional_module("provisioner.promotion")
    if promotion is None:
        return PromotionResults.unavailable("provisioner.promotion (issue 8) is not built yet")
    try:
        steps = promotion.pending(roadmap)
    except Exception as err:  # another part's bug must not take the whole report down
        return PromotionResults.unavailable(
            f"provisioner.promotion failed: {type(err).__name__}: {err}"
        )
    blockers: dict[tuple[str, str], tuple[str, ...]] = {}
    for step in steps:
        if step.assessment is None:
            blockers[(step.integration, step.environment)] = ("at the last phase (5, automation)",)
            continue
        blockers[(step.integration, step.environment)] = tuple(
            f"{c.detail}" + (f" ({c.fix})" if c.fix and c.kind == "order" else "")
            for c in step.assessment.failed
        )
    return PromotionResults(
        available=True,
        blockers=blockers,
        note="order and recorded evidence checked; policy pack and rehearsal run at promotion",
    )
