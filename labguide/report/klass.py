"""A class of labs' check (ClassReport) as a table (a row per lab, a column per section),
JSON (one object per lab) or JUnit XML (one <testsuite> per lab). Writers only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, TextIO

from labguide.cells import cell_len, cut, ljust
from labguide.events import StepStatus
from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _
from labguide.report import junit
from labguide.report.data import check_as_dict

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.classcheck import ClassReport, LabResult

#: What a section's cell shows for each status.
CELL = {"passed": "✓", "failed": "✗", "warned": "!", "not reached": "–"}
#: A lab's verdict (a code in JSON and JUnit) as the table words it.
VERDICT = {"pass": N_("pass"), "fail": N_("fail"), "unreachable": N_("unreachable"),
           "error": N_("error")}
WIDEST = 28
#: Wider than this, the columns are headed by the sections' numbers.
TABLE_WIDTH = 120


def section_cell(report: CheckReport, section: str) -> tuple[str, str]:
    """(status, first failed or warned step) of one section of one lab's report: status is
    passed, failed, warned, or 'not reached' (no check of it ran)."""
    results = [r for r in report.results if r.step.step.section == section]
    for status in (StepStatus.FAILED, StepStatus.WARNED):
        bad = [r for r in results if r.status == status]
        if bad:
            return status.value, bad[0].step.id
    if not results or all(r.status == StepStatus.SKIPPED for r in results):
        return "not reached", ""
    return StepStatus.PASSED.value, ""


def _cells(report: ClassReport, lab: LabResult) -> dict[str, tuple[str, str]]:
    if lab.report is None:
        return {s: ("not reached", "") for s in report.sections}
    return {s: section_cell(lab.report, s) for s in report.sections}


def _text(cell: tuple[str, str]) -> str:
    status, step = cell
    return f"{CELL.get(status, status)} {step}".rstrip()


def _why(lab: LabResult) -> str:
    if lab.error:
        return lab.error.splitlines()[0]
    if lab.unreachable:
        return "; ".join(_("{host}: {reason}").format(host=h, reason=why)
                         for h, why in lab.unreachable.items())
    return ""


def _headers(report: ClassReport, cells: dict[str, dict[str, tuple[str, str]]],
             name_w: int) -> tuple[dict[str, str], dict[str, int]]:
    """Each section's column heading and width: its title when the table fits in TABLE_WIDTH
    columns, else its number (a legend follows the table)."""
    def widths(heads: dict[str, str]) -> dict[str, int]:
        return {s: min(WIDEST, max([cell_len(h), *(cell_len(_text(c[s]))
                                                   for c in cells.values())]))
                for s, h in heads.items()}

    heads = dict(report.sections)
    if name_w + 9 + sum(w + 2 for w in widths(heads).values()) > TABLE_WIDTH:
        heads = {s: str(i) for i, s in enumerate(report.sections, start=1)}
    return heads, widths(heads)


def class_table(report: ClassReport, out: TextIO) -> None:
    cells = {lab.name: _cells(report, lab) for lab in report.labs}
    n = len(report.labs)
    first = (_("lab"), _("✓ of {n}").format(n=n))
    name_w = max([*(cell_len(w) for w in first), *(cell_len(lab.name) for lab in report.labs)])
    heads, widths = _headers(report, cells, name_w)
    out.write(ljust(first[0], name_w) + "  " + "  ".join(
        ljust(cut(h, widths[s]), widths[s]) for s, h in heads.items()) + "  " + _("verdict")
        + "\n")
    for lab in report.labs:
        row = "  ".join(ljust(cut(_text(cells[lab.name][s]), widths[s]), widths[s])
                        for s in report.sections)
        verdict = _(VERDICT[lab.verdict]) if lab.verdict in VERDICT else lab.verdict
        out.write(f"{ljust(lab.name, name_w)}  {row}  {verdict}\n")
    passed = {s: sum(1 for c in cells.values() if c[s][0] == "passed") for s in report.sections}
    out.write(ljust(first[1], name_w) + "  " + "  ".join(
        f"{passed[s]:<{widths[s]}}" for s in report.sections) + "\n")
    t = report.totals
    out.write("\n" + ngettext(
        "{labs} lab: {passed} pass, {failed} fail, {unreachable} unreachable, {error} not "
        "checked (inventory) in {seconds} s",
        "{labs} labs: {passed} pass, {failed} fail, {unreachable} unreachable, {error} not "
        "checked (inventory) in {seconds} s", t["labs"]).format(
            labs=t["labs"], passed=t["pass"], failed=t["fail"], unreachable=t["unreachable"],
            error=t["error"], seconds=f"{report.duration:.2f}") + "\n")
    for lab in report.labs:
        if _why(lab):
            out.write(f"  {lab.name}: {_why(lab)}\n")
    if any(h != report.sections[s] for s, h in heads.items()):
        out.write(_("sections: {legend}").format(legend="; ".join(
            f"{h} {report.sections[s]}" for s, h in heads.items())) + "\n")
    out.write(_("✓ passed  ✗ failed (first failed check)  ! warned  – not reached") + "\n")


def lab_as_dict(report: ClassReport, lab: LabResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lab": lab.name, "inventory": str(lab.inventory), "verdict": lab.verdict,
        "exit_code": lab.exit_code, "error": lab.error, "unreachable_hosts": lab.unreachable,
        "sections": {s: {"title": report.sections[s], "status": c[0], "step": c[1]}
                     for s, c in _cells(report, lab).items()},
    }
    if lab.report is not None:
        data["check"] = check_as_dict(lab.report)
    return data


def class_json(report: ClassReport, out: TextIO) -> None:
    json.dump({"chapter": report.chapter, "exit_code": report.exit_code,
               "duration": round(report.duration, 3), "totals": report.totals,
               "labs": [lab_as_dict(report, lab) for lab in report.labs]}, out, indent=2)
    out.write("\n")


def _lab_suite(lab: LabResult) -> ET.Element:
    if lab.report is not None and not lab.error:
        suites = junit.check_suites(lab.report)
        suite = ET.Element("testsuite", name=lab.name, id=lab.name, tests=suites.get("tests", "0"),
                           failures=suites.get("failures", "0"),
                           skipped=suites.get("skipped", "0"), time=suites.get("time", "0"))
        for section in suites:
            for case in section:
                case.set("classname", f"{lab.name}.{section.get('id')}")
                suite.append(case)
    else:
        suite = ET.Element("testsuite", name=lab.name, id=lab.name, tests="1", failures="0",
                           errors="1")
        case = ET.SubElement(suite, "testcase", classname=lab.name, name="inventory")
        ET.SubElement(case, "error", message=_why(lab))
    if lab.unreachable:
        suite.set("errors", str(len(lab.unreachable)))
        for host, why in lab.unreachable.items():
            case = ET.SubElement(suite, "testcase", classname=lab.name,
                                 name=_("reach {host}").format(host=host))
            ET.SubElement(case, "error", message=why)
        suite.set("tests", str(int(suite.get("tests", "0")) + len(lab.unreachable)))
    return suite


def class_junit(report: ClassReport, out: TextIO) -> None:
    root = ET.Element("testsuites", name=f"labguide {report.chapter} (class)", tests="0",
                      failures="0", skipped="0", time=f"{report.duration:.3f}")
    for lab in report.labs:
        suite = _lab_suite(lab)
        junit.add_suite(root, suite)  # adds its errors to the root's too
    ET.indent(root)
    out.write(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")


def write_class_report(fmt: str, out: TextIO, report: ClassReport) -> None:
    {"json": class_json, "junit": class_junit}.get(fmt, class_table)(report, out)
