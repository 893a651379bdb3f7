"""`labguide test CHAPTER` for authors: the chapter's own sandbox lab up, the whole chapter run
in plain mode answering as a careful reader does (a new host key is accepted only when its
fingerprint is the VM's own, read from its disk), `--check` on the result, the lab down, one
JUnit file, one exit code. Orchestration only: running is the engine's, checking check.py's,
the lab the sandbox's; printing options are cli_test.py's."""

from __future__ import annotations

import asyncio
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from labguide.check import CheckReport, collect
from labguide.engine import Engine
from labguide.events import Event, InputWanted, Output, StepFinished, StepStatus
from labguide.i18n import gettext as _
from labguide.model import Chapter
from labguide.plain import PlainPrinter, summarize
from labguide.plan import Plan
from labguide.report.junit import add_suite, check_suites
from labguide.report.table import check_table
from labguide.state import RunState, Transcript
from labguide.transports.hostkey import HostKeyQuestion

FINGERPRINT = re.compile(r"key fingerprint is (SHA256:[A-Za-z0-9+/]+)")
SSH_HOST = re.compile(r"The authenticity of host '([^' ]+)")


@dataclass
class ConsoleReader:
    """Answers host-key questions as the chapter asks its reader to: yes only when the
    fingerprint shown is the one `fingerprint_of(address)` reads on the VM's console."""

    fingerprint_of: Callable[[str], str | None]
    asked: list[tuple[str, str, bool]] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)

    async def host_key(self, question: HostKeyQuestion) -> bool:
        ok = question.fingerprint == self.fingerprint_of(question.address)
        self.asked.append(("labguide", question.address, ok))
        return ok

    def attach(self, engine: Engine) -> None:
        engine.ask_host_keys(self.host_key)
        engine.answering = True
        engine.bus.subscribe(lambda event: self.heard(engine, event))

    def heard(self, engine: Engine, event: Event) -> None:
        if isinstance(event, Output):
            self.recent = [*self.recent[-20:], event.line]
        elif isinstance(event, InputWanted) and "continue connecting" in event.prompt:
            answer = self.ssh_answer()
            asyncio.get_running_loop().call_soon(engine.answer, event.step_id, event.host,
                                                 answer)

    def ssh_answer(self) -> str:
        """OpenSSH's question: the address and fingerprint are in the lines before it."""
        text = "\n".join(self.recent)
        hosts, shown = SSH_HOST.findall(text), FINGERPRINT.findall(text)
        ok = bool(hosts and shown) and shown[-1] == self.fingerprint_of(hosts[-1])
        self.asked.append(("ssh", hosts[-1] if hosts else "?", ok))
        return "yes" if ok else "no"


async def run_chapter(plan: Plan, reader: ConsoleReader, out: TextIO,
                      folder: Path) -> tuple[StepStatus, list[StepFinished]]:
    """The whole chapter from its first step, printed as `run --plain` prints it; disruptive
    steps run without asking (the lab is the test's)."""
    engine = Engine(plan, state=RunState(folder / "state.json", plan.chapter.id),
                    transcript=Transcript(folder / "transcript.jsonl"))
    finished: list[StepFinished] = []
    engine.bus.subscribe(PlainPrinter(plan, out))
    engine.bus.subscribe(lambda e: finished.append(e) if isinstance(e, StepFinished) else None)
    reader.attach(engine)
    try:
        status = await engine.run(start=None, confirm=None)
    finally:
        await engine.close()
    summarize(engine, status, out)
    return status, finished


def run_suite(chapter: Chapter, status: StepStatus, finished: list[StepFinished],
              duration: float) -> ET.Element:
    """The run as a JUnit test suite: a test case per step that ran, in the chapter's order;
    steps the run never reached are skipped cases."""
    by_id = {e.step_id: e for e in finished}
    failures = sum(e.status == StepStatus.FAILED for e in finished)
    ran = sum(e.status not in (StepStatus.SKIPPED, StepStatus.CANCELLED) for e in finished)
    suite = ET.Element("testsuite", name=f"run {chapter.id}", id="run",
                       tests=str(len(chapter.steps)), failures=str(failures),
                       skipped=str(len(chapter.steps) - ran), time=f"{duration:.3f}")
    for step in chapter.steps:
        case = ET.SubElement(suite, "testcase", classname=f"{chapter.id}.run.{step.section}",
                             name=step.id)
        done = by_id.get(step.id)
        if done is None:
            ET.SubElement(case, "skipped", message=_("not reached (the run {status})").format(
                status=status.word))
        elif done.status == StepStatus.FAILED:
            ET.SubElement(case, "failure", message=done.message or StepStatus.FAILED.word)
        elif done.status in (StepStatus.SKIPPED, StepStatus.CANCELLED):
            ET.SubElement(case, "skipped", message=done.message or done.status.word)
        elif done.message:
            ET.SubElement(case, "system-out").text = done.message
    return suite


def junit(chapter: Chapter, status: StepStatus, finished: list[StepFinished], duration: float,
          report: CheckReport | None) -> bytes:
    """The run's suite, then (if it ran) the check's suites, as one JUnit document."""
    root = check_suites(report) if report is not None else ET.Element(
        "testsuites", name=f"labguide {chapter.id}")
    add_suite(root, run_suite(chapter, status, finished, duration))
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


async def run_and_check(plan: Plan, reader: ConsoleReader, out: TextIO, *,
                        strict: bool) -> tuple[StepStatus, list[StepFinished], CheckReport]:
    with tempfile.TemporaryDirectory(prefix="labguide-test-") as folder:
        status, finished = await run_chapter(plan, reader, out, Path(folder))
    out.write("\n== " + _("labguide check (read-only) on the finished lab") + "\n")
    report = await collect(plan, strict=strict)
    check_table(report, out)  # the author sees which checks failed, not only how many
    return status, finished, report
