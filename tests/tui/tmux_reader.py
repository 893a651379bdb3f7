"""A reader at the real `labguide run` TUI in tmux, for the end-to-end tests on the sandbox
lab (test_tmux_e2e.py: l4lb-ha; test_tmux_more_web.py: more-web): our own tmux server, read
with capture-pane and driven with send-keys; the run's saved state; the TUI's words in the
run's language (from the catalog); answering what the TUI asks as a careful reader does; one
step run by its key. Nothing here knows a chapter: the tests hold what is theirs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from labguide import i18n
from labguide.sandbox.paths import LabPaths
from tests.e2e.reader import console_fingerprint

ROOT = Path(__file__).resolve().parents[2]
SOCKET = f"lgt-tui-e2e-{os.getpid()}"  # our own tmux server: nothing else is touched
SESSION = "lgt-tui"
STEP_TIMEOUT = 900.0


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


def start_labguide(tmp_path: Path, args: str) -> Path:
    """`labguide ARGS` in a new 160x50 tmux session, with its own state and config folders
    under tmp_path; its exit status shows as LGT-EXIT=N when it ends. Returns its state
    folder (for Run)."""
    state_dir = tmp_path / "state"
    env = (f"LABGUIDE_STATE_DIR={shlex.quote(str(state_dir))} "
           f"LABGUIDE_CONFIG_DIR={shlex.quote(str(tmp_path / 'config'))} TERM=xterm-256color")
    command = (f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {env} "
               f"{shlex.quote(sys.executable)} -m labguide {args}; "
               "echo LGT-EXIT=$?; sleep 300")
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", command)
    return state_dir


def stop_tmux() -> None:
    """Our tmux server and its socket (tmux leaves the socket behind)."""
    tmux("kill-server")
    Path(f"/tmp/tmux-{os.getuid()}/{SOCKET}").unlink(missing_ok=True)
