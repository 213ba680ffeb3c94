"""The system and integration map as a standalone SVG: systems as nodes, flows as arrows.

The layout is deterministic: the Salesforce org (else the most connected system) sits in
the centre, the others on a circle, ordered so that systems with flows between them are
neighbours. Each flow is an arrow (both ends for bidirectional flows) styled by pattern
and labelled with its name, objects, pattern and phase in the stack. Labels are placed
along their arrow at the first position that overlaps no node and no other label.

Usage::

    svg = render_map(roadmap, "prod")   # '<svg ...>...</svg>', no external references
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from html import escape

from components.roadmap import Direction, Integration, Pattern, Roadmap, System

__all__ = ["PATTERN_STYLES", "PatternStyle", "render_map"]


@dataclass(frozen=True)
class PatternStyle:
    label: str
    colour: str
    dash: str  # SVG stroke-dasharray; "" is a solid line


PATTERN_STYLES: dict[Pattern, PatternStyle] = {
    Pattern.REAL_TIME_API: PatternStyle("real-time API", "#b8322a", ""),
    Pattern.EVENT_DRIVEN: PatternStyle("event-driven", "#1f5fbf", ""),
    Pattern.BATCH: PatternStyle("batch", "#2e7d32", "9 5"),
    Pattern.MIDDLEWARE: PatternStyle("middleware", "#7b3fa0", "12 4 3 4"),
    Pattern.WAREHOUSE_PIPELINE: PatternStyle("warehouse pipeline", "#c25400", "3 4"),
}

WIDTH, HEIGHT = 1300, 960
CENTRE = (WIDTH / 2, HEIGHT / 2 - 10)
RADIUS = 385
NODE = (164, 54)  # rim node width, height
HUB = (200, 66)
CHAR_W = 6.9  # DejaVu/Liberation Sans at 12 px average advance, rounded up
SMALL_CHAR_W = 6.4  # the same at 11 px
LINE_H = 15
PARALLEL_GAP = 90  # how far apart parallel flows between the same two systems bow
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _hub(roadmap: Roadmap) -> System:
    sf = [s for s in roadmap.systems if s.is_salesforce]
    if sf:
        return sf[0]
    degree: dict[str, int] = defaultdict(int)
    for integ in roadmap.integrations:
        degree[integ.source] += 1
        degree[integ.target] += 1
    return max(roadmap.systems, key=lambda s: (degree[s.name], -roadmap.systems.index(s)))


def _rim_order(roadmap: Roadmap, hub: str) -> list[str]:
    """Rim systems, the best-connected first and its flow partners on either side of it."""
    rim = [s.name for s in roadmap.systems if s.name != hub]
    weight: dict[frozenset[str], int] = defaultdict(int)
    for integ in roadmap.integrations:
        if hub not in (integ.source, integ.target):
            weight[frozenset((integ.source, integ.target))] += 1

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
    # Clockwise from the top: start, its right-hand partners, the rest, then the left ones.
    return [start, *right, *rest, *reversed(left)]


def _positions(roadmap: Roadmap) -> tuple[str, dict[str, tuple[float, float]]]:
    hub = _hub(roadmap).name
    pos = {hub: CENTRE}
    rim = _rim_order(roadmap, hub)
    for k, name in enumerate(rim):
        # The best-connected rim system sits on the right, where the ellipse's spokes are
        # longest, so its flows have the most room for labels.
        angle = 2 * math.pi * k / len(rim)
        # A slightly wide ellipse uses the landscape canvas and keeps side labels apart.
        pos[name] = (
            CENTRE[0] + RADIUS * 1.35 * math.cos(angle),
            CENTRE[1] + RADIUS * math.sin(angle),
        )
    return hub, pos


Sizes = dict[str, tuple[float, float]]


def _sizes(roadmap: Roadmap, hub: str) -> Sizes:
    """Each node's box: the default, widened to fit its subtitle (kind and vendor)."""
    out: Sizes = {}
    for system in roadmap.systems:
        w, h = HUB if system.name == hub else NODE
        subtitle = len(f"{system.kind.value} · {system.vendor}") * SMALL_CHAR_W + 20
        title = len(system.name) * (CHAR_W * 1.45) + 20
        out[system.name] = (max(w, subtitle, title), h)
    return out


