"""Format a Report as one self-contained HTML page and as Markdown.

The page carries its CSS and the SVG map inline and references nothing outside itself:
no stylesheet, font, image or script is fetched, so it opens offline and from a file.
Links in the text (runbooks) are plain anchors that load nothing until clicked.

Usage::

    write_report(report, Path("out"))  # out/index.html, out/report.md
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path

from components.roadmap import ENVIRONMENTS
from provisioner.report.checklist import Verdict
from provisioner.report.controls import section_html as controls_html
from provisioner.report.controls import section_markdown as controls_markdown
from provisioner.report.diagram import render_map
from provisioner.report.flowmap import PATTERN_STYLES, system_map
from provisioner.report.glance import STAGES, Glance, at_a_glance, grouped_sentences
from provisioner.report.mermaid import render_mermaid
from provisioner.report.model import MatrixCell, Report, direction_label, phase_label

__all__ = ["render_html", "render_markdown", "write_report"]

CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 24px;
       color: #1d2330; background: #ffffff; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { margin-top: 32px; font-size: 19px;
     border-bottom: 2px solid #d9dde4; padding-bottom: 4px; }
.summary span { margin-right: 16px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #c8cdd6; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #eef1f5; }
td.owner { background: #fff4d6; font-weight: bold; }
td.current, th.current { outline: 2px solid #1f5fbf; }
.small { font-size: 12px; color: #4a5260; }
.v { display: inline-block; min-width: 86px; text-align: center; border-radius: 10px;
     padding: 1px 8px; font-weight: bold; font-size: 12px; }
.v-pass { background: #d8f0dc; color: #1b5e20; } .v-fail { background: #fbd9d6; color: #8e1b12; }
.v-na { background: #e6e8ec; color: #3b4250; } .v-info { background: #e3edfa; color: #1f4f99; }
.v-wait { background: #fff1d6; color: #6b4400; } li.f-waiting { color: #6b4400; }
li.f-fail { color: #8e1b12; } li.f-na { color: #5b6472; }
ul { margin: 4px 0 8px; padding-left: 20px; }
.map { overflow-x: auto; border: 1px solid #d9dde4; display: inline-block; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
/* One column per system: as wide as the page allows, names and lists wrapped to fit. */
#source-of-truth { table-layout: fixed; width: 100%; font-size: 12px; }
#source-of-truth th, #source-of-truth td { overflow-wrap: anywhere; padding: 3px 4px; }
#source-of-truth tr:first-child th:first-child { width: 8em; }
#source-of-truth.upright tr:first-child th { vertical-align: bottom; }
#source-of-truth.upright tr:first-child th span { writing-mode: vertical-rl;
    transform: rotate(180deg); white-space: nowrap; }
"""

# The report checks order and recorded evidence only; `promote` also runs pack and rehearsal.
READY = "order and recorded evidence allow the next step (promote also runs pack and rehearsal)"

_BADGE = {
    Verdict.PASS: ("v-pass", "PASS"),
    Verdict.FAIL: ("v-fail", "FAIL"),
    Verdict.UNAVAILABLE: ("v-na", "NOT AVAILABLE"),
    Verdict.WAITING: ("v-wait", "WAITING"),
    Verdict.INFO: ("v-info", "INFO"),
}
_MD = {
    Verdict.PASS: "PASS",
    Verdict.FAIL: "FAIL",
    Verdict.UNAVAILABLE: "NOT AVAILABLE",
    Verdict.WAITING: "WAITING",
    Verdict.INFO: "info",
}


def _badge(verdict: Verdict) -> str:
    css, text = _BADGE[verdict]
    return f'<span class="v {css}" data-verdict="{verdict.value}">{text}</span>'


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


# --------------------------------------------------------------------------- HTML


def _html_flows(report: Report) -> list[str]:
    out = [
        "<table id='flows'><tr><th>integration</th><th>from</th><th>to</th><th>objects</th>"
        f"<th>pattern</th><th>direction</th><th>phase in {escape(report.stack)}</th>"
        "<th>owner team</th><th>runbook</th><th>connector and API version</th>"
        "<th>credential rotation</th></tr>"
    ]
    for integ in report.roadmap.integrations:
        out.append(
            f"<tr data-integration='{escape(integ.name)}'><td>{escape(integ.name)}</td>"
            f"<td>{escape(integ.source)}</td><td>{escape(integ.target)}</td>"
            f"<td>{escape(', '.join(integ.objects))}</td>"
            f"<td>{escape(PATTERN_STYLES[integ.pattern].label)}</td>"
            f"<td>{escape(direction_label(integ, report.environment))}</td>"
            f"<td>{escape(phase_label(integ.phase(report.environment)))}</td>"
            f"<td>{escape(integ.owner_team)}</td>"
            f"<td><a href='{escape(str(integ.runbook))}'>{escape(str(integ.runbook))}</a></td>"
            f"<td>{escape(report.roadmap.connector_summary(integ))}</td>"
            f"<td>{escape(report.roadmap.rotation_summary(integ))}</td></tr>"
        )
    out.append("</table>")
    return out


