"""Drift (files the chapter writes, compared read-only) in each report format: table lines
with the unified diff, JSON-able data, a JUnit test suite."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, TextIO

from labguide.cells import cell_len, ljust
from labguide.colour import paint
from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drift import DriftResult

#: How many diff lines the table shows per file (JSON and JUnit have them all).
TABLE_DIFF_LINES = 40
MARK = {"same": N_("same"), "differs": N_("DRIFT"), "missing": N_("DRIFT"),
        "unreachable": N_("ERROR"), "unknown": N_("ERROR")}
STYLE = {"same": ("green",), "differs": ("bold", "yellow"), "missing": ("bold", "yellow"),
         "unreachable": ("bold", "red"), "unknown": ("bold", "red")}


def diff_line(line: str, color: bool) -> str:
    if line.startswith(("+++", "---")):
        return paint(line, "bold", on=color)
    style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])
    return paint(line, style, on=color) if style else line


def drift_table(report: CheckReport, out: TextIO, color: bool = False) -> None:
    if not report.drift:
        return
    heading = _("Files the chapter writes, compared read-only")
    out.write(f"\n{paint(heading, 'bold', on=color)}\n")
    for d in report.drift:
        word = _(MARK[d.status]) if d.status in MARK else d.status
        out.write(f"  {paint(word, *STYLE.get(d.status, ()), on=color)}"
                  f"{' ' * (5 - cell_len(word))} {ljust(d.step.id, 32)} {ljust(d.host, 16)} "
                  f"{d.path}\n")
        if d.drift.note:
            out.write(f"        {d.drift.note}\n")
        if d.status in ("differs", "missing"):
            shown = d.drift.diff[:TABLE_DIFF_LINES]
            for line in shown:
                out.write(f"        {diff_line(line, color)}\n")
            if len(d.drift.diff) > len(shown):
                more = len(d.drift.diff) - len(shown)
                out.write("        " + ngettext(
                    "… {n} more line (--format json has them all)",
                    "… {n} more lines (--format json has them all)", more).format(n=more) + "\n")


def drift_summary(report: CheckReport) -> str:
    """'; 1 of 5 files drifted' for the table's last line ('' without drift)."""
    if not report.drift:
        return ""
    return _("; {drifted} of {total} files drifted").format(drifted=len(report.drifted),
                                                           total=len(report.drift))


def drift_as_list(report: CheckReport) -> list[dict[str, Any]]:
    return [{"step": d.step.id, "host": d.host, "path": d.path, "status": d.status,
             "note": d.drift.note, "diff": list(d.drift.diff)} for d in report.drift]


def _case(report: CheckReport, suite: ET.Element, d: DriftResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.drift",
                         name=f"{d.path} [{d.host}] ({d.step.id})")
    text = "\n".join(([d.drift.note] if d.drift.note else []) + list(d.drift.diff))
    if d.status in ("unreachable", "unknown"):
        ET.SubElement(case, "error", message=d.drift.note or d.status).text = text
    elif d.status in ("differs", "missing") and report.strict:
        ET.SubElement(case, "failure", message=_("{path} drifted").format(
            path=d.path)).text = text
    elif text:
        ET.SubElement(case, "system-out").text = (
            _("drift: {text}").format(text=text) if d.status != "same" else text)


def drift_suite(report: CheckReport) -> ET.Element | None:
    """The `drift` test suite: one case per file and host (a drift fails only with
    --strict, as it only fails the exit status then)."""
    if not report.drift:
        return None
    errors = sum(1 for d in report.drift if d.status in ("unreachable", "unknown"))
    failures = len(report.drifted) if report.strict else 0
    suite = ET.Element("testsuite", name="files the chapter writes (drift)", id="drift",
                       tests=str(len(report.drift)), failures=str(failures),
                       errors=str(errors))
    for d in report.drift:
        _case(report, suite, d)
    return suite
