"""`provisioner promote`: raise an integration's phase in one environment after its criteria."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from contract.phases import ENVIRONMENTS
from provisioner import promotion
from provisioner.context import resolve_roadmap_path
from provisioner.errors import EXIT_FAILED, EXIT_OK
from provisioner.promotion import AutomatedCheck, Criterion, Outcome

NAME = "promote"
ORDER = 60
HELP = "raise an integration's phase in an environment once its exit criteria hold"
DESCRIPTION = """\
Raise INTEGRATION's phase in ENV by one (or to --to-phase N) after checking that
  - the new phase does not exceed the phase held in the environment below
    (dev has none below: only phase 5 limits it);
  - the evidence for every phase being left is recorded in the roadmap
    (integrations[n].evidence.<phase>: sign-offs, links, validated samples);
  - the automated criteria pass: the policy pack for the integration at the new
    phase in ENV, and the rehearsal's checks in the environment below. A check that
    cannot run fails with the reason.

Every failed criterion is listed with what to do. Only when all pass is the roadmap
rewritten - that one value, comments and formatting untouched, atomically - and the
diff printed. --dry-run prints the diff and writes nothing.

Example:
  provisioner promote quote-to-order --to prod --dry-run

Exit 0 promoted (or would be, with --dry-run), 1 refused, 2 usage error (unknown
integration or environment, bad phase, unreadable roadmap).
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_json_argument, add_roadmap_argument

    parser.add_argument("integration", metavar="INTEGRATION", help="integration name")
    parser.add_argument(
        "--to",
        required=True,
        choices=ENVIRONMENTS,
        metavar="ENV",
        dest="environment",
        help=f"the environment whose phase is raised: {', '.join(ENVIRONMENTS)}",
    )
    parser.add_argument(
        "--to-phase",
        type=int,
        metavar="N",
        default=None,
        help="raise to phase N (at most the phase held in the environment below)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and print the diff; write nothing"
    )
    add_roadmap_argument(parser)
    add_json_argument(parser)


def render_criterion(criterion: Criterion) -> list[str]:
    mark = {"passed": "ok  ", "failed": "FAIL"}[criterion.status]
    lines = [f"  {mark}  {criterion.id:<38} {criterion.detail}"]
    if criterion.fix:
        lines.append(f"  {'':4}  {'':<38} fix: {criterion.fix}")
    return lines


def render(outcome: Outcome) -> str:
    step = outcome.assessment.step
    lines = [
        f"promote {step.integration} in {step.environment}: phase {step.current} -> "
        f"{step.target} ({outcome.path})"
        + ("" if step.below is None else f"; {step.below} holds phase {step.held_below}"),
    ]
    for criterion in outcome.assessment.criteria:
        lines += render_criterion(criterion)
    failed = outcome.assessment.failed
    lines.append("")
    if failed:
        lines.append(
            f"refused: {len(failed)} of {len(outcome.assessment.criteria)} criteria failed; "
            f"{outcome.path} is unchanged"
        )
    if outcome.dry_run or outcome.written:
        lines.append(outcome.diff.rstrip("\n"))
    if not failed:
        lines.append(
            f"dry run: would promote; {outcome.path} is unchanged"
            if outcome.dry_run
            else f"promoted: wrote {outcome.path}; review and commit the diff above"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, checks: Sequence[AutomatedCheck] | None = None) -> int:
    """Promote as asked; `checks` replaces the automated criteria (tests pass fakes)."""
    path = resolve_roadmap_path(args.roadmap)
    outcome = promotion.promote(
        path,
        args.integration,
        args.environment,
        args.to_phase,
        dry_run=args.dry_run,
        checks=promotion.AUTOMATED_CHECKS if checks is None else checks,
    )
    if args.json:
        print(json.dumps(outcome.as_dict(), indent=2))
    else:
        print(render(outcome))
        sys.stdout.flush()
    return EXIT_OK if outcome.promoted else EXIT_FAILED