# Past this many systems a 1400 px window gives each column less than a long system name
# needs (about 150 px for 20 characters), so the names stand upright instead of wrapping.
UPRIGHT_FROM = 9


def _html_sot(report: Report) -> list[str]:
    systems = [s.name for s in report.roadmap.systems]
    upright = " class='upright'" if len(systems) >= UPRIGHT_FROM else ""
    out = [
        "<p class='small'>OWNER: the object's source of truth; owns FIELD: field-level owner; "
        "read by: flows that read the object from this system; written by: flows that write "
        "it into this system.</p>",
        f"<table id='source-of-truth'{upright}><tr><th>object</th>",
        *(
            f"<th><span>{escape(s)}</span></th>" if upright else f"<th>{escape(s)}</th>"
            for s in systems
        ),
        "</tr>",
    ]
    for obj_name, row in report.source_of_truth.items():
        out.append(f"<tr data-object='{escape(obj_name)}'><th>{escape(obj_name)}</th>")
        for system in systems:
            cell = row[system]
            css = " class='owner'" if cell.owner else ""
            text = "<br>".join(escape(p) for p in _cell_text(cell))
            out.append(f"<td{css} data-system='{escape(system)}'>{text}</td>")
        out.append("</tr>")
    out.append("</table>")
    return out


def _html_phases(report: Report) -> list[str]:
    out = [
        "<p class='small'>Phases: 1 discovery, 2 cleanup, 3 first workflow, 4 adjacent systems, "
        "5 automation. Under each phase: what blocks the next promotion there.</p>",
        "<table id='phases'><tr><th>integration</th>",
    ]
    for env in ENVIRONMENTS:
        css = " class='current'" if env == report.environment else ""
        out.append(f"<th{css}>{escape(env)}</th>")
    out.append("</tr>")
    for name, row in report.phases.items():
        out.append(f"<tr data-integration='{escape(name)}'><td>{escape(name)}</td>")
        for env in ENVIRONMENTS:
            cell = row[env]
            css = " class='current'" if env == report.environment else ""
            notes = [*cell.blockers]
            if cell.criteria != "checked":
                notes.append(cell.criteria)
            elif not cell.blockers:
                notes.append(READY)
            items = "".join(f"<li>{escape(n)}</li>" for n in notes)
            out.append(
                f"<td{css} data-env='{escape(env)}'><b>{escape(phase_label(cell.phase))}</b>"
                f"<ul class='small'>{items}</ul></td>"
            )
        out.append("</tr>")
    out.append("</table>")
    return out


def _html_checklist(report: Report) -> list[str]:
    out = [
        "<table id='checklist'><tr><th>question</th><th>verdict</th><th>rule and evidence</th></tr>"
    ]
    for item in report.checklist:
        findings = "".join(
            f"<li class='f-{'na' if f.status is Verdict.UNAVAILABLE else f.status.value}'>"
            f"{_MD[f.status]}: {escape(f.text)}</li>"
            for f in item.findings
        )
        out.append(
            f"<tr data-item='{escape(item.key)}'><td>{escape(item.question)}</td>"
            f"<td>{_badge(item.verdict)}</td>"
            f"<td><div class='small'>Rule: {escape(item.rule)}</div><ul>{findings}</ul></td></tr>"
        )
    out.append("</table>")
    return out


def _html_policy(report: Report) -> list[str]:
    policy = report.policy
    head = (
        f"<p>{len(policy.policies)} policies over {policy.resources_analyzed} resources.</p>"
        if policy.available
        else f"<p>{_badge(Verdict.UNAVAILABLE)} {escape(policy.reason)}</p>"
    )
    out = [
        head,
        "<table id='policy'><tr><th>integration</th><th>phase</th><th>verdict</th>"
        "<th>violations</th></tr>",
    ]
    for pv in report.policy_verdicts:
        listed = "".join(
            f"<li>[{escape(v.level)}] {escape(v.policy)}: {escape(v.message)}</li>"
            for v in pv.violations
        )
        out.append(
            f"<tr data-integration='{escape(pv.integration)}'><td>{escape(pv.integration)}</td>"
            f"<td>{pv.phase}</td><td>{_badge(pv.verdict)}</td>"
            f"<td>{escape(pv.note)}<ul class='small'>{listed}</ul></td></tr>"
        )
    out.append("</table>")
    if policy.unattributed:
        out.append("<p>Stack-level violations:</p><ul>")
        out.extend(f"<li>{escape(v.policy)}: {escape(v.message)}</li>" for v in policy.unattributed)
        out.append("</ul>")
    return out


