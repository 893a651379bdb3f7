"""End to end: the real `labguide run l4lb-ha` in tmux against the sandbox lab, driven with
send-keys and read with capture-pane, the whole chapter as a reader walks it: confirming
disruptive steps and file writes, comparing l4lb-2's new host key with its console, answering
ssh's question on client, starting the three load tests in the background and going on while
they run. The VIP pane must show the VIP move from l4lb-1 to l4lb-2 and back in the failover
section, each load's result must stand beside the book's, and the chapter ends with both VIPs
where its active/active section leaves them.

It starts from a fresh sandbox lab (down, if up, then up) and runs the chapter from its first
step, as a reader does: whatever earlier tests left in the lab (a finished chapter, a half-made
l4lb-2) is no start state a reader meets, and guessing one from it made this test flaky.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labguide.chapter import find_chapter, load_chapter
from labguide.sandbox.paths import LabPaths
from tests.conftest import lab_up, sandbox_missing
from tests.e2e.reader import console_fingerprint

ROOT = Path(__file__).resolve().parents[2]
SOCKET = f"lgt-tui-e2e-{os.getpid()}"  # our own tmux server: nothing else is touched
SESSION = "lgt-tui"
FAILOVER = "fail-over-and-fail-back"
STEP_TIMEOUT = 900.0
VIP_LINE = "198.18.16.140 ● "

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def tmux(*args: str) -> str:
    out = subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                         capture_output=True, text=True, timeout=20)
    return out.stdout


def capture() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


class Run:
    """The run's saved state (state.json under our own LABGUIDE_STATE_DIR)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def record(self, step_id: str) -> dict[str, object] | None:
        for path in self.state_dir.glob("runs/*/state.json"):
            try:
                steps = json.loads(path.read_text())["steps"]
            except (OSError, ValueError, KeyError):
                continue
            if step_id in steps:
                return dict(steps[step_id])
        return None


def answer_modals(screen: str) -> bool:
    """Answer what the TUI asks, as a reader would: confirm steps, compare a new host key's
    fingerprint with the VM's own (its console) before trusting it, say yes to ssh's
    question on client once its fingerprint is the VM's."""
    if "Run it now?" in screen or "Write it?" in screen:
        tmux("send-keys", "-t", SESSION, "y")
        return True
    if "Trust this key and record it?" in screen:
        shown = re.search(r"key fingerprint is (SHA256:\S+)", screen)
        address = re.search(r"New host key: \S+ \((\S+)\)", screen)
        assert shown and address, screen
        same = shown.group(1) == console_fingerprint(LabPaths.default(), address.group(1))
        tmux("send-keys", "-t", SESSION, "y" if same else "n")
        return True
    if "asks: Are you sure you want to continue connecting" in screen:
        tmux("send-keys", "-t", SESSION, "yes", "Enter")
        return True
    return False


def start_background(step_id: str, next_header: str, log: list[str]) -> None:
    """Press the run key on a background step (a load test): it starts, and the TUI moves on
    to the next step (next_header on the screen) while it runs; its result comes later."""
    tmux("send-keys", "-t", SESSION, "r")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        screen = capture()
        answer_modals(screen)
        if next_header in screen:
            log.append(f"{step_id}: started in the background")
            return
        time.sleep(0.2)  # polling a real terminal; not a timing assertion
    raise AssertionError(f"{step_id} did not start in the background\n{capture()}")


