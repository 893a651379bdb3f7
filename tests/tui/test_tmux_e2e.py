"""End to end: the real `labguide run l4lb-ha` in tmux against the sandbox lab, driven with
send-keys and read with capture-pane, the whole chapter as a reader walks it: confirming
disruptive steps and file writes, comparing l4lb-2's new host key with its console, answering
ssh's question on client, starting the three load tests in the background and going on while
they run. The VIP pane must show the VIP move from l4lb-1 to l4lb-2 and back in the failover
section, each load's result must stand beside the book's, and the chapter ends with both VIPs
where its active/active section leaves them. Once in English and once in Japanese (`--lang
ja`: the Japanese chapter, the interface's words from the catalog; the screen is read with the
same words, translated here through the catalog, as a Japanese reader would).

It starts from a fresh sandbox lab (down, if up, then up) and runs the chapter from its first
step, as a reader does: whatever earlier tests left in the lab (a finished chapter, a half-made
l4lb-2) is no start state a reader meets, and guessing one from it made this test flaky.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from labguide.chapter import find_chapter, load_chapter
from tests.conftest import lab_up, sandbox_missing
from tests.tui.tmux_reader import (
    SESSION,
    STEP_TIMEOUT,
    Run,
    Words,
    answer_modals,
    capture,
    run_step,
    start_labguide,
    stop_tmux,
    tmux,
    wait_screen,
)

FAILOVER = "fail-over-and-fail-back"
VIP_LINE = "198.18.16.140 ● "

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def start_background(step_id: str, next_header: str, log: list[str], words: Words) -> None:
    """Press the run key on a background step (a load test): it starts, and the TUI moves on
    to the next step (next_header on the screen) while it runs; its result comes later."""
    tmux("send-keys", "-t", SESSION, "r")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        screen = capture()
        answer_modals(screen, words)
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


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_tui_runs_the_whole_chapter_and_the_vip_moves(tmp_path: Path, lang: str) -> None:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("tmux is not installed")
    lab_up(fresh=True)  # the chapter's start state; the session takes the lab down at its end
    # step ids are the same in every language; section ids follow the headings: the
    # English file's name the failover section in both runs
    chapter = load_chapter(find_chapter("l4lb-ha"))
    words = Words(lang)
    ids = [s.id for s in chapter.steps]
    failover = [s.id for s in chapter.steps if s.section == FAILOVER]
    assert failover, f"the chapter has no section {FAILOVER}"
    todo = ids  # the whole chapter, as a reader walks it
    background = [s.id for s in chapter.steps if s.background]
    assert len(background) == 3, background  # the chapter's three load tests

    state_dir = start_labguide(tmp_path, f"run l4lb-ha --lang {lang}")
    log: list[str] = []
    try:
        wait_screen(words.steps, timeout=30)
        run = Run(state_dir)
        for n, step_id in enumerate(todo, start=1):
            if step_id == failover[0]:
                # the start state (l4lb-1 holds the VIP) must be on the pane before the first
                # failover step runs: otherwise a watcher still connecting misses the release
                wait_screen(VIP_LINE + "l4lb-1", timeout=30)
            if step_id in background:
                start_background(step_id, words.header.format(n=n + 1, total=len(ids)), log,
                                 words)
                continue
            rec = run_step(run, step_id, log, words)
            if step_id == "failover-vip-on-l4lb2":
                screen = wait_screen(VIP_LINE + "l4lb-2")
                assert "+140 l4lb-2" in screen, screen
            if step_id == "failback-vip-on-l4lb1":
                screen = wait_screen(VIP_LINE + "l4lb-1")
            if step_id == failover[-1]:
                screen = capture()
                # the timeline: l4lb-1 dropped it, l4lb-2 took it (with the gap), then back
                assert "-140 l4lb-1" in screen and "+140 l4lb-2" in screen, screen
                assert words.gap in screen, screen
                assert screen.rfind("+140 l4lb-1") > screen.find("+140 l4lb-2"), screen
            assert rec
        loads = {sid: wait_record(run, sid, log) for sid in background}
        for sid, rec in loads.items():
            assert words.book in str(rec.get("message")), (sid, rec)
        # the end of the chapter: both VIPs where the active/active section leaves them
        screen = wait_screen(VIP_LINE + "l4lb-1", timeout=30)
        assert "198.18.16.141 ● l4lb-2" in screen, screen
        tmux("send-keys", "-t", SESSION, "q")
        wait_screen("LGT-EXIT=0", timeout=30)
    finally:
        print("\n".join(log))
        stop_tmux()
