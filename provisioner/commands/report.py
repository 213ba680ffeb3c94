"""`provisioner report`: the roadmap as one self-contained HTML page and a Markdown file."""

from __future__ import annotations

import argparse
from pathlib import Path

from provisioner.context import load_stack_context
from provisioner.errors import EXIT_OK, UsageError

NAME = "report"
ORDER = 70
HELP = "write the roadmap report (map, matrices, checklist, policy, cost) as HTML and Markdown"
DESCRIPTION = """\
Write DIR/index.html (self-contained: inline CSS and SVG, nothing fetched) and DIR/report.md
for one stack: the system and integration map, the source-of-truth matrix, the phase matrix
with what blocks promotion, the roadmap checklist answered with evidence, the policy
verdicts per integration, each integration's security controls (docs/controls.md: FSBP and
CIS, met ones judged by the policy verdicts) and the monthly fixed cost.

Parts that are not available (policy harness, pricing, promotion) are shown as
"not available", never as a pass. The report is written even when checklist items fail.

Exit 0 when written, 1 when the roadmap is invalid, 2 on a usage or I/O error.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import add_roadmap_argument, add_stack_argument

    add_stack_argument(parser)
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="directory to write into"
    )
    add_roadmap_argument(parser)
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the policy pack (its verdicts show as not available); saves a few seconds",
    )


def run(args: argparse.Namespace) -> int:
    from provisioner.report import build_report, collect_plan, collect_promotion, write_report

    ctx = load_stack_context(args.stack, args.roadmap)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory; pass a directory")
    policy, costs = collect_plan(ctx.stack, ctx.roadmap_path, ctx.roadmap, check=not args.no_check)
    report = build_report(
        ctx.roadmap,
        ctx.stack,
        ctx.settings,
        policy=policy,
        costs=costs,
        promotion=collect_promotion(ctx.roadmap),
        roadmap_name=ctx.roadmap_path.name,
    )
    try:
        html_path, md_path = write_report(report, out)
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write the report ({err})") from None
    counts = report.counts()
    cost = f"${report.costs.total:,.2f}/month" if report.costs.available else "not available"
    print(f"wrote {html_path} and {md_path}")
    print(
        "checklist: "
        + ", ".join(f"{n} {verdict.value}" for verdict, n in counts.items())
        + f"; policy: {'checked' if policy.available else 'not available'}; cost: {cost}"
    )
    for item in report.checklist:
        print(f"  {item.verdict.value:>13}  {item.question}")
    return EXIT_OK
