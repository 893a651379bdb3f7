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

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labguide import i18n
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


def pattern(template: str, **groups: str) -> str:
    """A translated template as a regular expression: each {field} a group given, else any."""
    parts = re.split(r"\{(\w+)\}", template)
    return "".join(re.escape(p) if n % 2 == 0 else groups.get(p, r"\S+")
                   for n, p in enumerate(parts))


class Words:
    """What the TUI says, in the run's language (read from the catalog, not written here)."""

    def __init__(self, lang: str) -> None:
        with i18n.speaking(lang):
            _ = i18n.gettext
            self.steps = _("Steps")
            self.confirms = [_("Run it now?  y / enter: yes   n / escape: no").split("  ")[0],
                             _("Write it?  y / enter: write   n / escape: don't").split("  ")[0]]
            self.trust = _("Trust this key and record it?  y: yes   n / escape: no"
                           ).split("  ")[0]
            self.fingerprint = pattern(_("{type} key fingerprint is {fingerprint}"),
                                       fingerprint=r"(SHA256:\S+)")
            self.new_key = pattern(_("New host key: {host} ({address})"), address=r"(\S+)")
            # the answer line's border cuts the question (more so in Japanese): its start
            self.ssh_asks = _("{host} asks: {prompt}").format(
                host="", prompt="Are you sure you want to continue").strip()
            self.gap = _("gap {duration}").split("{")[0].strip()
            self.header = _("Step {n}/{total} · {section}").split(" · ")[0] + " "
            self.book = " — " + _("the book: {figure}").split("{")[0]


def answer_modals(screen: str, words: Words) -> bool:
    """Answer what the TUI asks, as a reader would: confirm steps, compare a new host key's
    fingerprint with the VM's own (its console) before trusting it, say yes to ssh's
    question on client once its fingerprint is the VM's."""
    if any(w in screen for w in words.confirms):
        tmux("send-keys", "-t", SESSION, "y")
        return True
    if words.trust in screen:
        shown = re.search(words.fingerprint, screen)
        address = re.search(words.new_key, screen)
        assert shown and address, screen
        same = shown.group(1) == console_fingerprint(LabPaths.default(), address.group(1))
        tmux("send-keys", "-t", SESSION, "y" if same else "n")
        return True
    if words.ssh_asks in screen:
        tmux("send-keys", "-t", SESSION, "yes", "Enter")
        return True
    return False

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


def run_step(run: Run, step_id: str, log: list[str], words: Words) -> dict[str, object]:
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
        answer_modals(screen, words)
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

    state_dir = tmp_path / "state"
    env = (f"LABGUIDE_STATE_DIR={shlex.quote(str(state_dir))} "
           f"LABGUIDE_CONFIG_DIR={shlex.quote(str(tmp_path / 'config'))} TERM=xterm-256color")
    command = (f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {env} "
               f"{shlex.quote(sys.executable)} -m labguide run l4lb-ha --lang {lang}; "
               "echo LGT-EXIT=$?; sleep 300")
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", command)
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
        tmux("kill-server")
        # tmux leaves its socket behind: ours goes with the server
        Path(f"/tmp/tmux-{os.getuid()}/{SOCKET}").unlink(missing_ok=True)