def _html_costs(report: Report) -> list[str]:
    costs = report.costs
    if not costs.available:
        return [f"<p id='costs'>{_badge(Verdict.UNAVAILABLE)} {escape(costs.reason)}</p>"]
    rows = _cost_rows(report)
    out = ["<table id='costs'><tr>" + "".join(f"<th>{h}</th>" for h in COST_HEADER) + "</tr>"]
    for row in rows[:-1]:
        cells = "".join(f"<td class='num'>{c}</td>" for c in row[1:])
        out.append(f"<tr><td>{escape(row[0])}</td>{cells}</tr>")
    out.append("<tr>" + "".join(f"<th class='num'>{c}</th>" for c in rows[-1]) + "</tr></table>")
    if costs.source:
        out.append(f"<p class='small'>Prices: {escape(costs.source)}</p>")
    out.append("<table id='prices' class='small'><tr>")
    out.append("".join(f"<th>{h}</th>" for h in PRICE_HEADER) + "</tr>")
    for price in _price_rows(report):
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in price) + "</tr>")
    out.append("</table>")
    return out


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


def _html_glance(report: Report) -> list[str]:
    glance = at_a_glance(report)
    waiting, failing = _glance_lists(glance)
    header = "".join(f"<th>{escape(s)}: {escape(d)}</th>" for s, d in STAGES.items())
    out = [
        "<section id='glance'>",
        f"<h2>{GLANCE_TITLES['stages']}</h2>",
        f"<table id='stages'><tr><th>environment</th>{header}</tr>",
    ]
    for row in _glance_stage_rows(glance):
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    out += ["</table>", f"<h2>{GLANCE_TITLES['waiting']}</h2>", "<ul id='waiting'>"]
    out += [f"<li>{escape(line)}</li>" for line in waiting]
    out += ["</ul>", f"<h2>{GLANCE_TITLES['failing']}</h2>", "<ul id='failing'>"]
    out += [f"<li>{escape(line)}</li>" for line in failing]
    out += ["</ul>", f"<h2>{GLANCE_TITLES['cost']}</h2>", f"<p id='cost'>{escape(glance.cost)}</p>"]
    out.append("</section>")
    return out


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


def render_html(report: Report) -> str:
    """The whole report as one HTML document with inline CSS and SVG."""
    counts = report.counts()
    roadmap = report.roadmap
    title = f"{roadmap.organisation}: integration roadmap report ({report.stack})"
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        # Belt and braces: even a stray reference could not load anything.
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='small'>From {escape(report.roadmap_name)}, stack {escape(report.stack)}: "
        f"{len(roadmap.systems)} systems, {len(roadmap.objects)} objects, "
        f"{len(roadmap.integrations)} integrations.</p>",
        "<p class='summary'>Checklist: "
        f"<span>{_badge(Verdict.PASS)} {counts[Verdict.PASS]}</span>"
        f"<span>{_badge(Verdict.WAITING)} {counts[Verdict.WAITING]}</span>"
        f"<span>{_badge(Verdict.FAIL)} {counts[Verdict.FAIL]}</span>"
        f"<span>{_badge(Verdict.UNAVAILABLE)} {counts[Verdict.UNAVAILABLE]}</span></p>",
        *_html_glance(report),
        "<h2 id='map'>System and integration map</h2>",
        f"<div class='map'>{render_map(system_map(roadmap, report.environment))}</div>",
        *_html_flows(report),
        "<h2>Source-of-truth matrix</h2>",
        *_html_sot(report),
        "<h2>Phases and what blocks promotion</h2>",
        *_html_phases(report),
        "<h2>Roadmap checklist</h2>",
        *_html_checklist(report),
        f"<h2>Policy verdicts per integration ({escape(report.stack)})</h2>",
        *_html_policy(report),
        *controls_html(report),
        f"<h2>Monthly cost ({escape(report.stack)})</h2>",
        *_html_costs(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


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
        f"From {report.roadmap_name}, stack {stack}: {len(roadmap.systems)} systems, "
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
            cell = row[env]
            notes = [*cell.blockers] + ([cell.criteria] if cell.criteria != "checked" else [])
            if cell.criteria == "checked" and not cell.blockers:
                notes.append(READY)
            cells.append(f"{phase_label(cell.phase)}" + (f" ({'; '.join(notes)})" if notes else ""))
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
