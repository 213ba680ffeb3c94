"""How wide a line of text is drawn, so the map can size its boxes before any browser does.

The map asks for DejaVu Sans first (`FONT_FAMILY`); these are that font's advance widths
for printable ASCII and the middle dot, in thousandths of an em, as its `hmtx` table gives
them (DejaVu Sans 2.37, regular and bold). Liberation Sans and Arial, the fallbacks, are
narrower, so a box sized here holds its text in either. Any other character counts as a
full em, wider than every glyph above.

Usage::

    text_width("quote-to-order", 12, bold=True)  # 99.96 (px)
"""

from __future__ import annotations

__all__ = ["FONT_FAMILY", "text_width"]

FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, sans-serif"

_CHARS = (
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~·"
)
_REGULAR = (
    "317 400 459 837 636 950 779 274 390 390 500 837 317 360 317 336 636 636 636 636 636 "
    "636 636 636 636 636 336 336 837 837 837 530 1000 684 686 698 770 631 575 774 751 294 "
    "294 655 557 862 748 787 603 787 694 634 610 731 684 988 685 610 685 390 336 390 837 "
    "500 500 612 634 549 634 615 352 634 633 277 277 579 277 974 633 611 634 634 411 520 "
    "392 633 591 817 591 591 524 636 336 636 837 317"
)
_BOLD = (
    "348 456 520 837 695 1001 872 306 457 457 522 837 379 415 379 365 695 695 695 695 695 "
    "695 695 695 695 695 399 399 837 837 837 580 1000 773 762 733 830 683 683 820 836 372 "
    "372 774 637 995 836 850 732 850 770 720 682 812 773 1103 770 724 725 457 365 457 837 "
    "500 500 674 715 592 715 678 435 715 711 342 342 665 342 1041 711 687 715 715 493 595 "
    "478 711 651 923 645 651 582 711 365 711 837 379"
)
_WIDTHS = {
    False: dict(zip(_CHARS, map(int, _REGULAR.split()), strict=True)),
    True: dict(zip(_CHARS, map(int, _BOLD.split()), strict=True)),
}
_EM = 1000


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Pixels the text takes at `size` px in DejaVu Sans (an em per unknown character)."""
    widths = _WIDTHS[bold]
    return sum(widths.get(ch, _EM) for ch in text) * size / _EM
