"""The SVG system map: no box covers another, everything inside the drawing, readable colours.

These read the SVG as the layout wrote it; `test_report_browser.py` measures the same
boxes as Chromium renders them.
"""

from __future__ import annotations

import copy
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from report_examples import report_of

from contract.phases import ENVIRONMENTS
from provisioner.report import (
    render_markdown,
)
from provisioner.report.diagram import BACKGROUND, render_map
from provisioner.report.flowmap import PATTERN_STYLES, PLANNED, system_map
from roadmap.io import parse_roadmap
from roadmap.model import Roadmap

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from roadmap_examples import EXAMPLE, example_with_long_words  # noqa: E402

from bench.roadmaps import generate_roadmap  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]


def generated(integrations: int, systems: int = 15) -> Roadmap:
    return parse_roadmap(generate_roadmap(integrations, systems=systems))


ROADMAPS = {
    **{f"example-{env}": (parse_roadmap(copy.deepcopy(EXAMPLE)), env) for env in ENVIRONMENTS},
    # 15 systems: as few flows as reach them all, the bench's spread, and a crowded map.
    **{f"generated-15-systems-{n}-flows": (generated(n), "dev") for n in (15, 22, 32)},
    "generated-16-systems": (generated(24, systems=16), "prod"),
    "long-words": (example_with_long_words(), "prod"),
}


def rect_box(rect: ET.Element) -> Box:
    x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
    return x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0))


def boxes(svg: ET.Element) -> dict[str, Box]:
    """The frame of every node, flow label and the legend, keyed by what it is."""
    out = {}
    for group in svg.iter(f"{SVG}g"):
        kind = group.get("class")
        rect = group.find(f"{SVG}rect")
        if kind in ("node", "flow-label", "legend") and rect is not None:
            name = group.get("id") or group.get("data-flow") or "legend"
            out[f"{kind} {name}"] = rect_box(rect)
    return out


def overlapping(found: dict[str, Box]) -> list[tuple[str, str]]:
    names = list(found)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if min(found[a][2], found[b][2]) > max(found[a][0], found[b][0])
        and min(found[a][3], found[b][3]) > max(found[a][1], found[b][1])
    ]


def curve(path: ET.Element) -> list[tuple[float, float]]:
    """Points along a flow's quadratic curve (`M x,y Q cx,cy x,y`)."""
    numbers = path.get("d", "").replace("M", "").replace("Q", " ").replace(",", " ").split()
    (x0, y0, cx, cy, x1, y1) = (float(v) for v in numbers)
    ts = [k / 60 for k in range(61)]
    return [
        (
            (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x1,
            (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y1,
        )
        for t in ts
    ]


@pytest.mark.parametrize("case", ROADMAPS)
def test_no_node_label_or_legend_covers_another_and_all_fit_the_drawing(case: str) -> None:
    roadmap, env = ROADMAPS[case]
    svg = ET.fromstring(render_map(system_map(roadmap, env)))
    found = boxes(svg)
    assert len(found) == len(roadmap.systems) + len(roadmap.integrations) + 1
    assert overlapping(found) == []
    width, height = float(svg.get("width", 0)), float(svg.get("height", 0))
    assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"
    outside = [k for k, (x0, y0, x1, y1) in found.items() if not (0 <= x0 < x1 <= width)]
    outside += [k for k, (x0, y0, x1, y1) in found.items() if not (0 <= y0 < y1 <= height)]
    assert outside == []
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") != "flow":
            continue
        points = curve(path)
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points), path.get("id")


@pytest.mark.parametrize("case", ROADMAPS)
def test_no_flow_passes_under_a_system_it_does_not_connect(case: str) -> None:
    roadmap, env = ROADMAPS[case]
    svg = ET.fromstring(render_map(system_map(roadmap, env)))
    nodes = {
        k.removeprefix("node system-"): b for k, b in boxes(svg).items() if k.startswith("node")
    }
    by_name = {i.name: i for i in roadmap.integrations}
    under = []
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") != "flow":
            continue
        integ = by_name[path.get("id", "").removeprefix("flow-")]
        for name, (x0, y0, x1, y1) in nodes.items():
            if name in (integ.source, integ.target):
                continue
            if any(x0 < x < x1 and y0 < y < y1 for x, y in curve(path)):
                under.append((integ.name, name))
    assert under == []


def test_the_layout_is_deterministic() -> None:
    roadmap, env = ROADMAPS["generated-15-systems-22-flows"]
    assert render_map(system_map(roadmap, env)) == render_map(system_map(roadmap, env))


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_and_flows_meet_wcag_aa_contrast_and_nothing_is_faded() -> None:
    roadmap, env = ROADMAPS["example-dev"]
    text = render_map(system_map(roadmap, env))
    svg = ET.fromstring(text)
    assert "opacity" not in text  # planned flows are told apart by their dots, not by fading
    for group in svg.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        fill = rect.get("fill", BACKGROUND) if rect is not None else BACKGROUND
        for t in group.iter(f"{SVG}text"):
            colour = t.get("fill", "#000000")
            assert contrast(colour, fill) >= 4.5, f"{t.text!r}: {colour} on {fill}"
    flows = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "flow"]
    assert flows
    for path in flows:
        # WCAG 1.4.11: graphics that carry meaning need 3:1 against what is next to them.
        assert contrast(path.get("stroke", ""), BACKGROUND) >= 3
    for style in PATTERN_STYLES.values():  # the same colours write the labels' third line
        assert contrast(style.colour, BACKGROUND) >= 4.5, style


