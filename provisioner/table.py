"""Plain-text tables whose columns are as wide as their widest cell.

Usage::

    lines = text_table(["integration", "dev"], [["quote-to-order", 3]], align="<>")
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table"]


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str, indent: str = "  "
) -> list[str]:
    """Header and rows, one line each; `align` has '<' (left) or '>' (right) per column."""
    cells = [[str(c) for c in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [
        indent
        + " ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)).rstrip()
        for row in cells
    ]
