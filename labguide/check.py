"""`labguide run CHAPTER --check`: the chapter's read-only checks against the lab, as a report.

Runs checks concurrently (one connection per host), never anything that changes the lab
(the engine refuses it in check mode), and renders a table, JSON or JUnit XML.
Exit codes: 0 all passed, 1 some failed (or warned, with --strict), 2 could not check.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, TextIO

from labguide.engine import Engine
from labguide.events import StepStatus
from labguide.plan import BoundStep, Plan
from labguide.redact import Redactor
from labguide.state import StepRecord

PER_HOST_CONCURRENCY = 6


@dataclass
class CheckResult:
    step: BoundStep
    status: StepStatus
    duration: float = 0.0
    message: str = ""
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    chapter: str
    results: list[CheckResult]
    duration: float
    strict: bool = False
    redact: Redactor = field(default_factory=Redactor)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out

    @property
    def unreachable(self) -> list[str]:
        seen: list[str] = []
        for r in self.results:
            for h in r.unreachable:
                if h not in seen:
                    seen.append(h)
        return seen

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return 2
        bad = {StepStatus.FAILED} | ({StepStatus.WARNED} if self.strict else set())
        return 1 if any(r.status in bad for r in self.results) else 0


def checks_of(plan: Plan) -> list[BoundStep]:
    return [b for b in plan.steps if b.step.read_only]


async def collect(plan: Plan, *, engine: Engine | None = None, strict: bool = False,
                  accept_new_host_keys: bool = False) -> CheckReport:
    """Run every read-only check, concurrently where `needs` allows, and gather results."""
    eng = engine or Engine(plan, mode="check", accept_new_host_keys=accept_new_host_keys)
    assert eng.mode == "check"
    started = time.monotonic()
    limits: dict[str, asyncio.Semaphore] = {}
    results: dict[str, CheckResult] = {}
    tasks: dict[str, asyncio.Task[CheckResult]] = {}
    selected = checks_of(plan)

    exists = plan.chapter.exists

    async def one(bound: BoundStep) -> CheckResult:
        for need in bound.step.needs:
            if need in tasks:
                dep = await tasks[need]
                if dep.status not in (StepStatus.PASSED, StepStatus.WARNED):
                    return CheckResult(bound, StepStatus.SKIPPED,
                                       message=f"skipped: needs {need}, which {dep.status.value}")
        hosts = list(bound.step.hosts)
        absent: list[str] = []
        for host in bound.step.hosts:
            gate = exists.get(host)
            if gate and gate != bound.id and gate in tasks:
                if (await tasks[gate]).status != StepStatus.PASSED:
                    hosts.remove(host)
                    absent.append(host)
        if not hosts:
            return CheckResult(bound, StepStatus.SKIPPED,
                               message=f"skipped: {', '.join(absent)} does not exist "
                                       f"({exists[absent[0]]} failed)")
        sems = [limits.setdefault(h, asyncio.Semaphore(PER_HOST_CONCURRENCY))
                for h in bound.step.hosts]
        for sem in sems:
            await sem.acquire()
        try:
            rec: StepRecord = await eng.run_step(
                bound.id, hosts=tuple(hosts) if absent else None)
        finally:
            for sem in sems:
                sem.release()
        unreachable = [h for h, r in rec.hosts.items() if r.get("reason") == "unreachable"]
        message = rec.message
        if absent:
            message = (f"{message}; " if message else "") + \
                f"{', '.join(absent)} skipped: does not exist yet"
        return CheckResult(bound, rec.status, rec.duration, message, rec.hosts, unreachable)

    for bound in selected:
        tasks[bound.id] = asyncio.create_task(one(bound), name=f"check:{bound.id}")
    try:
        for sid, task in tasks.items():
            results[sid] = await task
    finally:
        if engine is None:
            await eng.close()
    return CheckReport(plan.chapter.id, [results[b.id] for b in selected],
                       time.monotonic() - started, strict, eng.redact)


MARK = {StepStatus.PASSED: "ok", StepStatus.FAILED: "FAIL", StepStatus.WARNED: "warn",
        StepStatus.SKIPPED: "skip"}


def render_table(report: CheckReport, plan: Plan, out: TextIO) -> None:
    section = None
    for r in report.results:
        step = r.step.step
        if step.section != section:
            section = step.section
            out.write(f"\n{plan.chapter.section_of(step.id).title}\n")
        what = r.step.message or step.id
        out.write(f"  {MARK.get(r.status, r.status.value):<5} {step.id:<32} "
                  f"{', '.join(step.hosts):<16} {what}\n")
        if r.status in (StepStatus.FAILED, StepStatus.WARNED):
            for host, h in r.hosts.items():
                if h.get("status") not in ("failed", "warned"):
                    continue
                found = [ln for ln in h.get("tail", []) if ln.strip()][-3:]
                reason = h.get("reason") or f"exit status {h.get('exit_status')}"
                if h.get("exit_status") == 0 and step.expect:
                    reason = "output did not match"
                out.write(f"        host {host}: {reason}\n")
                out.write(f"          command: {first_line(report.redact(r.step.shown))}\n")
                out.write(f"          expected: {r.step.message or 'exit status 0'}"
                          + (f" (output matching {step.expect!r})" if step.expect else "") + "\n")
                for line in found or ["(no output)"]:
                    out.write(f"          found: {line}\n")
            if r.step.hint:
                out.write(f"        hint: {r.step.hint}\n")
        elif r.status == StepStatus.SKIPPED:
            out.write(f"        {r.message}\n")
    c = report.counts
    out.write(f"\n{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
              f"{c.get('warned', 0)} warned, {c.get('skipped', 0)} skipped "
              f"in {report.duration:.2f} s\n")
    if report.unreachable:
        out.write(f"could not check: unreachable {', '.join(report.unreachable)}\n")


def first_line(script: str) -> str:
    lines = [ln for ln in script.splitlines() if ln.strip()]
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def render_json(report: CheckReport, out: TextIO) -> None:
    redact = report.redact
    data = {
        "chapter": report.chapter,
        "exit_code": report.exit_code,
        "duration": round(report.duration, 3),
        "counts": report.counts,
        "unreachable": report.unreachable,
        "checks": [{
            "id": r.step.id, "section": r.step.step.section, "hosts": list(r.step.step.hosts),
            "status": r.status.value, "message": r.message, "expected": r.step.message,
            "command": redact(r.step.shown), "hint": r.step.hint, "duration": round(r.duration, 3),
            "results": {h: {k: v for k, v in d.items()} for h, d in r.hosts.items()},
        } for r in report.results],
    }
    json.dump(data, out, indent=2)
    out.write("\n")


def render_junit(report: CheckReport, plan: Plan, out: TextIO) -> None:
    c = report.counts
    suites = ET.Element("testsuites", name=f"labguide {report.chapter}",
                        tests=str(len(report.results)), failures=str(c.get("failed", 0)),
                        skipped=str(c.get("skipped", 0)), time=f"{report.duration:.3f}")
    by_section: dict[str, list[CheckResult]] = {}
    for r in report.results:
        by_section.setdefault(r.step.step.section, []).append(r)
    for sec_id, items in by_section.items():
        title = plan.chapter.section_of(items[0].step.id).title
        fails = sum(1 for r in items if r.status == StepStatus.FAILED)
        suite = ET.SubElement(suites, "testsuite", name=title, tests=str(len(items)),
                              failures=str(fails), id=sec_id)
        for r in items:
            case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.{sec_id}",
                                 name=f"{r.step.id} [{', '.join(r.step.step.hosts)}]",
                                 time=f"{r.duration:.3f}")
            detail = "\n".join(
                f"{h}: {d.get('status')}: {d.get('message') or d.get('reason')}: "
                + " | ".join(d.get("tail", [])[-3:]) for h, d in r.hosts.items())
            if r.status == StepStatus.FAILED:
                el = ET.SubElement(case, "failure", message=r.message or "failed")
                el.text = f"command: {report.redact(r.step.shown)}\n{detail}\nhint: {r.step.hint}"
            elif r.status == StepStatus.SKIPPED:
                ET.SubElement(case, "skipped", message=r.message)
            elif r.status == StepStatus.WARNED:
                out_el = ET.SubElement(case, "system-out")
                out_el.text = f"warning: {r.message}"
    ET.indent(suites)
    out.write(ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")


async def run_check(plan: Plan, *, fmt: str = "table", strict: bool = False,
                    accept_new_host_keys: bool = False, out: TextIO = sys.stdout) -> int:
    report = await collect(plan, strict=strict, accept_new_host_keys=accept_new_host_keys)
    if fmt == "json":
        render_json(report, out)
    elif fmt == "junit":
        render_junit(report, plan, out)
    else:
        render_table(report, plan, out)
    return report.exit_code
