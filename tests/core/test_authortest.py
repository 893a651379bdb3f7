"""`labguide test`'s parts that need no lab: the JUnit of a run and a check, the careful
reader's answers to host-key questions, and the refusals before any lab is made (a lab root
of the test's own: the machine's sandbox is never touched)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from labguide.authortest import ConsoleReader, junit
from labguide.chapter import find_chapter, load_chapter
from labguide.events import StepFinished, StepStatus
from labguide.transports.hostkey import HostKeyQuestion

GOOD = "SHA256:" + "A" * 43
BAD = "SHA256:" + "B" * 43


def test_the_junit_holds_every_step_of_the_run() -> None:
    ch = load_chapter(find_chapter("l4lb-ha"))
    first, second, third = (s.id for s in ch.steps[:3])
    finished = [StepFinished(first, StepStatus.PASSED, 0.5, "template VM 999 exists"),
                StepFinished(second, StepStatus.FAILED, 0.2, "exit status 3"),
                StepFinished(third, StepStatus.SKIPPED, 0.0, "needs a step that failed")]
    root = ET.fromstring(junit(ch, StepStatus.FAILED, finished, 12.5, None))
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "run l4lb-ha"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [s.id for s in ch.steps]
    assert cases[0].find("system-out") is not None and cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "exit status 3"
    assert cases[2].find("skipped") is not None
    assert "not reached" in (cases[3].find("skipped").get("message") or "")  # type: ignore[union-attr]
    n = len(ch.steps)
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (
        str(n), "1", str(n - 2))


def test_the_reader_says_yes_only_to_the_vms_own_key() -> None:
    own = {"198.18.16.134": GOOD}
    reader = ConsoleReader(own.get)

    def question(address: str, fingerprint: str) -> HostKeyQuestion:
        return HostKeyQuestion("l4lb-2", address, 22, "ssh-ed25519", fingerprint,
                               Path("/dev/null"))

    assert asyncio.run(reader.host_key(question("198.18.16.134", GOOD))) is True
    assert asyncio.run(reader.host_key(question("198.18.16.134", BAD))) is False
    assert asyncio.run(reader.host_key(question("198.18.16.99", GOOD))) is False
    reader.recent = ["The authenticity of host '198.18.16.134 (198.18.16.134)' can't be "
                     "established.", f"ED25519 key fingerprint is {GOOD}."]
    assert reader.ssh_answer() == "yes"
    reader.recent[-1] = f"ED25519 key fingerprint is {BAD}."
    assert reader.ssh_answer() == "no"
    reader.recent = ["no question here"]
    assert reader.ssh_answer() == "no"
    assert [ok for _, _, ok in reader.asked] == [True, False, False, True, False, False]


def labguide_test(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LABGUIDE_LAB_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "labguide", "test", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_lab_that_is_up_or_a_chapter_without_a_lab_file_is_refused(tmp_path: Path) -> None:
    from labguide.sandbox.paths import LabPaths

    LabPaths.default(tmp_path).vm_run(100).mkdir(parents=True)  # a VM's record: a lab is up
    res = labguide_test("l4lb-ha", root=tmp_path)
    assert res.returncode == 2 and "the sandbox lab is up" in res.stderr, res.stderr
    chapter = tmp_path / "mine.md"
    chapter.write_text('+++\ntitle = "Mine"\nhosts = ["a"]\n+++\n\n## One\n\n'
                       '```sh {on="a" check id="one"}\ntrue\n```\n')
    res = labguide_test(str(chapter), root=tmp_path / "other")
    assert res.returncode == 2 and "no lab file mine.lab.toml" in res.stderr, res.stderr
