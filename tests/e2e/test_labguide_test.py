"""`labguide test` end to end, as an author runs it: the example chapter examples/more-web.md
on its own lab (a third web server, a lab shape of its own), run, checked, taken down, with
its JUnit; and the same chapter broken (its last wait cannot pass) fails with exit code 1
and says which step. Needs the sandbox and the lab lock; takes a lab that is up down first,
as the other chapter tests do."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labguide.sandbox import lab
from labguide.sandbox.paths import LabPaths
from tests.conftest import sandbox_missing
from tests.sandbox.sandbox_helpers import leftovers

pytestmark = pytest.mark.sandbox
EXAMPLE = Path(__file__).parents[2] / "examples" / "more-web.md"


def labguide_test(chapter: Path, junit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labguide", "test", str(chapter), "--junit",
                           str(junit)], capture_output=True, text=True, timeout=900,
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


def test_the_example_chapter_passes_on_its_own_lab(lab_down: LabPaths, tmp_path: Path) -> None:
    res = labguide_test(EXAMPLE, tmp_path / "junit.xml")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "building the sandbox lab more-web" in res.stdout
    root = ET.parse(tmp_path / "junit.xml").getroot()
    run = next(s for s in root.iter("testsuite") if s.get("id") == "run")
    assert [c.get("name") for c in run.iter("testcase")] == [
        "haproxy-runs", "web3-answers", "haproxy-cfg-three", "haproxy-cfg-valid",
        "reload-haproxy", "three-names"]
    assert root.get("failures") == "0" and run.get("skipped") == "0"
    checks = {(c.get("name") or "").split(" [")[0] for s in root.iter("testsuite")
              if s.get("id") != "run" for c in s.iter("testcase")}  # "web3-answers [web-3]"
    assert checks == {"haproxy-runs", "web3-answers", "haproxy-cfg-valid", "three-names"}
    assert not lab.is_up(lab_down) and not lab_down.inventory.exists()
    assert leftovers(lab_down) == []


def test_a_step_that_fails_fails_the_test(lab_down: LabPaths, tmp_path: Path) -> None:
    broken = tmp_path / "more-web.md"
    broken.write_text(EXAMPLE.read_text().replace('= "web-1 web-2 web-3 "', '= "web-4 "')
                      .replace("timeout=30", "timeout=5"))
    (tmp_path / "more-web.lab.toml").write_text(EXAMPLE.with_suffix(".lab.toml").read_text())
    res = labguide_test(broken, tmp_path / "junit.xml")
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    root = ET.parse(tmp_path / "junit.xml").getroot()
    run = next(s for s in root.iter("testsuite") if s.get("id") == "run")
    failed = [c.get("name") for c in run.iter("testcase") if c.find("failure") is not None]
    assert failed == ["three-names"]
    assert not lab.is_up(lab_down) and leftovers(lab_down) == []
