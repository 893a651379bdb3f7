"""The report as a picture: a fixed run (a load with an outage while a disruptive step ran,
a VIP that moved and came back) and a fixed drill, rendered by headless chromium and
compared with a saved reference (tests/screens.py says how, and how to write it again);
then the outage found in the picture itself: its red block lies where the run had it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from labguide import i18n
from labguide.chapter import parse_chapter
from labguide.drill.model import DrillReport
from labguide.events import StepStatus
from labguide.probes.events import OutageWindow
from labguide.report.page import write_page
from labguide.report.svg import LEFT, RIGHT, WIDTH
from tests.report.test_drill_report import samples, scenario
from tests.report.test_html_report import CHAPTER, needs_chromium, render
from tests.screens import assert_looks_like

DATA = Path(__file__).parent / "data"
T0 = 1_800_000_000.0
VIP = "198.18.16.140"
#: The run's outage: the web server failed from 4.0 s to 5.5 s (the break acted at 4.0 s).
OUTAGE = (4.0, 5.5)
#: The page's own outage colour (.outage rect in report/html.py's CSS).
OUTAGE_RGB = (0xF8, 0xD0, 0xD0)


def transcript_records() -> Iterator[dict[str, object]]:
    """A run of tests/report/test_html_report.py's chapter, as its transcript would hold it."""
    def at(t: float, event: str, **kw: object) -> dict[str, object]:
        return {"t": T0 + t, "event": event, **kw}

    yield at(0.0, "vip_acquired", vip=VIP, host="l4lb-1")
    yield at(1.0, "step_started", step="load", kind="load", hosts=["a"], section="break-it-"
             "under-load", script="k6 run test.js", disruptive=False, delay=0)
    yield at(1.0, "load_started", step="load", tool="labguide-probe")
    yield at(2.0, "step_started", step="break", kind="run", hosts=["a"], section="break-it-"
             "under-load", script="touch /flag; sleep 1; rm -f /flag", disruptive=True,
             delay=2.0)
    for i in range(1, 101):
        t1 = 1.0 + i / 10
        bad = OUTAGE[0] < t1 <= OUTAGE[1] + 1e-9
        yield at(t1, "probe_window", t0=T0 + t1 - 0.1, t1=T0 + t1, started=20,
                 ok=0 if bad else 20, failed=20 if bad else 0, p95=3.0 + (i % 7) / 2,
                 count=0 if bad else 20)
        if abs(t1 - 4.1) < 1e-9:
            yield at(t1, "vip_released", vip=VIP, host="l4lb-1")
        if abs(t1 - 4.7) < 1e-9:
            yield at(t1, "vip_acquired", vip=VIP, host="l4lb-2")
        if abs(t1 - 5.6) < 1e-9:
            yield at(t1, "step_finished", step="break", status="passed", duration=3.6,
                     message="")
    yield at(9.0, "vip_released", vip=VIP, host="l4lb-2")
    yield at(9.2, "vip_acquired", vip=VIP, host="l4lb-1")
    yield at(11.0, "step_finished", step="load", status="warned", duration=10.0,
             message="300 of 2,000 requests failed", detail={
                 "tool": "labguide-probe", "http_reqs": 2000, "http_req_failed": 300,
                 "rate": 200.0, "http_req_duration": {"p95": 5.1}, "book": "0 of 1,000",
                 "expected": "at most 100%"})
    yield at(11.5, "step_started", step="fine", kind="run", hosts=["a"], section="break-it-"
             "under-load", script="echo all good", disruptive=False, delay=0)
    yield at(11.6, "output", step="fine", host="a", stream="stdout", line="all good")
    yield at(11.7, "step_finished", step="fine", status="passed", duration=0.2, message="")


def drill() -> DrillReport:
    outage = OutageWindow(start=T0 + 2.4, end=T0 + 2.9, lost=500, first_failure=T0 + 2.41,
                          causes={"timeout": 500})
    return DrillReport("rep", 1000, (
        scenario(),
        scenario(scenario="maintenance", title="maintenance file created on the owner",
                 status=StepStatus.WARNED, message="500 lost", lost=500, lost_moving=500,
                 outages=(outage,), chapter="none lost (then a reboot)",
                 samples=samples(10.0, (2.4, 2.9)))), 25.0, True)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@needs_chromium
def test_the_report_looks_as_expected_and_the_outage_is_where_it_happened(
        tmp_path: Path, utc: None) -> None:
    source = tmp_path / "transcript.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in transcript_records()))
    chapter = parse_chapter(CHAPTER, tmp_path / "rep.md")
    with i18n.speaking("en"):
        html = write_page(tmp_path / "r.html", chapter, source, drill=drill())
    shot, dom = render(html, tmp_path)
    assert 'class="outage" data-start="3.000" data-end="4.500"' in dom  # from the load's start
    assert_looks_like(shot, DATA / "report.png")
    # the red block in the picture (the first one: the drill's charts come after the run's):
    # the load's chart spans the load (1 s → 11 s) over the axis, so the outage (3 s → 4.5 s
    # into it) starts 30 % along the axis and ends 45 %
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
    rows = {y: [x for x in range(rgb.width) if _near(rgb.getpixel((x, y)), OUTAGE_RGB)]
            for y in range(0, rgb.height, 2)}
    blocks = {y: xs for y, xs in rows.items() if len(xs) >= 50}  # not a blended edge
    assert blocks, "no outage drawn"
    top = min(blocks)
    xs = [x for y, row in blocks.items() if y < top + 100 for x in row]
    axis = _column_left(rgb) + LEFT
    scale = (WIDTH - LEFT - RIGHT) / 10.0  # px per second of the load
    assert abs(min(xs) - (axis + 3.0 * scale)) <= 3, (min(xs), axis)
    assert abs(max(xs) - (axis + 4.5 * scale)) <= 3, (max(xs), axis)


def _near(px: object, rgb: tuple[int, int, int], tolerance: int = 6) -> bool:
    return isinstance(px, tuple) and all(abs(a - b) <= tolerance
                                         for a, b in zip(px, rgb, strict=True))


def _column_left(img: Image.Image) -> int:
    """Where the page's column (and so each chart) begins: the left end of the first
    heading's rule (h2's 1-px #ccc border spans the column)."""
    for y in range(img.height):
        row = [x for x in range(img.width) if _near(img.getpixel((x, y)), (0xCC, 0xCC, 0xCC), 2)]
        if len(row) > 900:
            return min(row)
    raise AssertionError("no heading rule in the picture")
