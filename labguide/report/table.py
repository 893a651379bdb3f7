"""Check and drill reports as text tables for a terminal or a log, in the run's language:
columns measured in terminal cells (a Japanese word is two columns a character)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from labguide.cells import cell_len, ljust, rjust
from labguide.colour import paint
from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.report.drift import drift_summary, drift_table

if TYPE_CHECKING:
    from labguide.check import CheckReport, CheckResult
    from labguide.drill.model import DrillReport, ScenarioResult

MARK = {StepStatus.PASSED: N_("ok"), StepStatus.FAILED: N_("FAIL"),
        StepStatus.WARNED: N_("WARN"), StepStatus.SKIPPED: N_("skip")}
#: How each mark looks on a terminal (--color).
MARK_STYLE = {StepStatus.PASSED: ("green",), StepStatus.FAILED: ("bold", "red"),
              StepStatus.WARNED: ("bold", "yellow"), StepStatus.SKIPPED: ("dim",)}


def mark(status: StepStatus, color: bool = False, width: int = 5) -> str:
    """The table's word for a result, padded to `width` cells, coloured when `color`."""
    word = _(MARK[status]) if status in MARK else status.word
    return paint(word, *MARK_STYLE.get(status, ()), on=color) + " " * (width - cell_len(word))


def first_line(script: str) -> str:
    lines = [ln for ln in script.splitlines() if ln.strip()]
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def _failure(report: CheckReport, r: CheckResult, out: TextIO) -> None:
    for host, h in r.hosts.items():
        if h.get("status") not in ("failed", "warned"):
            continue
        found = [ln for ln in h.get("tail", []) if ln.strip()][-3:]
        # a command that exited 0 failed on its output: the kind's message says how
        reason = h.get("reason") or (
            (h.get("message") or _("output did not match")) if h.get("exit_status") == 0
            else _("exit status {status}").format(status=h.get("exit_status")))
        out.write("        " + _("host {host}: {reason}").format(host=host, reason=reason)
                  + "\n")
        out.write("          " + _("command: {command}").format(
            command=first_line(report.redact(r.step.shown))) + "\n")
        out.write("          " + _("expected: {expected}").format(expected=r.expected) + "\n")
        for line in found or [_("(no output)")]:
            out.write("          " + _("found: {line}").format(line=line) + "\n")
    if r.step.hint:
        out.write("        " + _("hint: {hint}").format(hint=r.step.hint) + "\n")


def check_table(report: CheckReport, out: TextIO, color: bool = False) -> None:
    section = None
    for r in report.results:
        step = r.step.step
        if step.section != section:
            section = step.section
            out.write(f"\n{paint(report.sections.get(section, section), 'bold', on=color)}\n")
        what = r.step.message or step.id
        out.write(f"  {mark(r.status, color)} {ljust(step.id, 32)} "
                  f"{ljust(', '.join(step.hosts), 16)} {what}\n")
        if r.status in (StepStatus.FAILED, StepStatus.WARNED):
            _failure(report, r, out)
        elif r.status == StepStatus.SKIPPED:
            out.write(f"        {r.message}\n")
    drift_table(report, out, color)
    c = report.counts
    out.write("\n" + _("{passed} passed, {failed} failed, {warned} warned, {skipped} skipped"
                       "{drift} in {seconds} s").format(
        passed=c.get("passed", 0), failed=c.get("failed", 0), warned=c.get("warned", 0),
        skipped=c.get("skipped", 0), drift=drift_summary(report),
        seconds=f"{report.duration:.2f}") + "\n")
    if report.limit:
        out.write(_("limited to {hosts} (--limit)").format(hosts=", ".join(report.limit))
                  + "\n")
    if report.unreachable:
        out.write(_("could not check: unreachable {hosts}").format(
            hosts=", ".join(report.unreachable)) + "\n")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


#: The drill table's columns: (heading, width, right-aligned).
DRILL_COLUMNS = ((N_("scenario"), 16, False), ("VIP", 15, False), (N_("move"), 16, False),
                 (N_("moved s"), 8, True), (N_("gap s"), 7, True), (N_("back s"), 7, True),
                 (N_("gap s"), 7, True), (N_("lost move"), 9, True),
                 (N_("lost back"), 9, True), (N_("sent"), 7, True))


def _row(values: list[str]) -> str:
    return " ".join(rjust(v, w) if right else ljust(v, w)
                    for v, (_h, w, right) in zip(values, DRILL_COLUMNS, strict=True))


def _scenario(r: ScenarioResult, out: TextIO, color: bool) -> None:
    move = f"{r.owner}→{r.peer or '?'}"
    out.write(f"  {mark(r.status, color)} " + _row([
        r.scenario, r.vip, move, seconds(r.moved_after), seconds(r.move_gap),
        seconds(r.back_after), seconds(r.back_gap), f"{r.lost_moving:,}", f"{r.lost_back:,}",
        f"{r.sent:,}"]) + f"  {r.chapter}\n")
    if r.status != StepStatus.PASSED:
        out.write(f"        {r.message}\n")
    for o in r.outages:
        causes = ", ".join(f"{k} {v}" for k, v in o.causes.items())
        length = f"{o.duration:.3f} s" if o.duration is not None else _("open-ended")
        phase = _("moving") if o.first_failure < r.restore_at else _("coming back")
        out.write("        " + _("outage ({phase}): {length}, {lost} lost ({causes})").format(
            phase=phase, length=length, lost=o.lost, causes=causes) + "\n")
    if r.dropped:
        out.write("        " + _("the prober could not start {count} requests (its own "
                                 "shortfall, not counted as lost)").format(count=r.dropped)
                  + "\n")


def drill_table(report: DrillReport, out: TextIO, color: bool = False) -> None:
    out.write("\n" + _("Failover drill ({rate} requests/s from this machine)").format(
        rate=f"{report.rate:g}") + "\n")
    if report.results:
        out.write(f"  {'':<5} " + _row([_(h) for h, _w, _r in DRILL_COLUMNS])
                  + "  " + _("chapter (move under load)") + "\n")
    for r in report.results:
        _scenario(r, out, color)
    out.write("  " + _("moved/back: command → the other host holds the VIP alone (this "
                       "machine's clock); gap: kernel stamps, release → acquire (negative: "
                       "both held it)") + "\n")
    if report.error:
        out.write("  " + _("drill: {error}").format(error=report.error) + "\n")
    passed = sum(1 for r in report.results if r.status == StepStatus.PASSED)
    out.write(_("{passed} of {total} drill scenarios passed in {seconds} s; lab restored: "
                "{restored}").format(passed=passed, total=len(report.results),
                                     seconds=f"{report.duration:.1f}",
                                     restored=_("yes") if report.restored else _("NO"))
              + "\n")
