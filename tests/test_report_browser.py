"""index.html in headless Chromium: the map renders, and the page requests nothing remote.

Chromium is Debian's `chromium` package (`scripts/ensure-chromium.sh` installs it). The
network proof has two halves: the HTML holds no remote src/href/url() at all, and a net
log of the real page load shows no request the page initiated (Chromium's own background
requests carry the initiator "not an origin"; a canary page proves the detector works).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from components.roadmap import load_roadmap
from components.settings import load_stack_settings
from provisioner.report import CostResults, PolicyResults, PromotionResults, build_report
from provisioner.report import write_report as write
from provisioner.report.diagram import PATTERN_STYLES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next(
    (p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; run scripts/ensure-chromium.sh (CI does)",
)
WINDOW = (1400, 2800)  # the summary screen, then the map


def chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp / 'profile'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Width, height, unfiltered rows and bytes per pixel of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind_byte = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind_byte == 1:
                line[i] = (line[i] + a) & 255
            elif kind_byte == 2:
                line[i] = (line[i] + b) & 255
            elif kind_byte == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif kind_byte == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


class _References(HTMLParser):
    """Every src/href/xlink:href, and url(...) in style attributes or <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in ("src", "href", "xlink:href", "srcset", "poster", "data", "action"):
                self.found.append((tag, name, value))
            if name == "style":
                self.found += [(tag, "style", u) for u in re.findall(r"url\(([^)]*)\)", value)]

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [("style", "url", u) for u in re.findall(r"url\(([^)]*)\)", data)]
            self.found += [("style", "import", u) for u in re.findall(r"@import\s+([^;]+)", data)]


def page_requests(net_log: Path) -> list[str]:
    """URLs the page itself asked for (not Chromium's own "not an origin" requests)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    out = []
    for event in log["events"]:
        params = event.get("params") or {}
        page = params.get("initiator") != "not an origin"
        if event["type"] == start_job and "url" in params and page:
            out.append(params["url"])
    return [u for u in out if not u.startswith(("file:", "data:", "about:"))]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The dev report (policy and pricing not run: network must be nil regardless)."""
    tmp = tmp_path_factory.mktemp("report")
    report = build_report(
        load_roadmap(ROOT / "roadmap.yaml"),
        "dev",
        load_stack_settings(ROOT / "stacks", "dev"),
        policy=PolicyResults.unavailable("not run in this test"),
        costs=CostResults(available=True, per_integration={"quote-to-order": 10.0}),
        promotion=PromotionResults.unavailable("not run in this test"),
    )
    html, _md = write(report, tmp / "out")
    return tmp, html


def test_html_references_nothing_outside_the_page(rendered: tuple[Path, Path]) -> None:
    _tmp, html = rendered
    parser = _References()
    parser.feed(html.read_text())
    remote = []
    for tag, attr, value in parser.found:
        value = value.strip("'\" ")
        if value.startswith("#"):
            continue  # in-page anchors and SVG marker references
        if tag == "a" and attr == "href" and value.startswith("https://"):
            continue  # a plain text link (runbook): loads nothing until clicked
        remote.append((tag, attr, value))
    assert remote == []
    assert any(tag == "a" for tag, _, _ in parser.found)  # the parser does see links


@needs_chromium
def test_headless_chromium_renders_the_map_and_fetches_nothing(rendered: tuple[Path, Path]) -> None:
    tmp, html = rendered
    shot, net_log = tmp / "shot.png", tmp / "net.json"
    done = chromium(
        html.as_uri(),
        tmp,
        f"--screenshot={shot}",
        f"--log-net-log={net_log}",
    )
    assert shot.exists(), f"no screenshot; chromium said: {done.stderr[-2000:]}"

    width, height, rows, bpp = read_png(shot.read_bytes())
    assert (width, height) == WINDOW
    assert (
        len(
            {
                rows[y][x * bpp : x * bpp + 3]
                for y in range(0, height, 7)
                for x in range(0, width, 7)
            }
        )
        > 50
    )

    # The diagram's strokes are drawn in each pattern's colour: count pixels near each one.
    def near(colour: str) -> int:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        hits = 0
        for row in rows[150:2700:2]:  # every other row: the map sits below the summary
            for x in range(0, width * bpp, bpp):
                if abs(row[x] - r) + abs(row[x + 1] - g) + abs(row[x + 2] - b) < 30:
                    hits += 1
        return hits

    for pattern, style in PATTERN_STYLES.items():
        assert near(style.colour) > 50, f"{pattern.value} strokes ({style.colour}) not on screen"

    assert net_log.exists()
    assert page_requests(net_log) == []


@needs_chromium
def test_network_detector_catches_a_page_that_fetches(tmp_path: Path) -> None:
    canary = tmp_path / "canary.html"
    canary.write_text(
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/pixel.png'></body></html>"
    )
    net_log = tmp_path / "net.json"
    chromium(
        canary.as_uri(), tmp_path, f"--screenshot={tmp_path / 's.png'}", f"--log-net-log={net_log}"
    )
    assert page_requests(net_log) == ["http://127.0.0.1:9/pixel.png"]
