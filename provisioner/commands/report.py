"""`provisioner report`: the roadmap as one self-contained HTML page and a Markdown file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provisioner.context import load_stack_context
from provisioner.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from provisioner.report import Report

NAME = "report"
ORDER = 70
HELP = "write the roadmap report (map, matrices, checklist, policy, cost) as HTML and Markdown"
DESCRIPTION = """\
Write DIR/index.html (self-contained: inline CSS and SVG, nothing fetched) and DIR/report.md
for one stack: first what runs where, what waits on whom and what fails, in plain words;
then the system and integration map (SVG in the page, a Mermaid flowchart in report.md),
the source-of-truth matrix, the phase matrix with what blocks promotion, the roadmap
checklist answered with evidence, the policy verdicts per integration, each integration's
security controls (docs/controls.md: FSBP and CIS, met ones judged by the policy verdicts)
and the monthly cost, fixed and usage, item by item.

A part that cannot run (the policy pack, a plan that fails) is shown as "not
available" with the reason, never as a pass. The report is written even when checklist items fail.

--json prints {"stack", "files": {"html", "markdown"}, "checklist": [{"key", "question",
"verdict", "findings": [{"status", "text"}]}], "policy": {"available", "reason"},
"cost": {"available", "reason", "monthly_usd", "per_integration_usd"}}.

Exit 0 when written, 1 when the roadmap is invalid, 2 on a usage or I/O error.
"""


def register(parser: argparse.ArgumentParser) -> None:
    from provisioner.cli import (
        add_json_argument,
        add_roadmap_argument,
        add_stack_argument,
        complete_files,
    )

    add_stack_argument(parser)
    complete_files(
        parser.add_argument(
            "--out", required=True, type=Path, metavar="DIR", help="directory to write into"
        ),
        "directory",
    )
    add_json_argument(parser)
    add_roadmap_argument(parser)
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the policy pack (its verdicts show as not available); saves a few seconds",
    )


def summary_document(report: Report, html_path: Path, md_path: Path) -> dict[str, Any]:
    """What `--json` prints: the files written and the verdicts they show."""
    return {
        "stack": report.stack,
        "files": {"html": str(html_path), "markdown": str(md_path)},
        "checklist": [
            {
                "key": item.key,
                "question": item.question,
                "verdict": item.verdict.value,
                "findings": [{"status": f.status.value, "text": f.text} for f in item.findings],
            }
            for item in report.checklist
        ],
        "policy": {"available": report.policy.available, "reason": report.policy.reason},
        "cost": {
            "available": report.costs.available,
            "reason": report.costs.reason,
            "monthly_usd": report.costs.total if report.costs.available else None,
            "per_integration_usd": dict(report.costs.per_integration),
        },
    }


def run(args: argparse.Namespace) -> int:
    from provisioner.report import build_report, collect_plan, collect_promotion, write_report

    ctx = load_stack_context(args.stack, args.roadmap)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory; pass a directory")
    policy, costs = collect_plan(ctx.stack, ctx.roadmap_path, ctx.roadmap, check=not args.no_check)
    report = build_report(ctx, policy=policy, costs=costs, promotion=collect_promotion(ctx.roadmap))
    try:
        html_path, md_path = write_report(report, out)
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write the report ({err})") from None
    if args.json:
        print(json.dumps(summary_document(report, html_path, md_path), indent=2))
        return EXIT_OK
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
