"""Results survive SIGKILL at any moment: state.json is always whole (old or new, never torn)
and holds every result the process had recorded; every transcript line is whole JSON. A file
that cannot be read is kept aside, never overwritten."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from labguide.events import StepStatus
from labguide.state import RunState, StepRecord

WRITER = """
import sys
from pathlib import Path
from labguide.events import StepStatus
from labguide.state import RunState, StepRecord, Transcript
state = RunState.load(Path(sys.argv[1]), "crash")
transcript = Transcript(Path(sys.argv[2]))
n = len(state.steps)
while True:
    # large records: each save is ~1 MB, written in many pieces, so a kill lands mid-write
    state.record(f"s{n}", StepRecord(StepStatus.PASSED, message="x" * 4000))
    transcript.write({"event": "step_finished", "step": f"s{n}", "output": "y" * 3000})
    print(n, flush=True)
    n += 1
"""


def test_sigkill_at_random_moments_tears_nothing(tmp_path: Path) -> None:
    state_file, transcript = tmp_path / "state.json", tmp_path / "t.jsonl"
    rng = random.Random(8)
    kills = 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(state_file), str(transcript)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # it is writing now
        assert first.strip().isdigit()
        time.sleep(rng.uniform(0, 0.08))
        os.kill(proc.pid, signal.SIGKILL)
        kills += 1
        reported = [int(x) for x in [first, *proc.stdout.read().split()] if x.strip()]
        proc.wait()
        data = json.loads(state_file.read_text())  # whole: old or new
        assert {f"s{n}" for n in reported} <= set(data["steps"]), "a recorded result was lost"
        for line in transcript.read_text().splitlines():
            json.loads(line)
    assert kills == 25
    state = RunState.load(state_file, "crash")
    assert len(state.steps) >= 25 and state.warning is None


def test_an_unreadable_state_file_is_kept_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"chapter": "c", "steps": {"a": {"status": "pass')  # torn by hand
    state = RunState.load(path, "c")
    assert state.steps == {} and state.warning is not None
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.unreadable-")]
    assert len(kept) == 1 and kept[0].read_text().endswith('"pass')
    assert kept[0].name in state.warning
    state.record("b", StepRecord(StepStatus.PASSED))
    assert kept[0].exists() and json.loads(path.read_text())["steps"].keys() == {"b"}
