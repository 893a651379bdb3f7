"""`labguide test` end to end, as an author runs it: the bundled second chapter more-web
(by its name) on its own lab (a third web server, a lab shape of its own), run in plain
mode, checked with --check, taken down, with its JUnit; its Japanese file the same way
(`--lang ja`); and a broken copy of it elsewhere (by its path: its last wait cannot pass)
fails with exit code 1 and says which step. Needs the sandbox and the lab lock; takes a lab
that is up down first, as the other chapter tests do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labguide import i18n
from labguide.events import StepStatus
from labguide.sandbox import lab
from labguide.sandbox.paths import LabPaths
from tests.conftest import sandbox_missing
from tests.sandbox.sandbox_helpers import leftovers

pytestmark = pytest.mark.sandbox
CHAPTER = Path(__file__).parents[2] / "chapters" / "more-web.md"
STEPS = ["haproxy-runs", "web3-answers", "haproxy-cfg-three", "haproxy-cfg-valid",
         "reload-haproxy", "three-names"]
CHECKS = {"haproxy-runs", "web3-answers", "haproxy-cfg-valid", "three-names"}


def labguide_test(chapter: str, junit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labguide", "test", chapter, "--junit",
                           str(junit), *args], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)


@pytest.fixture()
def lab_down() -> LabPaths:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    paths = LabPaths.default()
    if lab.is_up(paths) or paths.inventory.exists():
        lab.down(paths, say=lambda line: print(f"[lab] {line}"))
    return paths


def verdict(lang: str, junit: Path) -> str:
    """The last line of a run whose steps and --check all passed, in the run's language."""
    with i18n.speaking(lang):
        passed = StepStatus.PASSED.word
        return i18n.gettext("run {status}; check: {counts}; JUnit: {path}").format(
            status=passed, counts=i18n.gettext("{n} {status}").format(n=4, status=passed),
            path=junit)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_second_chapter_passes_on_its_own_lab(lab_down: LabPaths, tmp_path: Path,
                                                  lang: str) -> None:
    junit = tmp_path / "junit.xml"
    res = labguide_test("more-web", junit, "--lang", lang)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "more-web.lab.toml" in res.stdout.splitlines()[0], res.stdout[:2000]
    assert verdict(lang, junit) in res.stdout, res.stdout[-2000:]  # the run and --check
    root = ET.parse(tmp_path / "junit.xml").getroot()
    run = next(s for s in root.iter("testsuite") if s.get("id") == "run")
    assert [c.get("name") for c in run.iter("testcase")] == STEPS
    assert root.get("failures") == "0" and run.get("skipped") == "0"
    checks = [c for s in root.iter("testsuite") if s.get("id") != "run"
              for c in s.iter("testcase")]
    # "web3-answers [web-3]": every check of the finished lab, passed
    assert {(c.get("name") or "").split(" [")[0] for c in checks} == CHECKS
    assert not any(c.find("failure") is not None or c.find("skipped") is not None
                   for c in checks), ET.tostring(root).decode()[:3000]
    assert not lab.is_up(lab_down) and not lab_down.inventory.exists()
    assert leftovers(lab_down) == []


def test_a_step_that_fails_fails_the_test(lab_down: LabPaths, tmp_path: Path) -> None:
    broken = tmp_path / "more-web.md"
    broken.write_text(CHAPTER.read_text().replace('= "web-1 web-2 web-3 "', '= "web-4 "')
                      .replace("timeout=30", "timeout=5"))
    (tmp_path / "more-web.lab.toml").write_text(CHAPTER.with_suffix(".lab.toml").read_text())
    res = labguide_test(str(broken), tmp_path / "junit.xml")
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    root = ET.parse(tmp_path / "junit.xml").getroot()
    run = next(s for s in root.iter("testsuite") if s.get("id") == "run")
    failed = [c.get("name") for c in run.iter("testcase") if c.find("failure") is not None]
    assert failed == ["three-names"]
    # the check's table is printed, with the failed check's host, expectation and hint
    table = res.stdout.split("labguide check (read-only) on the finished lab", 1)[1]
    assert re.search(r"^  FAIL  three-names +client", table, re.M), table[-3000:]
    assert "host client:" in table and "expected:" in table
    assert not lab.is_up(lab_down) and leftovers(lab_down) == []
