"""End to end: the real `labguide run l4lb-ha` in tmux against the sandbox lab, driven with
send-keys and read with capture-pane, through the failover section: the VIP pane must show
the VIP move from l4lb-1 to l4lb-2 and back. Once in English and once in Japanese
(`--lang ja`: the Japanese chapter, the interface's words from the catalog; the screen is
read with the same words, translated here through the catalog, as a Japanese reader would).

Skipped unless the sandbox lab is up (`labguide lab up`). It never brings the lab up or down.
On a lab in its start state it runs the chapter from the top; on a lab where the chapter has
already run (l4lb-2 exists) it runs the failover section only (`--from`).
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
from tests.e2e.reader import console_fingerprint

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path("/var/lib/labguide/lab/inventory.toml")
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


def lab_state() -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "labguide", "lab", "status", "--json"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    try:
        return dict(json.loads(out.stdout))
    except ValueError:
        return {}


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
def test_tui_runs_the_chapter_through_failover_and_the_vip_moves(
        tmp_path: Path, sandbox_lab: Path, lang: str) -> None:
    assert INVENTORY.is_file()
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("tmux is not installed")
    hosts = {h["name"] for h in lab_state().get("hosts", [])  # type: ignore[attr-defined]
             if h.get("running")}
    # step ids are the same in every language; section ids follow the headings: the
    # English file's name the failover section in both runs
    chapter = load_chapter(find_chapter("l4lb-ha"))
    words = Words(lang)
    ids = [s.id for s in chapter.steps]
    failover = [s.id for s in chapter.steps if s.section == FAILOVER]
    assert failover, f"the chapter has no section {FAILOVER}"
    start = failover[0] if "l4lb-2" in hosts else ids[0]
    todo = ids[ids.index(start): ids.index(failover[-1]) + 1]

    state_dir = tmp_path / "state"
    env = (f"LABGUIDE_STATE_DIR={shlex.quote(str(state_dir))} "
           f"LABGUIDE_CONFIG_DIR={shlex.quote(str(tmp_path / 'config'))} TERM=xterm-256color")
    command = (f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {env} "
               f"{shlex.quote(sys.executable)} -m labguide run l4lb-ha --lang {lang} "
               f"--from {start}; "
               "echo LGT-EXIT=$?; sleep 300")
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", command)
    log: list[str] = []
    try:
        wait_screen(words.steps, timeout=30)
        if start == failover[0]:
            # the start state (l4lb-1 holds the VIP) must be on the pane before the first
            # failover step runs: otherwise a watcher still connecting misses the release
            wait_screen(VIP_LINE + "l4lb-1", timeout=30)
        run = Run(state_dir)
        for step_id in todo:
            rec = run_step(run, step_id, log, words)
            if step_id == "failover-vip-on-l4lb2":
                screen = wait_screen(VIP_LINE + "l4lb-2")
                assert "+140 l4lb-2" in screen, screen
            if step_id == "failback-vip-on-l4lb1":
                screen = wait_screen(VIP_LINE + "l4lb-1")
            assert rec
        screen = capture()
        # the timeline: l4lb-1 dropped it, l4lb-2 took it (with the gap), then back to l4lb-1
        assert "-140 l4lb-1" in screen and "+140 l4lb-2" in screen, screen
        assert words.gap in screen, screen
        assert screen.rfind("+140 l4lb-1") > screen.find("+140 l4lb-2"), screen
        tmux("send-keys", "-t", SESSION, "q")
        wait_screen("LGT-EXIT=0", timeout=30)
    finally:
        print("\n".join(log))
        tmux("kill-server")
        # tmux leaves its socket behind: ours goes with the server
        Path(f"/tmp/tmux-{os.getuid()}/{SOCKET}").unlink(missing_ok=True)
