"""Saved results are tied to their lab (issue 14, item 1): results made on another lab are
kept aside, and resuming first checks, read-only, that the lab still holds what the earlier
checks proved; when it does not, the reader starts over or resumes at the first failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labguide.events import StepStatus
from labguide.state import RunState, StepRecord
from tests.conftest import Sshd

CHAPTER = '''+++
title = "Resume"
hosts = ["a"]
[vars]
DIR = "/tmp"
+++

## Make a file

```sh {{on="a" id="make"}}
touch {dir}/made
```

```sh {{on="a" check id="made" message="the file is there"}}
test -e {dir}/made || {{ echo "{dir}/made is missing"; exit 1; }}
```

## Go on

```sh {{on="a" id="gate"}}
test -e {dir}/go
```

```sh {{on="a" id="last"}}
echo last
```
'''


def test_results_of_another_lab_are_kept_aside_and_said(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    old = RunState(path, "c", "sandbox-1")
    old.record("make", StepRecord(StepStatus.PASSED))
    same = RunState.load(path, "c", "sandbox-1")
    assert same.status("make") == StepStatus.PASSED and same.warning is None
    other = RunState.load(path, "c", "sandbox-2")
    assert other.status("make") == StepStatus.PENDING
    assert other.warning is not None and "made on another lab (sandbox-1)" in other.warning
    kept = list(tmp_path.glob("state.json.other-lab-*"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["steps"]["make"]


def lab(tmp_path: Path, sshd: Sshd) -> tuple[list[str], dict[str, str], Path]:
    work = tmp_path / "lab"
    work.mkdir()
    chapter = tmp_path / "resume.md"
    chapter.write_text(CHAPTER.format(dir=work))
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a"))
    args = [sys.executable, "-m", "labguide", "run", str(chapter), "--plain", "--inventory",
            str(inv)]
    return args, {**os.environ, "LABGUIDE_STATE_DIR": str(tmp_path / "state")}, work


def plain(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_resuming_checks_the_lab_first_and_resumes_at_the_first_failing_check(
        tmp_path: Path, sshd: Sshd) -> None:
    args, env, work = lab(tmp_path, sshd)
    first = plain(args, env)
    assert first.returncode == 1 and "FAIL gate (" in first.stdout  # stops at the gate
    (work / "go").touch()
    holds = plain(args, env)  # the file is still there: resume where it stopped
    assert "the lab still looks like the 1 earlier check passed: resuming at gate" \
        in holds.stdout
    assert holds.returncode == 0 and "PASS last (" in holds.stdout

    (work / "go").unlink()
    plain([*args, "--restart"], env)  # a run that stops at the gate again
    (work / "made").unlink()  # ... and a lab that lost what 'made' proved
    (work / "go").touch()
    res = plain(args, env)
    out = res.stdout
    assert "your lab does not look like 'made' passed: " in out
    assert f"{work}/made is missing" in out
    assert "resuming at made, the first check that fails" in out
    assert "FAIL made (" in out and "gate" not in out.split("resuming at made")[1]
    assert res.returncode == 1
