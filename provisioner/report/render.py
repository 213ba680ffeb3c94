"""Format a Report as one self-contained HTML page and as Markdown.

The page carries its CSS and the SVG map inline and references nothing outside itself:
no stylesheet, font, image or script is fetched, so it opens offline and from a file.
Links in the text (runbooks) are plain anchors that load nothing until clicked. The page
is the Jinja2 template `templates/report.html.j2` (with `templates/report.css`), rendered
with autoescaping: this module hands it plain data, never markup, except the SVG map.

Usage::

    write_report(report, Path("out"))  # out/index.html, out/report.md
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined

from contract.phases import ENVIRONMENTS
from provisioner.report.checklist import Verdict
from provisioner.report.controls import CONTROL_CSS, integration_controls
from provisioner.report.controls import section_markdown as controls_markdown
from provisioner.report.diagram import render_map
from provisioner.report.flowmap import PATTERN_STYLES, system_map
from provisioner.report.glance import STAGES, Glance, at_a_glance, grouped_sentences
from provisioner.report.mermaid import render_mermaid
from provisioner.report.model import (
    MatrixCell,
    PhaseCell,
    Report,
    direction_label,
    phase_label,
)
from roadmap.integrations import Integration
from roadmap.model import Roadmap

__all__ = ["render_html", "render_markdown", "write_report"]

# The report checks order and recorded evidence only; `promote` also runs pack and rehearsal.
READY = "order and recorded evidence allow the next step (promote also runs pack and rehearsal)"


class Badge(NamedTuple):
    """How a verdict shows on the page: its CSS class and its word."""

    css: str
    text: str


_BADGE = {
    Verdict.PASS: Badge("v-pass", "PASS"),
    Verdict.FAIL: Badge("v-fail", "FAIL"),
    Verdict.UNAVAILABLE: Badge("v-na", "NOT AVAILABLE"),
    Verdict.WAITING: Badge("v-wait", "WAITING"),
    Verdict.INFO: Badge("v-info", "INFO"),
}
# A finding's line is coloured by its status (class f-<status>).
_FINDING_CSS = {v: "na" if v is Verdict.UNAVAILABLE else v.value for v in Verdict}
_MD = {
    Verdict.PASS: "PASS",
    Verdict.FAIL: "FAIL",
    Verdict.UNAVAILABLE: "NOT AVAILABLE",
    Verdict.WAITING: "WAITING",
    Verdict.INFO: "info",
}


def _cell_text(cell: MatrixCell) -> list[str]:
    parts = []
    if cell.owner:
        parts.append("OWNER")
    if cell.owned_fields:
        parts.append(f"owns {', '.join(cell.owned_fields)}")
    if cell.read_by:
        parts.append(f"read by {', '.join(cell.read_by)}")
    if cell.written_by:
        parts.append(f"written by {', '.join(cell.written_by)}")
    return parts


def _decimal(value: float) -> str:
    """0.0000166667, not 1.66667e-05."""
    return format(Decimal(str(value)).normalize(), "f")


def _money(value: float) -> str:
    return f"${value:,.2f}"


COST_HEADER = ["integration", "fixed", "usage", "USD per month"]
PRICE_HEADER = ["item", "price (USD)", "kind", "as of", "source"]


def _cost_rows(report: Report) -> list[list[str]]:
    """integration, fixed, usage, total; the last row is the stack's total."""
    costs = report.costs
    rows = []
    fixed = usage = 0.0
    for name, total in costs.per_integration.items():
        detail = costs.breakdown.get(name)
        f, u = (detail.fixed_usd, detail.usage_usd) if detail else (total, 0.0)
        fixed, usage = fixed + f, usage + u
        rows.append([name, _money(f), _money(u), _money(total)])
    rows.append(["total", _money(fixed), _money(usage), _money(costs.total)])
    return rows


def _price_rows(report: Report) -> list[list[str]]:
    return [
        [
            str(p["what"]),
            f"{_decimal(p['usd'])} per "
            + (f"{p['per']:,} {p['unit']}s" if p["per"] != 1 else str(p["unit"])),
            str(p["kind"]),
            str(p["as_of"]),
            str(p["source"]),
        ]
        for p in report.costs.prices
    ]


GLANCE_TITLES = {
    "stages": "What runs where",
    "waiting": "Waiting on a person",
    "failing": "What fails",
    "cost": "What it costs",
}


def _glance_stage_rows(glance: Glance) -> list[list[str]]:
    return [
        [env, *(", ".join(names) or "none" for names in glance.stages[env].values())]
        for env in glance.stages
    ]


def _glance_lists(glance: Glance) -> tuple[list[str], list[str]]:
    waiting = grouped_sentences(glance.waiting) or ["Nothing: no sign-off is outstanding."]
    failing = list(glance.failing) or [f"Nothing fails in {glance.stack}."]
    return waiting, failing


