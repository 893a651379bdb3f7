"""The TUI's reading keys through a real terminal (issue 18, item 6): the real `labguide
run` in tmux over a real sshd on 127.0.0.1; the arrow keys read ahead, `c` copies the step's
command through OSC 52 into tmux's paste buffer (as it would reach the reader's terminal
through SSH), `/` searches the output, a lone Escape is seen at once (Textual's input
thread woke only every 100 ms), the step picker opens and closes."""

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

SOCKET = f"lgt-tui-keys-{os.getpid()}"  # our own tmux server: nothing else is touched
SESSION = "lgt-keys"

pytestmark = pytest.mark.skipif(subprocess.run(["which", "tmux"], capture_output=True)
                                .returncode != 0, reason="needs tmux")

CHAPTER = """+++
title = "Keys"
hosts = ["box"]
+++

## Read ahead

First, say hello.

```sh {on="box" id="hello"}
echo "hello from the box"
```

Then look at the second step without running anything.

```sh {on="box" id="second" title="The second step"}
printf '%s\\n' one two three
```
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=20).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def until(what: str, timeout: float = 30.0, gone: bool = False) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen()
        if (what in text) != gone:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{what!r} never {'went' if gone else 'appeared'}; the screen:\n"
                         f"{screen()}")


@pytest.fixture
def session() -> Iterator[None]:
    yield
    socket = tmux("display", "-p", "#{socket_path}").strip()
    tmux("kill-server")
    if socket:  # tmux may leave its socket file behind: ours, by its name
        Path(socket).unlink(missing_ok=True)


def test_reading_keys_in_a_real_terminal(sshd: Sshd, tmp_path: Path, session: None) -> None:
    chapter = tmp_path / "keys.md"
    chapter.write_text(CHAPTER)
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    cmd = [sys.executable, "-m", "labguide", "run", str(chapter), "--inventory", str(inv)]
    env = f"LABGUIDE_STATE_DIR={shlex.quote(str(tmp_path / 'state'))} HOME={tmp_path}"
    tmux("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50",
         f"env {env} {shlex.join(cmd)}")
    tmux("set", "-s", "set-clipboard", "on")  # OSC 52 from the app fills tmux's buffer
    tmux("set", "-s", "escape-time", "0")  # tmux's own wait after Escape (500 ms)
    until("Step 1/2")
    size = tmux("display", "-p", "-t", SESSION, "#{window_width}x#{window_height}")
    assert size.strip() == "160x50", size
    tmux("send-keys", "-t", SESSION, "Down")
    until("Step 2/2")
    assert "The second step" in screen()
    tmux("send-keys", "-t", SESSION, "c")
    until("copied second's command")
    assert tmux("show-buffer") == "printf '%s\\n' one two three\n"
    tmux("send-keys", "-t", SESSION, "Up", "r")  # run hello, then search its output
    until("✓ echo")
    tmux("send-keys", "-t", SESSION, "Up")
    until("hello from the box")
    tmux("send-keys", "-t", SESSION, "/", "b", "o", "x")
    text = until("/box")
    assert "(1 line)" in text and "hello from the box" in text
    t0 = time.monotonic()
    tmux("send-keys", "-t", SESSION, "Escape")
    until("/box", gone=True)
    assert time.monotonic() - t0 < 5
    tmux("send-keys", "-t", SESSION, "j")
    until("Jump to a step")
    tmux("send-keys", "-t", SESSION, "Escape")
    until("Jump to a step", gone=True)
    tmux("send-keys", "-t", SESSION, "q")
