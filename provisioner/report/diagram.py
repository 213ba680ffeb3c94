"""The system and integration map as a standalone SVG: systems as nodes, flows as arrows.

The layout is deterministic and needs no browser. The hub (the Salesforce org, else the
most connected system) sits in the centre, the others on an ellipse just wide enough to
keep them apart, ordered so that systems with flows between them are neighbours. Each flow
is a curve, bowed so it passes beside other systems rather than under them, styled by
pattern (colour and dash; planned flows are dotted) and labelled with its name, objects,
pattern and phase. Every box is sized from the font's advance widths (`textwidth`). A
label goes at the first spot along its curve clear of every node, arrowhead and earlier
label; when one finds none, the ellipse grows and the layout runs again. The drawing is as
large as its content, and the legend sits below it, so nothing overlaps and nothing is cut.

Usage::

    svg = render_map(system_map(roadmap, "prod"))   # '<svg ...>...</svg>', no external refs
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

from provisioner.report.flowmap import (
    PATTERN_STYLES,
    PLANNED,
    MapFlow,
    MapNode,
    SystemMap,
    system_map,
)
from provisioner.report.textwidth import FONT_FAMILY, text_width

__all__ = ["PATTERN_STYLES", "render_map", "system_map"]

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

BACKGROUND = "#ffffff"
INK = "#1d2330"  # 15.7:1 on white
MUTED = "#4a5260"  # 7.9:1 on white, 7.4:1 on a node's fill
NODE_H, HUB_H = 54, 66
NODE_MIN_W, HUB_MIN_W = 150, 200
TITLE, HUB_TITLE, SUBTITLE, LABEL = 14, 17, 11, 12  # font sizes, px
LINE_H = 15
ASPECT = 1.35  # the ellipse's width over its height: the page is landscape
NODE_GAP = 24  # at least this much between two rim nodes
PARALLEL_GAP = 90  # how far apart parallel flows between the same two systems bow
BOW_STEP = 70  # how far a flow bows to pass beside a system in its way
GROWTH = 1.12  # the ellipse grows by this when a label finds no clear spot
MAX_TRIES = 24
MARGIN = 16
WRAP_AT = 250  # px: a label's object list and a node's subtitle wrap past this width
SUB_LINE_H = 14


def _wrap(text: str, sep: str, size: float) -> list[str]:
    """The text in lines of at most WRAP_AT px, broken after `sep` (a word longer stays)."""
    words = text.split(sep)
    lines = [words[0]]
    for word in words[1:]:
        joined = f"{lines[-1]}{sep}{word}"
        if text_width(joined, size) <= WRAP_AT:
            lines[-1] = joined
        else:
            lines[-1] += sep.rstrip()
            lines.append(word)
    return lines


def _subtitle_lines(node: MapNode) -> list[str]:
    return _wrap(node.subtitle, " ", SUBTITLE)


def _label_lines(flow: MapFlow) -> list[str]:
    """The flow's label: name, its objects wrapped, then pattern and phase."""
    name, objects, pattern = flow.lines
    return [name, *_wrap(objects, ", ", LABEL), pattern]


def _overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _grow(box: Box, margin: float) -> Box:
    return (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)


def _around(p: Point, r: float) -> Box:
    return (p[0] - r, p[1] - r, p[0] + r, p[1] + r)


def _inside(p: Point, box: Box) -> bool:
    return box[0] < p[0] < box[2] and box[1] < p[1] < box[3]


def _quad(p0: Point, c: Point, p1: Point, t: float) -> Point:
    a, b, d = (1 - t) ** 2, 2 * (1 - t) * t, t * t
    return a * p0[0] + b * c[0] + d * p1[0], a * p0[1] + b * c[1] + d * p1[1]