def _md_glance(report: Report) -> list[str]:
    glance = at_a_glance(report)
    waiting, failing = _glance_lists(glance)
    lines = [f"## {GLANCE_TITLES['stages']}", ""]
    lines += _md_table(
        ["environment", *(f"{s}: {d}" for s, d in STAGES.items())], _glance_stage_rows(glance)
    )
    lines += ["", f"## {GLANCE_TITLES['waiting']}", "", *(f"- {line}" for line in waiting)]
    lines += ["", f"## {GLANCE_TITLES['failing']}", "", *(f"- {line}" for line in failing)]
    lines += ["", f"## {GLANCE_TITLES['cost']}", "", glance.cost, ""]
    return lines


# Autoescaping: every value the roadmap, the plan or the pack supplies is text on the page,
# whatever characters it holds; a template marks nothing safe but the SVG map, whose text
# `diagram` escapes with the same function. Undefined names fail loudly instead of
# rendering empty.
_TEMPLATES = Environment(
    loader=PackageLoader("provisioner.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _phase_notes(cell: PhaseCell) -> list[str]:
    """What blocks the next promotion from a cell, or that nothing does."""
    notes = [*cell.blockers]
    if cell.criteria != "checked":
        notes.append(cell.criteria)
    elif not cell.blockers:
        notes.append(READY)
    return notes


def _html_flow(roadmap: Roadmap, integ: Integration, environment: str) -> dict[str, str]:
    return {
        "name": integ.name,
        "source": integ.source,
        "target": integ.target,
        "objects": ", ".join(integ.objects),
        "pattern": PATTERN_STYLES[integ.pattern].label,
        "direction": direction_label(integ, environment),
        "phase": phase_label(integ.phase(environment)),
        "owner_team": integ.owner_team,
        "runbook": str(integ.runbook),
        "connector": roadmap.connector_summary(integ),
        "rotation": roadmap.rotation_summary(integ),
    }


# Past this many systems a 1400 px window gives each column less than a long system name
# needs (about 150 px for 20 characters), so the names stand upright instead of wrapping.
UPRIGHT_FROM = 9


def _html_sot(report: Report) -> dict[str, Any]:
    systems = [s.name for s in report.roadmap.systems]
    rows = [
        {
            "name": obj_name,
            "cells": [
                {"system": s, "owner": row[s].owner, "lines": _cell_text(row[s])} for s in systems
            ],
        }
        for obj_name, row in report.source_of_truth.items()
    ]
    return {"systems": systems, "upright": len(systems) >= UPRIGHT_FROM, "rows": rows}


def _html_phases(report: Report) -> dict[str, Any]:
    rows = [
        {
            "name": name,
            "cells": [
                {"env": env, "phase": phase_label(row[env].phase), "notes": _phase_notes(row[env])}
                for env in ENVIRONMENTS
            ],
        }
        for name, row in report.phases.items()
    ]
    return {"environments": ENVIRONMENTS, "rows": rows}


def _html_policy(report: Report) -> dict[str, Any]:
    policy = report.policy
    return {
        "available": policy.available,
        "reason": policy.reason,
        "policies": len(policy.policies),
        "resources": policy.resources_analyzed,
        "verdicts": report.policy_verdicts,
        "unattributed": policy.unattributed,
    }


def _html_controls(report: Report) -> dict[str, Any]:
    return {
        "rows": integration_controls(report),
        "reason": report.policy.reason or "no plan",
        "css": CONTROL_CSS,
    }


def _html_costs(report: Report) -> dict[str, Any]:
    costs = report.costs
    rows = _cost_rows(report) if costs.available else []
    return {
        "available": costs.available,
        "reason": costs.reason,
        "source": costs.source,
        "header": COST_HEADER,
        "rows": rows[:-1],
        "total": rows[-1:] and rows[-1],
        "price_header": PRICE_HEADER,
        "prices": _price_rows(report) if costs.available else [],
    }


def _html_glance(report: Report) -> dict[str, Any]:
    glance = at_a_glance(report)
    waiting, failing = _glance_lists(glance)
    return {
        "titles": GLANCE_TITLES,
        "stages": list(STAGES.items()),
        "rows": _glance_stage_rows(glance),
        "waiting": waiting,
        "failing": failing,
        "cost": glance.cost,
    }


def render_html(report: Report) -> str:
    """The whole report as one HTML document with inline CSS and SVG."""
    roadmap, counts = report.roadmap, report.counts()
    summary = [Verdict.PASS, Verdict.WAITING, Verdict.FAIL, Verdict.UNAVAILABLE]
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        title=f"{roadmap.organisation}: integration roadmap report ({report.stack})",
        roadmap_name=report.roadmap_path.name,
        stack=report.stack,
        environment=report.environment,
        counts={
            "systems": len(roadmap.systems),
            "objects": len(roadmap.objects),
            "integrations": len(roadmap.integrations),
        },
        badges=_BADGE,
        unavailable=Verdict.UNAVAILABLE,
        summary=[(v, counts[v]) for v in summary],
        glance=_html_glance(report),
        map_svg=render_map(system_map(roadmap, report.environment)),
        flows=[_html_flow(roadmap, i, report.environment) for i in roadmap.integrations],
        sot=_html_sot(report),
        phases=_html_phases(report),
        checklist=report.checklist,
        finding_css=_FINDING_CSS,
        labels=_MD,
        policy=_html_policy(report),
        controls=_html_controls(report),
        costs=_html_costs(report),
    )


# --------------------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
    return out


def render_markdown(report: Report) -> str:
    """The same content as Markdown (the map as a Mermaid flowchart and a table of flows)."""
    roadmap, stack = report.roadmap, report.stack
    counts = report.counts()
    systems = [s.name for s in roadmap.systems]
    lines = [
        f"# {roadmap.organisation}: integration roadmap report ({stack})",
        "",
        f"From {report.roadmap_path.name}, stack {stack}: {len(roadmap.systems)} systems, "
        f"{len(roadmap.objects)} objects, {len(roadmap.integrations)} integrations. "
        f"Checklist: {counts[Verdict.PASS]} pass, {counts[Verdict.WAITING]} waiting on a "
        f"person, {counts[Verdict.FAIL]} fail, "
        f"{counts[Verdict.UNAVAILABLE]} not available.",
        "",
        *_md_glance(report),
        "## System and integration map",
        "",
        "```mermaid",
        render_mermaid(system_map(roadmap, report.environment)),
        "```",
        "",
        "## Systems",
        "",
        *_md_table(
            ["system", "kind", "vendor", "description"],
            [[s.name, s.kind.value, s.vendor, s.description] for s in roadmap.systems],
        ),
        "",
        "## Flows",
        "",
        *_md_table(
            [
                "integration",
                "from",
                "to",
                "objects",
                "pattern",
                "direction",
                f"phase in {stack}",
                "owner team",
                "connector and API version",
                "credential rotation",
            ],
            [
                [
                    i.name,
                    i.source,
                    i.target,
                    ", ".join(i.objects),
                    PATTERN_STYLES[i.pattern].label,
                    direction_label(i, report.environment),
                    phase_label(i.phase(report.environment)),
                    i.owner_team,
                    roadmap.connector_summary(i),
                    roadmap.rotation_summary(i),
                ]
                for i in roadmap.integrations
            ],
        ),
        "",
        "## Source-of-truth matrix",
        "",
        *_md_table(
            ["object", *systems],
            [
                [obj, *("; ".join(_cell_text(row[s])) for s in systems)]
                for obj, row in report.source_of_truth.items()
            ],
        ),
        "",
        "## Phases and what blocks promotion",
        "",
    ]
    rows = []
    for name, row in report.phases.items():
        cells = []
        for env in ENVIRONMENTS:
            notes = _phase_notes(row[env])
            label = phase_label(row[env].phase)
            cells.append(label + (f" ({'; '.join(notes)})" if notes else ""))
        rows.append([name, *cells])
    lines += _md_table(["integration", *ENVIRONMENTS], rows)
    lines += ["", "## Roadmap checklist", ""]
    for item in report.checklist:
        lines += [f"### {item.question} {_MD[item.verdict]}", "", f"Rule: {item.rule}", ""]
        lines += [f"- {_MD[f.status]}: {f.text}" for f in item.findings]
        lines.append("")
    lines += [f"## Policy verdicts per integration ({stack})", ""]
    if not report.policy.available:
        lines += [f"Not available: {report.policy.reason}", ""]
    lines += _md_table(
        ["integration", "phase", "verdict", "detail"],
        [
            [
                pv.integration,
                str(pv.phase),
                _MD[pv.verdict],
                "; ".join([pv.note, *(f"{v.policy}: {v.message}" for v in pv.violations)]),
            ]
            for pv in report.policy_verdicts
        ],
    )
    lines += ["", *controls_markdown(report)]
    lines += [f"## Monthly cost ({stack})", ""]
    if report.costs.available:
        lines += _md_table(COST_HEADER, _cost_rows(report))
        lines += ["", f"Prices: {report.costs.source}.", ""]
        lines += _md_table(PRICE_HEADER, _price_rows(report))
    else:
        lines.append(f"Not available: {report.costs.reason}")
    return "\n".join(lines) + "\n"


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """Write index.html and report.md into out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path = out_dir / "index.html", out_dir / "report.md"
    html_path.write_text(render_html(report), encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return html_path, md_path