def wait_record(run: Run, step_id: str, log: list[str]) -> dict[str, object]:
    """A background step's result, once it is saved."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        rec = run.record(step_id)
        if rec:
            log.append(f"{step_id}: {rec['status']} {rec.get('message', '')}")
            assert rec["status"] in ("passed", "warned"), (step_id, rec, capture())
            return rec
        time.sleep(0.5)
    raise AssertionError(f"{step_id} did not finish within {STEP_TIMEOUT:g} s\n{capture()}")


def run_step(run: Run, step_id: str, log: list[str]) -> dict[str, object]:
    """Press the run key once for the current step (step_id), answer its modals, wait."""
    before = (run.record(step_id) or {}).get("finished_at", 0)
    tmux("send-keys", "-t", SESSION, "r")
    pressed = time.monotonic()
    early: list[str] = []  # the screen 2 s and 10 s after the key, for a failure's message
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        screen = capture()
        if len(early) < 2 and time.monotonic() - pressed > (2, 10)[len(early)]:
            early.append(screen)
        answer_modals(screen)
        rec = run.record(step_id)
        if rec and rec.get("finished_at", 0) != before:
            log.append(f"{step_id}: {rec['status']} {rec.get('message', '')}")
            if rec["status"] not in ("passed", "warned", "skipped"):
                raise AssertionError(f"{step_id} {rec['status']}: {rec.get('message')}\n"
                                     + screen)
            return rec
        time.sleep(0.2)  # polling a real terminal; not a timing assertion
    raise AssertionError(f"{step_id} did not finish within {STEP_TIMEOUT:g} s\n"
                         + "\n--- 2 s and 10 s after the key:\n".join([*early, capture()]))


def wait_screen(text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared on the screen:\n{screen}")


def test_tui_runs_the_whole_chapter_and_the_vip_moves(
        tmp_path: Path) -> None:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("tmux is not installed")
    lab_up(fresh=True)  # the chapter's start state; the session takes the lab down at its end
    chapter = load_chapter(find_chapter("l4lb-ha"))
    ids = [s.id for s in chapter.steps]
    failover = [s.id for s in chapter.steps if s.section == FAILOVER]
    assert failover, f"the chapter has no section {FAILOVER}"
    todo = ids  # the whole chapter, as a reader walks it
    background = [s.id for s in chapter.steps if s.background]
    assert len(background) == 3, background  # the chapter's three load tests

    state_dir = tmp_path / "state"
    env = (f"LABGUIDE_STATE_DIR={shlex.quote(str(state_dir))} "
           f"LABGUIDE_CONFIG_DIR={shlex.quote(str(tmp_path / 'config'))} TERM=xterm-256color")
    command = (f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {env} "
               f"{shlex.quote(sys.executable)} -m labguide run l4lb-ha; "
               "echo LGT-EXIT=$?; sleep 300")
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", command)
    log: list[str] = []
    try:
        wait_screen("Steps", timeout=30)
        run = Run(state_dir)
        for n, step_id in enumerate(todo, start=1):
            if step_id == failover[0]:
                # the start state (l4lb-1 holds the VIP) must be on the pane before the first
                # failover step runs: otherwise a watcher still connecting misses the release
                wait_screen(VIP_LINE + "l4lb-1", timeout=30)
            if step_id in background:
                start_background(step_id, f"Step {n + 1}/{len(ids)} ", log)
                continue
            rec = run_step(run, step_id, log)
            if step_id == "failover-vip-on-l4lb2":
                screen = wait_screen(VIP_LINE + "l4lb-2")
                assert "+140 l4lb-2" in screen, screen
            if step_id == "failback-vip-on-l4lb1":
                screen = wait_screen(VIP_LINE + "l4lb-1")
            if step_id == failover[-1]:
                screen = capture()
                # the timeline: l4lb-1 dropped it, l4lb-2 took it (with the gap), then back
                assert "-140 l4lb-1" in screen and "+140 l4lb-2" in screen, screen
                assert "gap" in screen, screen
                assert screen.rfind("+140 l4lb-1") > screen.find("+140 l4lb-2"), screen
            assert rec
        loads = {sid: wait_record(run, sid, log) for sid in background}
        for sid, rec in loads.items():
            assert "— the book: " in str(rec.get("message")), (sid, rec)
        # the end of the chapter: both VIPs where the active/active section leaves them
        screen = wait_screen(VIP_LINE + "l4lb-1", timeout=30)
        assert "198.18.16.141 ● l4lb-2" in screen, screen
        tmux("send-keys", "-t", SESSION, "q")
        wait_screen("LGT-EXIT=0", timeout=30)
    finally:
        print("\n".join(log))
        tmux("kill-server")