def _rim_order(m: SystemMap) -> list[str]:
    """Rim systems, the best-connected first and its flow partners on either side of it."""
    rim = [n.name for n in m.nodes if n.name != m.hub]
    weight: dict[frozenset[str], int] = defaultdict(int)
    for flow in m.flows:
        if m.hub not in flow.ends:
            weight[frozenset(flow.ends)] += 1

    def links(name: str) -> int:
        return sum(w for pair, w in weight.items() if name in pair)

    if not rim:
        return []
    start = max(rim, key=lambda n: (links(n), -rim.index(n)))
    partners = sorted(
        (n for n in rim if n != start and weight.get(frozenset((start, n)))),
        key=lambda n: (-weight[frozenset((start, n))], rim.index(n)),
    )
    right: list[str] = []
    left: list[str] = []
    for n in partners:
        (right if len(right) <= len(left) else left).append(n)
    rest = [n for n in rim if n != start and n not in partners]
    # Around from the right: start, its partners on one side, the rest, the others.
    return [start, *right, *rest, *reversed(left)]


def _sizes(m: SystemMap) -> dict[str, Point]:
    """Each node's box: wide and tall enough for its name and its subtitle (kind, vendor)."""
    out: dict[str, Point] = {}
    for node in m.nodes:
        hub = node.name == m.hub
        title = text_width(node.name, HUB_TITLE if hub else TITLE, bold=True)
        lines = _subtitle_lines(node)
        subtitle = max(text_width(line, SUBTITLE) for line in lines)
        width = max(HUB_MIN_W if hub else NODE_MIN_W, title + 24, subtitle + 24)
        height = (HUB_H if hub else NODE_H) + (len(lines) - 1) * SUB_LINE_H
        out[node.name] = (math.ceil(width), height)
    return out


def _box(centre: Point, size: Point) -> Box:
    (x, y), (w, h) = centre, size
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def _positions(m: SystemMap, rim: list[str], radius: float, centre: Point) -> dict[str, Point]:
    pos = {m.hub: centre}
    for k, name in enumerate(rim):
        angle = 2 * math.pi * k / len(rim)
        pos[name] = (
            centre[0] + radius * ASPECT * math.cos(angle),
            centre[1] + radius * math.sin(angle),
        )
    return pos


def _smallest_radius(m: SystemMap, rim: list[str], sizes: dict[str, Point]) -> float:
    """The ellipse's height radius at which no two nodes come closer than NODE_GAP."""
    radius = 160.0
    while True:
        pos = _positions(m, rim, radius, (0.0, 0.0))
        boxes = [_grow(_box(pos[n], sizes[n]), NODE_GAP / 2) for n in pos]
        if not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]):
            return radius
        radius *= 1.05


