"""The roadmap report: one HTML page and one Markdown file that every team can agree on.

`provisioner report --stack S --out DIR` builds it; this package holds the pieces: the
checklist's rules (`checklist`), the content as data (`model`), the system map as data
(`flowmap`) drawn as SVG (`diagram`, its boxes sized by `textwidth`) and as Mermaid
(`mermaid`), the formats (`render`) and the adapters to the other parts (`sources`).

Usage::

    report = build_report(load_stack_context("dev"), policy=policy, costs=costs,
                          promotion=promotion)
    write_report(report, Path("out"))   # out/index.html, out/report.md
"""

from provisioner.report.checklist import ChecklistItem, Finding, Verdict
from provisioner.report.model import Report, build_report
from provisioner.report.render import render_html, render_markdown, write_report
from provisioner.report.sources import (
    CostResults,
    PolicyResults,
    PromotionResults,
    collect_plan,
    collect_promotion,
)

__all__ = [
    "ChecklistItem",
    "CostResults",
    "Finding",
    "PolicyResults",
    "PromotionResults",
    "Report",
    "Verdict",
    "build_report",
    "collect_plan",
    "collect_promotion",
    "render_html",
    "render_markdown",
    "write_report",
]
