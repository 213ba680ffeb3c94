"""The system map as a Mermaid flowchart, for report.md (GitHub and GitLab draw it inline).

Drawn from the same `SystemMap` as the SVG: one node per system (name, kind and vendor),
one edge per flow with the SVG label's three lines, arrowheads at both ends for flows both
ways, and the SVG's colour and dash per flow (`linkStyle`). Node ids are positional
(`s0`, `s1`, ...), so no system name can clash with Mermaid's keywords; every label is
quoted and characters Mermaid or HTML would read are written as entity codes.

Usage::

    block = render_mermaid(system_map(roadmap, "prod"))  # "flowchart LR\\n    s0[...]..."
"""

from __future__ import annotations

from provisioner.report.flowmap import SystemMap

__all__ = ["mermaid_text", "render_mermaid"]

# Written as Mermaid's entity codes (`#quot;`, `#35;`): what would end the quoted label,
# start an entity or a statement, be read as HTML, or close the Markdown fence.
_ENTITIES = {ch: f"#{ord(ch)};" for ch in '#";&<>|`[]'}
_ENTITIES.update({'"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;"})


def mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: no quote, markup or fence can break out."""
    return "".join(_ENTITIES.get(ch, ch) for ch in " ".join(text.split()))


def _label(lines: tuple[str, ...]) -> str:
    return "<br/>".join(mermaid_text(line) for line in lines)


def render_mermaid(m: SystemMap) -> str:
    """The flowchart's source, without the fence."""
    ids = {node.name: f"s{k}" for k, node in enumerate(m.nodes)}
    out = ["flowchart LR"]
    for node in m.nodes:
        out.append(f'    {ids[node.name]}["{_label((node.name, node.subtitle))}"]')
    flows = [f for f in m.flows if all(end in ids for end in f.ends)]
    for flow in flows:
        (source, target), arrow = flow.ends, "<-->" if flow.both_ways else "-->"
        out.append(f'    {ids[source]} {arrow}|"{_label(flow.lines)}"| {ids[target]}')
    out.append(f"    style {ids[m.hub]} stroke:#1f5fbf,stroke-width:3px")
    for k, flow in enumerate(flows):
        style = f"stroke:{flow.style.colour},stroke-width:2px"
        if flow.dash:
            style += f",stroke-dasharray:{flow.dash}"
        if flow.planned:
            style += ",stroke-linecap:round"
        out.append(f"    linkStyle {k} {style}")
    return "\n".join(out)
