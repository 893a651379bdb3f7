"""The TUI's shell key (issue 13, item 7), through a real terminal: the real `labguide run`
in tmux over a real sshd on 127.0.0.1; `x` opens a shell on the step's host, what is typed
there runs there, and `exit` comes back to the chapter as it was."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sshd

SOCKET = f"lgt-tui-shell-{os.getpid()}"  # our own tmux server: nothing else is touched
SESSION = "lgt-shell"

pytestmark = pytest.mark.skipif(subprocess.run(["which", "tmux"], capture_output=True)
                                .returncode != 0, reason="needs tmux")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=20).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def until(what: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen()
        if what in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{what!r} never appeared; the screen:\n{screen()}")


@pytest.fixture
def session() -> Iterator[None]:
    yield
    tmux("kill-server")


def test_the_shell_key_opens_a_shell_on_the_steps_host_and_comes_back(
        sshd: Sshd, tmp_path: Path, session: None) -> None:
    chapter = tmp_path / "shell.md"
    chapter.write_text('+++\ntitle = "Shell"\nhosts = ["box"]\n+++\n\n## Look around\n\n'
                       'Run something, then look at the host yourself.\n\n'
                       '```sh {on="box" id="hello"}\necho hello\n```\n')
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    cmd = [sys.executable, "-m", "labguide", "run", str(chapter), "--inventory", str(inv)]
    env = f"LABGUIDE_STATE_DIR={shlex.quote(str(tmp_path / 'state'))} HOME={tmp_path}"
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "35",
         f"env {env} {shlex.join(cmd)}")
    until("Look around")
    tmux("send-keys", "-t", SESSION, "x")
    until("a shell on box")
    tmux("send-keys", "-t", SESSION, "echo SHELL-$((6*7)) in $PWD", "Enter")
    until("SHELL-42 in")
    tmux("send-keys", "-t", SESSION, "exit", "Enter")
    back = until("back from the shell on box")
    assert "Look around" in back and "SHELL-42" not in back  # the chapter, as it was
