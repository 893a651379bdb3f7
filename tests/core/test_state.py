"""The saved state of a run: a file of the wrong shape is kept aside like a torn one, and two
runs of the same chapter and lab cannot share it (the second says who holds it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.state import RunLock, RunState


@pytest.mark.parametrize("data", [
    {"chapter": "c", "steps": [1, 2]},
    {"chapter": "c", "steps": {"a": [1]}},
    {"chapter": "c", "steps": {"a": "passed"}},
    {"chapter": "c", "steps": {"a": {"status": "passed", "hosts": [1]}}},
    {"chapter": "c", "steps": {"a": {"status": "passed", "detail": "x"}}},
    {"chapter": "c", "steps": {"a": {"status": "no-such-status"}}},
    {"chapter": "c", "steps": {"a": {"status": "passed", "duration": "long"}}},
    {"chapter": "c", "cursor": 5},
    {"chapter": "c", "cursor": ["a"]},
])
def test_valid_json_of_the_wrong_shape_is_kept_aside(tmp_path: Path, data: object) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(data))
    state = RunState.load(path, "c")  # crashed with AttributeError/TypeError on some
    assert state.steps == {} and state.cursor is None and state.warning, state.warning
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.unreadable-")]
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == data
    assert kept[0].name in state.warning and not path.exists()


def test_a_good_state_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"chapter": "c", "cursor": "a", "steps": {
        "a": {"status": "passed", "duration": 1.5, "hosts": {"h": {}}, "detail": {}}}}))
    state = RunState.load(path, "c")
    assert state.warning is None and state.cursor == "a" and state.steps["a"].duration == 1.5
    assert RunState.load(path, "other").steps == {}  # another chapter's: not ours, left alone


def test_the_lock_is_exclusive_and_says_who_holds_it(tmp_path: Path) -> None:
    lock = RunLock.take(tmp_path / "run.lock")
    with pytest.raises(LabguideError) as err:
        RunLock.take(tmp_path / "run.lock")
    assert f"process {os.getpid()} on " in str(err.value)
    assert str(err.value).startswith(f"{tmp_path / 'run.lock'}: another labguide run")
    lock.release()
    RunLock.take(tmp_path / "run.lock").release()  # free again


CHAPTER = """+++
id = "slow"
title = "Slow"
hosts = ["me"]
+++

## Wait

```sh {on="me" id="wait"}
touch "$MARK"; sleep 30
```
"""


def test_a_second_run_of_the_same_chapter_and_lab_is_refused(tmp_path: Path) -> None:
    chapter, inv, mark = tmp_path / "slow.md", tmp_path / "inv.toml", tmp_path / "started"
    chapter.write_text(CHAPTER)
    inv.write_text('[hosts.me]\ntransport = "local"\n')
    env = {**os.environ, "LABGUIDE_STATE_DIR": str(tmp_path / "state"), "MARK": str(mark)}
    cmd = [sys.executable, "-m", "labguide", "run", str(chapter), "--plain", "--yes",
           "--inventory", str(inv)]
    first = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not mark.exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        assert mark.exists(), "the first run did not start its step"
        second = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert "another labguide run of this chapter on this lab is going on (process " \
            f"{first.pid} on " in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGTERM)  # its own session: labguide and its sleep
        first.wait(10)
