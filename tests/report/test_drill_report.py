"""The failover drill in the HTML report: a chart per scenario (requests/s, failures, p95 over
time) with markers where the drill acted and where the VIP moved, the prober's outage drawn
where it happened, and the reader's figures beside the book's. The drill's own run on the
sandbox lab writes such a report too (tests/e2e/test_drill.py)."""

from __future__ import annotations

import json
import re

from labguide.drill.model import DrillReport, ScenarioResult
from labguide.events import StepStatus
from labguide.probes.events import OutageWindow
from labguide.report.data import drill_as_dict
from labguide.report.html import render_html
from labguide.report.runlog import Sample

T0 = 1_800_000_000.0
VIP = "198.18.16.140"


def samples(seconds: float, failing: tuple[float, float] = (0.0, 0.0)) -> tuple[Sample, ...]:
    """Windows of 0.1 s at 1000/s; requests fail within `failing` (seconds from T0)."""
    out = []
    for i in range(1, int(seconds * 10) + 1):
        t = T0 + i / 10
        bad = failing[0] < t - T0 <= failing[1]
        out.append(Sample(t, 1000.0, 100 if bad else 0, None if bad else 4.0 + i % 3))
    return tuple(out)


def scenario(**kw: object) -> ScenarioResult:
    base: dict[str, object] = dict(
        scenario="stop-keepalived", title="keepalived stopped on the owner", vip=VIP,
        owner="l4lb-1", peer="l4lb-2", status=StepStatus.PASSED, message="moved and back",
        moved=True, back=True, moved_after=0.6, move_gap=0.004, back_after=1.2,
        back_gap=0.0, sent=10_000, chapter="0 of 29,984 lost", duration=10.0,
        started_at=T0, disrupt_at=T0 + 2.0, restore_at=T0 + 6.0, samples=samples(10.0))
    base.update(kw)
    return ScenarioResult(**base)  # type: ignore[arg-type]


def test_each_scenario_is_charted_with_its_markers_and_the_books_figures() -> None:
    outage = OutageWindow(start=T0 + 2.4, end=T0 + 2.9, lost=500, first_failure=T0 + 2.41,
                          causes={"timeout": 500})
    drill = DrillReport("l4lb-ha", 1000, (
        scenario(),
        scenario(scenario="maintenance", title="maintenance file created on the owner",
                 status=StepStatus.WARNED, message="500 lost", lost=500, lost_moving=500,
                 outages=(outage,), chapter="none lost (then a reboot)",
                 samples=samples(10.0, (2.4, 2.9)))), 25.0, True)
    page = render_html(None, title="t", titles={}, drill=drill)
    charts = re.findall(r'<svg class="load-chart" data-step="([^"]+)"', page)
    assert charts == [f"stop-keepalived@{VIP}", f"maintenance@{VIP}"]
    first = page[page.index('data-step="stop-keepalived@'):page.index('data-step="maint')]
    for label in ("stop-keepalived on l4lb-1 at 2.0 s", f"{VIP} on l4lb-2 at 2.6 s",
                  "restored on l4lb-1 at 6.0 s", f"{VIP} back on l4lb-1 at 7.2 s"):
        assert label in first, label
    assert 'class="outage"' not in first and "rate-line" in first and "p95-line" in first
    second = page[page.index('data-step="maint'):]
    windows = re.findall(r'class="outage" data-start="([\d.]+)" data-end="([\d.]+)"', second)
    assert windows == [("2.400", "2.900")]  # the prober's outage, not the windows' edges
    assert "failed-bar" in second
    figures = re.findall(r'<table class="figures">.*?</table>', page, re.S)
    assert re.search(r"<td>requests</td><td>10,000</td><td>29,984</td>", figures[0])
    assert re.search(r"<td>lost while moving</td><td>0</td><td>0</td>", figures[0])
    assert re.search(r"<td>lost while moving</td><td>500</td><td></td>", figures[1])
    assert "none lost (then a reboot)" in figures[1]
    assert "<details><summary>as a table</summary><pre>" in page  # the text table, kept


def test_a_scenario_without_windows_says_so_and_json_keeps_them() -> None:
    drill = DrillReport("l4lb-ha", 1000, (scenario(samples=()), scenario()), 20.0, True)
    page = render_html(None, title="t", titles={}, drill=drill)
    assert "No load over time for this scenario" in page
    data = json.loads(json.dumps(drill_as_dict(drill)))
    got = data["scenarios"][1]
    assert len(got["samples"]) == 100 and got["samples"][0] == {
        "t": T0 + 0.1, "rate": 1000.0, "failed": 0, "p95": 5.0}
    assert got["disrupt_at"] == T0 + 2.0 and got["started_at"] == T0
