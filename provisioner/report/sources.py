"""What the report reads from the other parts: policy results, costs and promotion blockers.

Each part is optional. When one is missing (not built yet, skipped, or it failed), its
result says `available=False` with the reason, and the report shows "not available" for
everything that depends on it: never a pass it could not check.

Usage::

    policy, costs = collect_plan("dev", Path("roadmap.yaml"), roadmap)
    if policy.available:
        policy.for_integration("quote-to-order")  # violations of that integration
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.paths import STACKS_DIR
from provisioner.violations import Violation
from roadmap.model import Roadmap

__all__ = [
    "CostResults",
    "PolicyResults",
    "PromotionResults",
    "collect_plan",
    "collect_promotion",
    "integration_of",
]


@dataclass(frozen=True)
class PolicyResults:
    """The policy pack's verdicts for one stack, or why there are none."""

    available: bool
    reason: str = ""
    policies: tuple[str, ...] = ()
    resources_analyzed: int = 0
    violations: tuple[Violation, ...] = ()
    # The resource types each integration has in the plan (the controls section reads it).
    resource_types: Mapping[str, frozenset[str]] = field(default_factory=dict)

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
    """Monthly cost in USD per integration (fixed + usage) and in total, or why there is none.

    `breakdown[name]` is the integration's `provisioner.pricing.IntegrationCost` (fixed and
    usage items); `prices` the price table rows for the stack's region.
    """

    available: bool
    reason: str = ""
    per_integration: Mapping[str, float] = field(default_factory=dict)
    source: str = ""
    breakdown: Mapping[str, Any] = field(default_factory=dict)
    prices: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def unavailable(cls, reason: str) -> CostResults:
        return cls(available=False, reason=reason)

    @property
    def total(self) -> float:
        return round(sum(self.per_integration.values()), 2)


@dataclass(frozen=True)
class PromotionResults:
    """What blocks each next promotion, from the exit-criteria assessment.

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


def collect_plan(
    stack: str,
    roadmap_path: Path,
    roadmap: Roadmap,
    *,
    check: bool = True,
    stacks_dir: Path = STACKS_DIR,
) -> tuple[PolicyResults, CostResults]:
    """Plan the stack once (the program under mocks); price it and run the pack on it.

    Costs come from `provisioner.pricing.integration_cost` over each integration's resources;
    policy verdicts from `provisioner.policy_harness.check_resources`, the pack
    started as the engine starts it. Each violation is attributed to the integration whose
    Integration component owns the resource (a stack-level one without a URN to the
    integration its message names, as `provisioner promote` does).
    """
    from provisioner import pricing, program
    from provisioner.records import ProgramError

    try:
        run = program.run_program(stack, roadmap=roadmap_path, stacks_dir=stacks_dir)
    except ProgramError as err:
        reason = f"the program failed to plan {stack}: {err}"
        return PolicyResults.unavailable(reason), CostResults.unavailable(reason)
    owner = {r.urn: run.integration_of(r) for r in run.resources}

    costs = _costs(pricing, run.settings.environment, roadmap, run.resources, owner, run.config)

    if not check:
        return PolicyResults.unavailable("skipped with --no-check"), costs
    from provisioner import policy_harness as harness

    try:
        result = harness.check_resources(
            [r.to_json() for r in run.resources], stack=stack, config=run.config
        )
    except (harness.PolicyPackError, harness.PolicyConfigError) as err:
        return PolicyResults.unavailable(f"the policy pack could not run: {err}"), costs
    names = [i.name for i in roadmap.integrations]
    violations = tuple(
        Violation(
            v.policy,
            v.level,
            v.urn,
            v.message,
            owner.get(v.urn) if v.urn else next((n for n in names if n in v.message), None),
        )
        for v in result.violations
    )
    policy = PolicyResults(
        available=True,
        policies=tuple(result.policies),
        resources_analyzed=result.resources_analyzed,
        violations=violations,
        resource_types={
            name: frozenset(r.type for r in run.resources if r.custom and owner[r.urn] == name)
            for name in dict.fromkeys(n for n in owner.values() if n)
        },
    )
    return policy, costs


def _costs(
    pricing: Any,
    environment: str,
    roadmap: Roadmap,
    resources: list[Any],
    owner: Mapping[str, str | None],
    config: Mapping[str, Any],
) -> CostResults:
    """Each active integration's fixed and usage cost, priced for the stack's region."""
    from provisioner import prices

    region = str(config.get("aws:region", ""))
    try:
        breakdown = {
            integ.name: pricing.integration_cost(
                integ, [r for r in resources if owner[r.urn] == integ.name], region
            )
            for integ in roadmap.active(environment)
        }
    except prices.PriceError as err:
        return CostResults.unavailable(str(err))
    return CostResults(
        available=True,
        per_integration={name: cost.total_usd for name, cost in breakdown.items()},
        source=f"AWS list prices for {region} in provisioner/prices.py, each with its page "
        "and the month it showed that price; usage estimated from the service levels",
        breakdown=breakdown,
        prices=tuple(prices.price_table_json(region)),
    )


def collect_promotion(roadmap: Roadmap) -> PromotionResults:
    """Blockers of every next promotion from `provisioner.promotion.pending`.

    Only the order and recorded-evidence criteria are assessed here: the automated ones
    (policy pack, rehearsal) each need a plan or an emulator run per step; the report shows
    the policy pack's verdicts in their own section instead.
    """
    from provisioner import promotion

    steps = promotion.pending(roadmap)
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