def test_planned_flows_are_dotted_and_every_other_flow_keeps_its_pattern_line() -> None:
    roadmap, env = ROADMAPS["example-dev"]
    svg = ET.fromstring(render_map(system_map(roadmap, env)))
    seen = set()
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") != "flow":
            continue
        phase, pattern = int(path.get("data-phase", 0)), path.get("data-pattern")
        style = next(s for p, s in PATTERN_STYLES.items() if p.value == pattern)
        expected = PLANNED.dash if phase < 2 else style.dash
        assert (path.get("stroke-dasharray") or "") == expected, path.get("id")
        seen.add(phase < 2)
    assert seen == {True, False}  # the example has planned flows in dev
    assert PLANNED.dash not in {s.dash for s in PATTERN_STYLES.values()}


# --------------------------------------------------------------------------- Mermaid in report.md

MERMAID_LINE = {
    "node": re.compile(r'^    (s\d+)\["([^"]*)"\]$'),
    "edge": re.compile(r'^    (s\d+) (-->|<-->)\|"([^"]*)"\| (s\d+)$'),
    "style": re.compile(r"^    style (s\d+) ([^;]+)$"),
    "link": re.compile(r"^    linkStyle (\d+) ([^;]+)$"),
}
_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}


def unescape(text: str) -> list[str]:
    """A Mermaid label's lines, entity codes read back."""

    def code(m: re.Match[str]) -> str:
        name = m.group(1)
        return _NAMED[name] if name in _NAMED else chr(int(name))

    return [re.sub(r"#(\w+);", code, line) for line in text.split("<br/>")]


def parse_mermaid(markdown: str) -> dict[str, Any]:
    """The one mermaid block of report.md; every line must be one this map writes."""
    blocks = re.findall(r"^```mermaid\n(.*?)\n```$", markdown, re.S | re.M)
    assert len(blocks) == 1
    lines = blocks[0].split("\n")
    assert lines[0] == "flowchart LR"
    found: dict[str, Any] = {"nodes": {}, "edges": [], "style": {}, "link": {}}
    for line in lines[1:]:
        kind, m = next(((k, p.match(line)) for k, p in MERMAID_LINE.items() if p.match(line)))
        assert m is not None, line
        if kind == "node":
            found["nodes"][m.group(1)] = unescape(m.group(2))
        elif kind == "edge":
            found["edges"].append((m.group(1), m.group(2), unescape(m.group(3)), m.group(4)))
        else:
            props = dict(tuple(p.split(":", 1)) for p in m.group(2).split(","))
            found[kind][m.group(1) if kind == "style" else int(m.group(1))] = props
    return found


def markdown_for(roadmap: Roadmap, env: str) -> str:
    return render_markdown(report_of(roadmap, env))


@pytest.mark.parametrize("case", ["example-prod", "example-dev", "generated-15-systems-22-flows"])
def test_report_md_draws_every_system_and_flow_as_mermaid(case: str) -> None:
    roadmap, env = ROADMAPS[case]
    found = parse_mermaid(markdown_for(roadmap, env))
    by_name = {lines[0]: node_id for node_id, lines in found["nodes"].items()}
    assert sorted(by_name) == sorted(s.name for s in roadmap.systems)
    for system in roadmap.systems:
        assert found["nodes"][by_name[system.name]] == [
            system.name,
            f"{system.kind.value} · {system.vendor}",
        ]
    assert len(found["edges"]) == len(roadmap.integrations)
    for k, (integ, edge) in enumerate(zip(roadmap.integrations, found["edges"], strict=True)):
        both = integ.direction.value == "bidirectional"
        assert edge[0] == by_name[integ.source] and edge[3] == by_name[integ.target]
        assert edge[1] == ("<-->" if both else "-->")
        assert edge[2][0] == integ.name and edge[2][1] == ", ".join(integ.objects)
        assert edge[2][2].startswith(PATTERN_STYLES[integ.pattern].label)
        assert f"phase {integ.phase(env)}" in edge[2][2]
        # The same line as the SVG draws: colour, and dots for a planned flow.
        style = found["link"][k]
        assert style["stroke"] == PATTERN_STYLES[integ.pattern].colour
        planned = integ.phase(env) < 2
        dash = PLANNED.dash if planned else PATTERN_STYLES[integ.pattern].dash
        assert style.get("stroke-dasharray", "") == dash
    assert set(found["style"]) == {by_name[system_map(roadmap, env).hub]}


def test_mermaid_labels_survive_quotes_markup_and_fences() -> None:
    doc = copy.deepcopy(EXAMPLE)
    vendor = 'Acme "Quotes" <b>R&D</b> | #1 [beta] ```fence``` ;x'
    doc["systems"][1]["vendor"] = vendor
    roadmap = parse_roadmap(doc)
    markdown = markdown_for(roadmap, "prod")
    block = re.search(r"^```mermaid\n(.*?)\n```$", markdown, re.S | re.M)
    assert block is not None and "```" not in block.group(1) and "<b>" not in block.group(1)
    found = parse_mermaid(markdown)
    name = roadmap.systems[1].name
    assert [f"{name}", f"{roadmap.systems[1].kind.value} · {vendor}"] in found["nodes"].values()
