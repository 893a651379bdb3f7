"""Check and drill reports as JUnit XML: one test suite per chapter section, one for the
drill; one test case per check or drill scenario. Names and texts in the run's language
(a section's title as the chapter has it); element and attribute names are JUnit's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.report.table import seconds

STATUSES = {s.value for s in StepStatus}

if TYPE_CHECKING:
    from labguide.check import CheckReport, CheckResult
    from labguide.drill.model import DrillReport


def _case(report: CheckReport, suite: ET.Element, sec_id: str, r: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.{sec_id}",
                         name=f"{r.step.id} [{', '.join(r.step.step.hosts)}]",
                         time=f"{r.duration:.3f}")
    detail = "\n".join(
        f"{h}: {StepStatus(d['status']).word if d.get('status') in STATUSES else d.get('status')}"
        f": {d.get('message') or d.get('reason')}: " + " | ".join(d.get("tail", [])[-3:])
        for h, d in r.hosts.items())
    if r.status == StepStatus.FAILED:
        el = ET.SubElement(case, "failure", message=r.message or StepStatus.FAILED.word)
        el.text = "\n".join((_("command: {command}").format(command=report.redact(r.step.shown)),
                             detail, _("hint: {hint}").format(hint=r.step.hint or "")))
    elif r.status == StepStatus.SKIPPED:
        ET.SubElement(case, "skipped", message=r.message)
    elif r.status == StepStatus.WARNED:
        ET.SubElement(case, "system-out").text = _("warning: {message}").format(
            message=r.message)


def check_suites(report: CheckReport) -> ET.Element:
    c = report.counts
    suites = ET.Element("testsuites", name=f"labguide {report.chapter}",
                        tests=str(len(report.results)), failures=str(c.get("failed", 0)),
                        skipped=str(c.get("skipped", 0)), time=f"{report.duration:.3f}")
    by_section: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_section.setdefault(r.step.step.section, []).append(r)
    for sec_id, items in by_section.items():
        fails = sum(1 for r in items if r.status == StepStatus.FAILED)
        suite = ET.SubElement(suites, "testsuite", name=report.sections.get(sec_id, sec_id),
                              tests=str(len(items)), failures=str(fails), id=sec_id)
        for r in items:
            _case(report, suite, sec_id, r)
    return suites


def drill_suite(report: DrillReport) -> ET.Element:
    fails = sum(1 for r in report.results if r.status == StepStatus.FAILED)
    suite = ET.Element("testsuite", name=_("failover drill"), id="drill",
                       tests=str(len(report.results) + 1),
                       failures=str(fails + (0 if report.restored and not report.error
                                             else 1)),
                       time=f"{report.duration:.3f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.drill",
                             name=f"{r.scenario} [{r.vip}]", time=f"{r.duration:.3f}")
        text = _("moved {owner}→{peer} after {moved} s (gap {move_gap} s), back after {back} s; "
                 "lost {lost_moving} moving and {lost_back} coming back, of {sent}; chapter: "
                 "{chapter}").format(owner=r.owner, peer=r.peer, moved=seconds(r.moved_after),
                                     move_gap=seconds(r.move_gap),
                                     back=seconds(r.back_after), lost_moving=r.lost_moving,
                                     lost_back=r.lost_back, sent=r.sent, chapter=r.chapter)
        if r.status == StepStatus.FAILED:
            ET.SubElement(case, "failure", message=r.message).text = text
        else:
            ET.SubElement(case, "system-out").text = (
                _("warning: {message}").format(message=r.message) + "\n" + text
                if r.status == StepStatus.WARNED else text)
    case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.drill",
                         name=_("lab restored"))
    if report.error or not report.restored:
        ET.SubElement(case, "failure",
                      message=report.error or _("the lab did not come back as it was"))
    return suite


def skipped_drill_suite(chapter: str, why: str) -> ET.Element:
    suite = ET.Element("testsuite", name=_("failover drill"), id="drill", tests="1",
                       failures="0", skipped="1")
    case = ET.SubElement(suite, "testcase", classname=f"{chapter}.drill", name="drill")
    ET.SubElement(case, "skipped", message=why)
    return suite


def add_suite(root: ET.Element, suite: ET.Element) -> None:
    """Append a suite and add its counts to the root's."""
    root.append(suite)
    for count in ("tests", "failures", "errors", "skipped"):
        root.set(count, str(int(root.get(count, "0")) + int(suite.get(count, "0"))))
