"""End to end: the real `labguide run more-web` in tmux on the more-web chapter's own sandbox
lab (five VMs: a third web server, web-3, running but not behind l4lb-1's HAProxy), walked by
keys as a reader walks it (tests/tui/tmux_reader.py): the stream pane started with its key,
each step run, the file write confirmed. Before the reload the stream pane's answers come
from web-1 and web-2 only; after it web-3 answers too. Every step passes, the TUI exits 0,
and `labguide check` (read-only) on the finished lab passes, where on the fresh lab it named
the one thing not done yet. Once in English, once in Japanese (the chapter's translation and
the interface's words from the catalog). One lab build each: `lab up more-web`, the check,
the TUI run, the check again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from labguide.chapter import find_chapter, load_chapter
from tests.conftest import lab_up, sandbox_missing
from tests.tui.tmux_reader import (
    ROOT,
    SESSION,
    Run,
    Words,
    capture,
    run_step,
    start_labguide,
    stop_tmux,
    tmux,
    wait_screen,
)

RELOAD = "reload-haproxy"
#: an answer line of the stream pane's log: time, backend, status (stream_model.answer_line)
ANSWER = r"\d\d:\d\d:\d\d\.\d{{3}} {name} +200 "

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def check(lang: str, state_dir: Path) -> dict[str, Any]:
    """`labguide check more-web --format json` on the lab as it is (read-only)."""
    res = subprocess.run([sys.executable, "-m", "labguide", "check", "more-web", "--lang", lang,
                          "--format", "json"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env={**os.environ, "LABGUIDE_STATE_DIR": str(state_dir)})
    report: dict[str, Any] = json.loads(res.stdout)
    assert res.returncode == report["exit_code"], res.stderr
    return report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_tui_walks_more_web_and_web3_joins_the_stream(tmp_path: Path, lang: str) -> None:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("tmux is not installed")
    lab_up(fresh=True, chapter="more-web")  # the session takes the lab down at its end
    ids = [s.id for s in load_chapter(find_chapter("more-web", lang)).steps]
    assert RELOAD in ids and ids[-1] == "three-names", ids

    # --check on the start state: all there but the chapter's point, and haproxy.cfg differs
    fresh = check(lang, tmp_path / "check-state")
    assert fresh["exit_code"] == 1, fresh
    assert statuses(fresh) == {"haproxy-runs": "passed", "web3-answers": "passed",
                               "haproxy-cfg-valid": "passed", "three-names": "failed"}, fresh
    assert fresh["drifted"] == 1, fresh

    words = Words(lang)
    run = Run(start_labguide(tmp_path, f"run more-web --lang {lang}"))
    log: list[str] = []
    try:
        wait_screen(words.steps, timeout=30)
        tmux("send-keys", "-t", SESSION, "l")  # the stream pane: GET l4lb-1's /hostname
        screen = wait_screen("web-2=", timeout=30)
        for step_id in ids:
            if step_id == RELOAD:
                # everything before the reload: HAProxy still sends to two servers only
                screen = capture()
                assert "web-1=" in screen and "web-2=" in screen, screen
                assert "web-3=" not in screen, screen
                assert not re.search(ANSWER.format(name="web-3"), screen), screen
            rec = run_step(run, step_id, log, words)
            assert rec["status"] == "passed", (step_id, rec)
            if step_id == RELOAD:  # web-3 answers now: a line in the log, a count
                wait_answer("web-3")
                wait_screen("web-3=", timeout=30)
        screen = capture()
        for name in ("web-1", "web-2", "web-3"):
            assert f"{name}=" in screen, screen
        records = {sid: run.record(sid) for sid in ids}
        assert all(r and r["status"] == "passed" for r in records.values()), records
        # as the reader sees it: a ✓ beside each step in the steps pane (the left one)
        steps_pane = [line.split("│")[1] for line in screen.splitlines() if line.count("│") > 2]
        assert sum("✓" in row for row in steps_pane) == len(ids), screen
        tmux("send-keys", "-t", SESSION, "q")
        wait_screen("LGT-EXIT=0", timeout=30)
    finally:
        print("\n".join(log))
        stop_tmux()

    # --check on the finished lab: every check passes and the file is the chapter's
    done = check(lang, tmp_path / "check-state")
    assert done["exit_code"] == 0 and done["drifted"] == 0, done
    assert set(statuses(done).values()) == {"passed"}, done


def wait_answer(name: str, timeout: float = 30.0) -> str:
    """The screen once an answer line from `name` is in the stream pane's log."""
    deadline = time.monotonic() + timeout
    screen = capture()
    while time.monotonic() < deadline:
        screen = capture()
        if re.search(ANSWER.format(name=name), screen):
            return screen
        time.sleep(0.2)  # polling a real terminal; not a timing assertion
    raise AssertionError(f"no answer from {name} in the stream pane:\n{screen}")
