"""`provisioner status`: the phase matrix and what blocks each integration's next promotion."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contract.phases import ENVIRONMENTS
from provisioner import promotion
from provisioner.context import resolve_roadmap_path
from provisioner.errors import EXIT_OK
from provisioner.promotion import AutomatedCheck, Pending
from provisioner.table import text_table
from roadmap.evidence import PHASE_NAMES
from roadmap.model import Roadmap

NAME = "status"
ORDER = 55
HELP = "show each integration's phase per environment and what blocks its next promotion"
DESCRIPTION = """\
Print the phase matrix (integration x environment) and, for each environment, the
next promotion and what blocks it: the environment below (phases never rise from
dev to staging to prod) and evidence not yet recorded for the phase being left.
For integrations at phase 5, the automation phase's own exit evidence (measured
cycle-time, data-quality and adoption improvements) is shown too.

Automated criteria (policy pack, rehearsal) are expensive and not run by default;
--with-checks runs them for each promotion nothing else blocks.

Exit 0 when the report was produced (blocked promotions are its content, not a
failure), 1 when the roadmap is invalid, 2 when it cannot be read.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument

    parser.add_argument(
        "--with-checks",
        action="store_true",
        help="also run the automated criteria (policy pack, rehearsal) where not blocked",
    )
    add_roadmap_argument(parser)
    add_json_argument(parser)


def _blockers(item: Pending) -> list[dict[str, str]]:
    if item.assessment is None:
        return []
    return [
        {"criterion": c.id, "status": c.status, "reason": c.detail, "fix": c.fix}
        for c in item.assessment.failed
    ]


def report(
    roadmap: Roadmap, path: Path, items: Sequence[Pending], with_checks: bool
) -> dict[str, Any]:
    """The status as one JSON-ready document."""
    by_integration: dict[str, list[Pending]] = {}
    for item in items:
        by_integration.setdefault(item.integration, []).append(item)
    integrations = []
    for integ in roadmap.integrations:
        promotions = []
        for item in by_integration[integ.name]:
            step = None if item.assessment is None else item.assessment.step
            promotions.append(
                {
                    "environment": item.environment,
                    "phase": item.phase,
                    "to_phase": None if step is None else step.target,
                    "ready": item.assessment is not None and item.assessment.promotable,
                    "blockers": _blockers(item),
                }
            )
        at_last = any(integ.phase(env) == promotion.LAST_PHASE for env in ENVIRONMENTS)
        integrations.append(
            {
                "name": integ.name,
                "phases": {env: integ.phase(env) for env in ENVIRONMENTS},
                "promotions": promotions,
                "automation_evidence_missing": (
                    [r.field for r in integ.evidence.missing(promotion.LAST_PHASE)]
                    if at_last
                    else None
                ),
            }
        )
    return {
        "roadmap": str(path),
        "environments": list(ENVIRONMENTS),
        "automated_checks": with_checks,
        "integrations": integrations,
    }


def render(doc: dict[str, Any]) -> str:
    envs = doc["environments"]
    rows = [[i["name"], *(i["phases"][e] for e in envs)] for i in doc["integrations"]]
    lines = [
        f"{doc['roadmap']}: {len(doc['integrations'])} integrations",
        "",
        *text_table(["integration", *envs], rows, align="<" + ">" * len(envs)),
        "",
    ]
    checks = "" if doc["automated_checks"] else " (recorded evidence only; --with-checks runs more)"
    lines.append(f"Next promotions{checks}:")
    for integ in doc["integrations"]:
        lines.append(f"  {integ['name']}")
        for p in integ["promotions"]:
            env = p["environment"]
            if p["to_phase"] is None:
                missing = integ["automation_evidence_missing"] or []
                state = (
                    f"automation evidence missing: {', '.join(missing)}"
                    if missing
                    else "automation evidence recorded"
                )
                lines.append(f"    {env:<8} at phase 5 ({PHASE_NAMES[5]}), the last; {state}")
                continue
            head = f"    {env:<8} {p['phase']} -> {p['to_phase']}:"
            if p["ready"]:
                ready = "ready" if doc["automated_checks"] else "ready on order and evidence"
                lines.append(f"{head} {ready}")
                continue
            lines.append(f"{head} blocked")
            for b in p["blockers"]:
                lines.append(f"      - {b['criterion']}: {b['reason']}")
                if b["fix"]:
                    lines.append(f"        fix: {b['fix']}")
    return "\n".join(lines)


def run(args: argparse.Namespace, checks: Sequence[AutomatedCheck] | None = None) -> int:
    """Print the status; `checks` replaces the automated criteria (tests pass fakes)."""
    path = resolve_roadmap_path(args.roadmap)
    _raw, text = promotion.read_text(path)
    roadmap = promotion.load_from_text(text, path)
    if checks is None:
        checks = promotion.AUTOMATED_CHECKS if args.with_checks else ()
    items = promotion.pending(roadmap, checks=checks, roadmap_path=path, text=text)
    doc = report(roadmap, path, items, with_checks=bool(checks))
    print(json.dumps(doc, indent=2) if args.json else render(doc))
    return EXIT_OK