def _edge_point(centre: Point, size: Point, toward: Point, pad: float) -> Point:
    """Where the line from a node's centre toward a point leaves its box, plus a gap."""
    dx, dy = toward[0] - centre[0], toward[1] - centre[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    w, h = size[0] / 2 + pad, size[1] / 2 + pad
    t = min(w / abs(ux) if ux else math.inf, h / abs(uy) if uy else math.inf)
    return centre[0] + ux * t, centre[1] + uy * t


@dataclass(frozen=True)
class _Edge:
    flow: MapFlow
    start: Point
    control: Point
    end: Point

    @property
    def normal(self) -> Point:
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        length = math.hypot(dx, dy) or 1.0
        return -dy / length, dx / length

    def samples(self, count: int = 24) -> list[Point]:
        return [_quad(self.start, self.control, self.end, k / count) for k in range(count + 1)]

    def arrowheads(self) -> list[Box]:
        ends = [self.end, self.start] if self.flow.both_ways else [self.end]
        return [_around(p, 11) for p in ends]


def _edges(
    m: SystemMap, sizes: dict[str, Point], pos: dict[str, Point], boxes: dict[str, Box]
) -> list[_Edge]:
    """Flows grouped by their two systems, bowed apart, and around systems in the way."""
    by_pair: dict[tuple[str, str], list[MapFlow]] = defaultdict(list)
    for flow in m.flows:
        source, target = flow.ends
        if source in pos and target in pos and source != target:
            a, b = sorted(flow.ends)
            by_pair[(a, b)].append(flow)
    edges = []
    for (a, b), flows in by_pair.items():
        (ax, ay), (bx, by) = pos[a], pos[b]
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length, (bx - ax) / length  # normal of the a->b line
        others = [_grow(box, 8) for name, box in boxes.items() if name not in (a, b)]
        best: tuple[int, list[_Edge]] | None = None
        for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            group = []
            for j, flow in enumerate(flows):
                bow = shift * BOW_STEP + (j - (len(flows) - 1) / 2) * PARALLEL_GAP
                control = ((ax + bx) / 2 + nx * 2 * bow, (ay + by) / 2 + ny * 2 * bow)
                source, target = flow.ends
                start = _edge_point(pos[source], sizes[source], control, 5)
                end = _edge_point(pos[target], sizes[target], control, 9)
                group.append(_Edge(flow, start, control, end))
            crossings = sum(_inside(p, o) for e in group for p in e.samples() for o in others)
            if best is None or crossings < best[0]:
                best = (crossings, group)
            if crossings == 0:
                break
        assert best is not None
        edges.extend(best[1])
    return edges


def _label_size(flow: MapFlow) -> Point:
    lines = _label_lines(flow)
    width = max(text_width(line, LABEL, bold=k == 0) for k, line in enumerate(lines))
    return math.ceil(width + 16), len(lines) * LINE_H + 9


def _place_labels(edges: list[_Edge], obstacles: list[Box]) -> tuple[list[Box], int]:
    """A box per edge at the first spot along it clear of obstacles and earlier labels;
    the second value counts the labels that found no clear spot."""
    placed: list[Box] = []
    unplaced = 0
    steps = [0.5 + d * sign for d in (0, 0.06, 0.12, 0.18, 0.24, 0.3) for sign in (-1, 1)]
    heads = [h for e in edges for h in e.arrowheads()]
    for edge in edges:
        w, h = _label_size(edge.flow)
        nudges = (0.0, -(h / 2 + 6), h / 2 + 6, -(w / 2 + 6), w / 2 + 6)
        best: tuple[int, Box] | None = None
        for nudge in nudges:
            for t in dict.fromkeys(steps):
                x, y = _quad(edge.start, edge.control, edge.end, t)
                x, y = x + nudge * edge.normal[0], y + nudge * edge.normal[1]
                box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
                near = _grow(box, 4)
                clash = sum(_overlap(near, o) for o in (*obstacles, *heads, *placed))
                if best is None or clash < best[0]:
                    best = (clash, box)
                if clash == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        unplaced += best[0] > 0
        placed.append(best[1])
    return placed, unplaced


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in the SVG's own coordinates."""

    nodes: dict[str, Box]
    edges: list[_Edge]
    labels: list[Box]
    legend: Box
    width: float
    height: float


def _arrange(
    m: SystemMap, rim: list[str], sizes: dict[str, Point], radius: float, centre: Point
) -> tuple[dict[str, Box], list[_Edge], list[Box], int]:
    pos = _positions(m, rim, radius, centre)
    nodes = {name: _box(pos[name], sizes[name]) for name in pos}
    edges = _edges(m, sizes, pos, nodes)
    labels, unplaced = _place_labels(edges, [_grow(b, 6) for b in nodes.values()])
    return nodes, edges, labels, unplaced


def _extent(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def layout(m: SystemMap) -> Layout:
    """Grow the ellipse until every label has a clear spot, then fit the drawing to it."""
    rim = _rim_order(m)
    sizes = _sizes(m)
    radius = _smallest_radius(m, rim, sizes)
    for _ in range(MAX_TRIES):
        nodes, edges, labels, unplaced = _arrange(m, rim, sizes, radius, (0.0, 0.0))
        if not unplaced:
            break
        radius *= GROWTH
    parts = [*nodes.values(), *labels, *(_around(p, 12) for e in edges for p in e.samples())]
    x0, y0, x1, y1 = _extent(parts)
    # Laid out again around the shifted centre: the same layout, in the SVG's coordinates.
    nodes, edges, labels, _ = _arrange(m, rim, sizes, radius, (MARGIN - x0, MARGIN - y0))
    width = max(x1 - x0 + 2 * MARGIN, _legend_min_width(m))
    rows = _legend_rows(m, width)
    top = y1 - y0 + 2 * MARGIN
    legend = (MARGIN, top, width - MARGIN, top + 34 + 24 * len(rows))
    return Layout(nodes, edges, labels, legend, width, legend[3] + MARGIN)


# --------------------------------------------------------------------------- legend

_SAMPLE = 56  # the line drawn in front of each legend entry


def _legend_entries(m: SystemMap) -> list[tuple[str, str, str, bool]]:
    """(text, colour, dash, arrowheads at both ends) per entry."""
    out = [(s.label, s.colour, s.dash, False) for s in PATTERN_STYLES.values()]
    out += [
        (PLANNED.label, MUTED, PLANNED.dash, False),
        ("arrowheads at both ends: both ways", MUTED, "", True),
        (f"phase N: the flow's phase in {m.environment}", "", "", False),
    ]
    return out


def _entry_width(text: str, sample: bool) -> float:
    return (_SAMPLE + 12 if sample else 0) + text_width(text, LABEL) + 28


def _legend_min_width(m: SystemMap) -> float:
    widest = max(_entry_width(t, bool(c)) for t, c, _, _ in _legend_entries(m))
    return widest + 2 * MARGIN + 24


def _legend_rows(m: SystemMap, width: float) -> list[list[tuple[str, str, str, bool]]]:
    """The entries flowed into rows that fit the legend's width."""
    rows: list[list[tuple[str, str, str, bool]]] = [[]]
    room = width - 2 * MARGIN - 24
    used = 0.0
    for entry in _legend_entries(m):
        need = _entry_width(entry[0], bool(entry[1]))
        if rows[-1] and used + need > room:
            rows.append([])
            used = 0.0
        rows[-1].append(entry)
        used += need
    return rows


def _legend(m: SystemMap, lay: Layout) -> list[str]:
    x, y, x1, y1 = lay.legend
    out = [
        f'<g class="legend"><rect x="{x}" y="{y:.1f}" width="{x1 - x:.1f}" '
        f'height="{y1 - y:.1f}" rx="6" fill="{BACKGROUND}" stroke="{MUTED}"/>',
        f'<text x="{x + 12}" y="{y + 20:.1f}" font-weight="bold" fill="{INK}">'
        "Legend: colour and line style = pattern</text>",
    ]
    for r, row in enumerate(_legend_rows(m, lay.width)):
        ly, lx = y + 44 + 24 * r, x + 12
        for text, colour, dash, both in row:
            if colour:
                marker = f"url(#{_marker_id(colour)})"
                out.append(
                    f'<line x1="{lx:.1f}" y1="{ly - 4:.1f}" x2="{lx + _SAMPLE:.1f}" '
                    f'y2="{ly - 4:.1f}" stroke="{colour}" stroke-width="3"'
                    + (f' stroke-dasharray="{dash}" stroke-linecap="round"' if dash else "")
                    + f' marker-end="{marker}"'
                    + (f' marker-start="{marker}"' if both else "")
                    + "/>"
                )
            tx = lx + (_SAMPLE + 12 if colour else 0)
            out.append(f'<text x="{tx:.1f}" y="{ly:.1f}" fill="{INK}">{escape(text)}</text>')
            lx += _entry_width(text, bool(colour))
    out.append("</g>")
    return out


# --------------------------------------------------------------------------- SVG


def _marker_id(colour: str) -> str:
    return f"arrow-{colour.lstrip('#')}"


def _defs() -> list[str]:
    out = ["<defs>"]
    for colour in dict.fromkeys([*(s.colour for s in PATTERN_STYLES.values()), MUTED]):
        out.append(
            f'<marker id="{_marker_id(colour)}" viewBox="0 0 10 10" refX="8" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    return out


def _node(m: SystemMap, name: str, box: Box) -> str:
    x0, y0, x1, y1 = box
    cx, hub = (x0 + x1) / 2, name == m.hub
    fill, stroke = ("#e8f1fb", "#1f5fbf") if hub else ("#f7f8fa", "#5b6472")
    first = y0 + (HUB_H - 14 if hub else NODE_H - 12)  # the subtitle's first baseline
    subtitle = "".join(
        f'<text x="{cx:.1f}" y="{first + k * SUB_LINE_H:.1f}" text-anchor="middle" '
        f'font-size="{SUBTITLE}" fill="{MUTED}">{escape(line)}</text>'
        for k, line in enumerate(_subtitle_lines(m.node(name)))
    )
    return (
        f'<g class="node" id="system-{escape(name)}">'
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if hub else 1.5}"/>'
        f'<text x="{cx:.1f}" y="{y0 + (27 if hub else 22):.1f}" text-anchor="middle" '
        f'font-size="{HUB_TITLE if hub else TITLE}" font-weight="bold" fill="{INK}">'
        f"{escape(name)}</text>{subtitle}</g>"
    )


def _flow(edge: _Edge) -> str:
    flow, style = edge.flow, edge.flow.style
    dash = f' stroke-dasharray="{flow.dash}" stroke-linecap="round"' if flow.dash else ""
    marker = f"url(#{_marker_id(style.colour)})"
    both = f' marker-start="{marker}"' if flow.both_ways else ""
    width = 3.2 if flow.planned else 2.6  # round dots need a little more weight to read
    (sx, sy), (cx, cy), (ex, ey), integ = edge.start, edge.control, edge.end, flow.integration
    return (
        f'<path class="flow" id="flow-{escape(integ.name)}" data-pattern="{integ.pattern.value}" '
        f'data-phase="{flow.phase}" d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" '
        f'fill="none" stroke="{style.colour}" stroke-width="{width}"{dash} '
        f'marker-end="{marker}"{both}/>'
    )


def _label(edge: _Edge, box: Box) -> str:
    flow, style = edge.flow, edge.flow.style
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    border = ' stroke-dasharray="4 3"' if flow.planned else ""
    parts = [
        f'<g class="flow-label" data-flow="{escape(flow.integration.name)}">'
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
        f'rx="4" fill="{BACKGROUND}" stroke="{style.colour}" stroke-width="1"{border}/>'
    ]
    lines = _label_lines(flow)
    for k, line in enumerate(lines):
        weight = ' font-weight="bold"' if k == 0 else ""
        colour = style.colour if k == len(lines) - 1 else INK
        parts.append(
            f'<text x="{cx:.1f}" y="{y0 + 16 + k * LINE_H:.1f}" text-anchor="middle" '
            f'fill="{colour}"{weight}>{escape(line)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def render_map(m: SystemMap) -> Markup:
    """The map as an SVG element with its own size, fonts and styles (no external assets).

    Markup, so the report's template places it as it is: every text and attribute value in
    it that comes from the roadmap went through `escape`, the function the template's own
    autoescaping uses."""
    lay = layout(m)
    w, h = math.ceil(lay.width), math.ceil(lay.height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="system-map" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" style="max-width: 100%; height: auto" '
        f'aria-label="Systems and integration flows, phases in {escape(m.environment)}" '
        f'font-family="{FONT_FAMILY}" font-size="{LABEL}">',
        f'<rect width="{w}" height="{h}" fill="{BACKGROUND}"/>',
        *_defs(),
        *(_flow(edge) for edge in lay.edges),
        *(_node(m, name, box) for name, box in lay.nodes.items()),
        *(_label(edge, box) for edge, box in zip(lay.edges, lay.labels, strict=True)),
        *_legend(m, lay),
        "</svg>",
    ]
    return Markup("\n".join(out))