def _node_box(name: str, sizes: Sizes, pos: dict[str, tuple[float, float]]) -> Box:
    (x, y), (w, h) = pos[name], sizes[name]
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def _edge_point(
    centre: tuple[float, float], size: tuple[float, float], toward: tuple[float, float], pad: float
) -> tuple[float, float]:
    """Where the line from a node's centre toward a point leaves its box, plus a gap."""
    dx, dy = toward[0] - centre[0], toward[1] - centre[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    w, h = size[0] / 2 + pad, size[1] / 2 + pad
    t = min(w / abs(ux) if ux else math.inf, h / abs(uy) if uy else math.inf)
    return centre[0] + ux * t, centre[1] + uy * t


def _quad(
    p0: tuple[float, float], c: tuple[float, float], p1: tuple[float, float], t: float
) -> tuple[float, float]:
    a, b, d = (1 - t) ** 2, 2 * (1 - t) * t, t * t
    return a * p0[0] + b * c[0] + d * p1[0], a * p0[1] + b * c[1] + d * p1[1]


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _grow(box: Box, margin: float) -> Box:
    return (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)


def _label_lines(integ: Integration, stack: str) -> list[str]:
    both = " (both ways)" if integ.direction is Direction.BIDIRECTIONAL else ""
    return [
        integ.name,
        f"{', '.join(integ.objects)}",
        f"{PATTERN_STYLES[integ.pattern].label}{both}, phase {integ.phase(stack)}",
    ]


@dataclass(frozen=True)
class _Edge:
    integ: Integration
    start: tuple[float, float]
    control: tuple[float, float]
    end: tuple[float, float]

    @property
    def normal(self) -> tuple[float, float]:
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        length = math.hypot(dx, dy) or 1.0
        return -dy / length, dx / length


def _edges(roadmap: Roadmap, sizes: Sizes, pos: dict[str, tuple[float, float]]) -> list[_Edge]:
    by_pair: dict[tuple[str, str], list[Integration]] = defaultdict(list)
    for integ in roadmap.integrations:
        if integ.source in pos and integ.target in pos:
            a, b = sorted((integ.source, integ.target))
            by_pair[(a, b)].append(integ)
    edges = []
    for (a, b), flows in by_pair.items():
        (ax, ay), (bx, by) = pos[a], pos[b]
        length = math.hypot(bx - ax, by - ay) or 1.0
        nx, ny = -(by - ay) / length, (bx - ax) / length  # normal of the a->b line
        for j, integ in enumerate(flows):
            bow = (j - (len(flows) - 1) / 2) * PARALLEL_GAP * 2  # control point is 2x the bow
            mid = ((ax + bx) / 2 + nx * bow, (ay + by) / 2 + ny * bow)
            src, dst = pos[integ.source], pos[integ.target]
            start = _edge_point(src, sizes[integ.source], mid, 5)
            end = _edge_point(dst, sizes[integ.target], mid, 9)
            edges.append(_Edge(integ, start, mid, end))
    return edges


def _place_labels(edges: list[_Edge], stack: str, obstacles: list[Box]) -> list[Box]:
    """A box per edge at the first spot along it clear of nodes and earlier labels."""
    placed: list[Box] = []
    # From the middle outwards, then the same spots nudged off the line either side.
    steps = [0.5 + d * sign for d in (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3) for sign in (-1, 1)]
    candidates = [(t, 0.0) for t in dict.fromkeys(steps)]
    candidates += [(t, n) for n in (-34.0, 34.0) for t, _ in candidates]
    for edge in edges:
        lines = _label_lines(edge.integ, stack)
        w = max(len(line) for line in lines) * CHAR_W + 14
        h = len(lines) * LINE_H + 8
        best: tuple[float, Box] | None = None
        for t, nudge in candidates:
            x, y = _quad(edge.start, edge.control, edge.end, t)
            x, y = x + nudge * edge.normal[0], y + nudge * edge.normal[1]
            box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            out = (
                max(0.0, -box[0])
                + max(0.0, box[2] - WIDTH)
                + max(0.0, -box[1])
                + max(0.0, box[3] - HEIGHT)
            )
            clash = sum(_overlap(_grow(box, 4), o) for o in obstacles + placed) + out * 1000
            if best is None or clash < best[0]:
                best = (clash, box)
            if clash == 0:
                break
        assert best is not None
        placed.append(best[1])
    return placed


def _marker_id(pattern: Pattern) -> str:
    return f"arrow-{pattern.value.replace('_', '-')}"


def _defs() -> list[str]:
    out = ["<defs>"]
    for pattern, style in PATTERN_STYLES.items():
        out.append(
            f'<marker id="{_marker_id(pattern)}" viewBox="0 0 10 10" refX="8" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{style.colour}"/></marker>'
        )
    out.append("</defs>")
    return out


_LEGEND_ROWS = len(PATTERN_STYLES) + 4
LEGEND: Box = (14, HEIGHT - 22 * _LEGEND_ROWS - 30, 330, HEIGHT - 14)


def _legend(stack: str) -> list[str]:
    x, y, x1, y1 = LEGEND
    out = [
        f'<g class="legend"><rect x="{x}" y="{y}" width="{x1 - x}" height="{y1 - y}" rx="6" '
        'fill="#ffffff" stroke="#b0b7c3"/>',
        f'<text x="{x + 12}" y="{y + 20}" font-weight="bold">Legend: line style = pattern</text>',
    ]
    for k, (pattern, style) in enumerate(PATTERN_STYLES.items()):
        ly = y + 42 + 22 * k
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        out.append(
            f'<line x1="{x + 12}" y1="{ly - 4}" x2="{x + 72}" y2="{ly - 4}" '
            f'stroke="{style.colour}" stroke-width="3"{dash} '
            f'marker-end="url(#{_marker_id(pattern)})"/>'
            f'<text x="{x + 84}" y="{ly}">{escape(style.label)}</text>'
        )
    ly = y + 42 + 22 * len(PATTERN_STYLES)
    notes = (
        "arrowheads at both ends: bidirectional",
        f"phase N: the flow's phase in {stack}",
        "faded: phase 1 (discovery), not provisioned",
    )
    out.extend(
        f'<text x="{x + 12}" y="{ly + 22 * k}">{escape(note)}</text>'
        for k, note in enumerate(notes)
    )
    out.append("</g>")
    return out


def _node(system: System, box: Box, hub: bool) -> str:
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    fill, stroke = ("#e8f1fb", "#1f5fbf") if hub else ("#f7f8fa", "#5b6472")
    size = 17 if hub else 14
    return (
        f'<g class="node" id="system-{escape(system.name)}">'
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if hub else 1.5}"/>'
        f'<text x="{cx:.1f}" y="{y0 + (27 if hub else 22):.1f}" text-anchor="middle" '
        f'font-size="{size}" font-weight="bold">{escape(system.name)}</text>'
        f'<text x="{cx:.1f}" y="{y1 - (14 if hub else 12):.1f}" text-anchor="middle" '
        f'font-size="11" fill="#4a5260">'
        f"{escape(system.kind.value)} · {escape(system.vendor)}</text>"
        "</g>"
    )


