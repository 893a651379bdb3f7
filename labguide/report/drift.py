"""Drift (files the chapter writes, compared read-only) in each report format: table lines
with the unified diff, JSON-able data, a JUnit test suite."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, TextIO

from labguide.colour import paint

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drift import DriftResult

#: How many diff lines the table shows per file (JSON and JUnit have them all).
TABLE_DIFF_LINES = 40
MARK = {"same": "same", "differs": "DRIFT", "missing": "DRIFT", "unreachable": "ERROR",
        "unknown": "ERROR"}
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
    out.write(f"\n{paint('Files the chapter writes, compared read-only', 'bold', on=color)}\n")
    for d in report.drift:
        word = MARK.get(d.status, d.status)
        out.write(f"  {paint(word, *STYLE.get(d.status, ()), on=color)}"
                  f"{' ' * (5 - len(word))} {d.step.id:<32} {d.host:<16} {d.path}\n")
        if d.drift.note:
            out.write(f"        {d.drift.note}\n")
        if d.status in ("differs", "missing"):
            shown = d.drift.diff[:TABLE_DIFF_LINES]
            for line in shown:
                out.write(f"        {diff_line(line, color)}\n")
            if len(d.drift.diff) > len(shown):
                out.write(f"        … {len(d.drift.diff) - len(shown)} more lines "
                          "(--format json has them all)\n")


def drift_summary(report: CheckReport) -> str:
    """'; 1 of 5 files drifted' for the table's last line ('' without drift)."""
    if not report.drift:
        return ""
    return f"; {len(report.drifted)} of {len(report.drift)} files drifted"


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
        ET.SubElement(case, "failure", message=f"{d.path} drifted").text = text
    elif text:
        ET.SubElement(case, "system-out").text = (
            f"drift: {text}" if d.status != "same" else text)


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
