"""Check and drill reports as text tables for a terminal or a log."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from labguide.colour import paint
from labguide.events import StepStatus
from labguide.report.drift import drift_summary, drift_table

if TYPE_CHECKING:
    from labguide.check import CheckReport, CheckResult
    from labguide.drill.model import DrillReport, ScenarioResult

MARK = {StepStatus.PASSED: "ok", StepStatus.FAILED: "FAIL", StepStatus.WARNED: "WARN",
        StepStatus.SKIPPED: "skip"}
#: How each mark looks on a terminal (--color).
MARK_STYLE = {StepStatus.PASSED: ("green",), StepStatus.FAILED: ("bold", "red"),
              StepStatus.WARNED: ("bold", "yellow"), StepStatus.SKIPPED: ("dim",)}


def mark(status: StepStatus, color: bool, width: int = 5) -> str:
    """The status word, padded to `width`, coloured when `color`."""
    word = MARK.get(status, status.value)
    return paint(word, *MARK_STYLE.get(status, ()), on=color) + " " * (width - len(word))


def first_line(script: str) -> str:
    lines = [ln for ln in script.splitlines() if ln.strip()]
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def _failure(report: CheckReport, r: CheckResult, out: TextIO) -> None:
    for host, h in r.hosts.items():
        if h.get("status") not in ("failed", "warned"):
            continue
        found = [ln for ln in h.get("tail", []) if ln.strip()][-3:]
        reason = h.get("reason") or (
            "output did not match" if h.get("exit_status") == 0
            else f"exit status {h.get('exit_status')}")
        out.write(f"        host {host}: {reason}\n")
        out.write(f"          command: {first_line(report.redact(r.step.shown))}\n")
        out.write(f"          expected: {r.expected}\n")
        for line in found or ["(no output)"]:
            out.write(f"          found: {line}\n")
    if r.step.hint:
        out.write(f"        hint: {r.step.hint}\n")


def check_table(report: CheckReport, out: TextIO, color: bool = False) -> None:
    section = None
    for r in report.results:
        step = r.step.step
        if step.section != section:
            section = step.section
            out.write(f"\n{paint(report.sections.get(section, section), 'bold', on=color)}\n")
        what = r.step.message or step.id
        out.write(f"  {mark(r.status, color)} {step.id:<32} "
                  f"{', '.join(step.hosts):<16} {what}\n")
        if r.status in (StepStatus.FAILED, StepStatus.WARNED):
            _failure(report, r, out)
        elif r.status == StepStatus.SKIPPED:
            out.write(f"        {r.message}\n")
    drift_table(report, out, color)
    c = report.counts
    out.write(f"\n{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
              f"{c.get('warned', 0)} warned, {c.get('skipped', 0)} skipped"
              f"{drift_summary(report)} in {report.duration:.2f} s\n")
    if report.limit:
        out.write(f"limited to {', '.join(report.limit)} (--limit)\n")
    if report.unreachable:
        out.write(f"could not check: unreachable {', '.join(report.unreachable)}\n")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _scenario(r: ScenarioResult, out: TextIO, color: bool) -> None:
    move = f"{r.owner}→{r.peer or '?'}"
    out.write(f"  {mark(r.status, color)} {r.scenario:<16} {r.vip:<15} "
              f"{move:<16} {seconds(r.moved_after):>8} {seconds(r.move_gap):>7} "
              f"{seconds(r.back_after):>7} {seconds(r.back_gap):>7} {r.lost_moving:>9,} "
              f"{r.lost_back:>9,} {r.sent:>7,}  {r.chapter}\n")
    if r.status != StepStatus.PASSED:
        out.write(f"        {r.message}\n")
    for o in r.outages:
        causes = ", ".join(f"{k} {v}" for k, v in o.causes.items())
        length = f"{o.duration:.3f} s" if o.duration is not None else "open-ended"
        phase = "moving" if o.first_failure < r.restore_at else "coming back"
        out.write(f"        outage ({phase}): {length}, {o.lost} lost ({causes})\n")
    if r.dropped:
        out.write(f"        the prober could not start {r.dropped} requests (its own "
                  "shortfall, not counted as lost)\n")


def drill_table(report: DrillReport, out: TextIO, color: bool = False) -> None:
    out.write(f"\nFailover drill ({report.rate:g} requests/s from this machine)\n")
    if report.results:
        out.write(f"  {'':<5} {'scenario':<16} {'VIP':<15} {'move':<16} {'moved s':>8} "
                  f"{'gap s':>7} {'back s':>7} {'gap s':>7} {'lost move':>9} {'lost back':>9} "
                  f"{'sent':>7}  chapter (move under load)\n")
    for r in report.results:
        _scenario(r, out, color)
    out.write("  moved/back: command → the other host holds the VIP alone (this machine's "
              "clock); gap: kernel stamps, release → acquire (negative: both held it)\n")
    if report.error:
        out.write(f"  drill: {report.error}\n")
    passed = sum(1 for r in report.results if r.status == StepStatus.PASSED)
    out.write(f"{passed} of {len(report.results)} drill scenarios passed in "
              f"{report.duration:.1f} s; lab restored: {'yes' if report.restored else 'NO'}\n")