def render_map(roadmap: Roadmap, stack: str) -> str:
    """The map as an SVG element with its own size, fonts and styles (no external assets)."""
    hub, pos = _positions(roadmap)
    sizes = _sizes(roadmap, hub)
    node_boxes = {name: _node_box(name, sizes, pos) for name in pos}
    edges = _edges(roadmap, sizes, pos)
    obstacles = [_grow(b, 6) for b in node_boxes.values()] + [LEGEND]
    labels = _place_labels(edges, stack, obstacles)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="system-map" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'style="max-width: 100%; height: auto" '
        f'aria-label="Systems and integration flows, phases in {escape(stack)}" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fcfcfd"/>',
        *_defs(),
    ]
    for edge in edges:
        integ, style = edge.integ, PATTERN_STYLES[edge.integ.pattern]
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        marker = f"url(#{_marker_id(integ.pattern)})"
        both = f' marker-start="{marker}"' if integ.direction is Direction.BIDIRECTIONAL else ""
        faded = ' opacity="0.45"' if integ.phase(stack) < 2 else ""
        (sx, sy), (cx, cy), (ex, ey) = edge.start, edge.control, edge.end
        out.append(
            f'<path class="flow" id="flow-{escape(integ.name)}" '
            f'data-pattern="{integ.pattern.value}" '
            f'd="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}" fill="none" '
            f'stroke="{style.colour}" stroke-width="2.6"{dash}{faded} marker-end="{marker}"{both}/>'
        )
    for name, box in node_boxes.items():
        out.append(_node(roadmap.system(name), box, name == hub))
    for edge, box in zip(edges, labels, strict=True):
        integ, style = edge.integ, PATTERN_STYLES[edge.integ.pattern]
        faded = ' opacity="0.6"' if integ.phase(stack) < 2 else ""
        lines = _label_lines(integ, stack)
        x0, y0, x1, _y1 = box
        cx = (x0 + x1) / 2
        parts = [
            f'<g class="flow-label" data-flow="{escape(integ.name)}"{faded}>'
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{box[3] - y0:.1f}" '
            f'rx="4" fill="#ffffff" fill-opacity="0.94" stroke="{style.colour}" stroke-width="1"/>'
        ]
        for k, line in enumerate(lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            colour = style.colour if k == 2 else "#1d2330"
            parts.append(
                f'<text x="{cx:.1f}" y="{y0 + 16 + k * LINE_H:.1f}" text-anchor="middle" '
                f'fill="{colour}"{weight}>{escape(line)}</text>'
            )
        parts.append("</g>")
        out.append("".join(parts))
    out.extend(_legend(stack))
    out.append("</svg>")
    return "\n".join(out)
