"""Colour conventions (issue 18, item 4): --color auto|always|never, NO_COLOR, FORCE_COLOR;
the --check table's FAIL and WARN in colour on a terminal. Real processes, on a real
pseudo-terminal where the test is about one, over the test sshd."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from labguide.colour import wanted
from tests.conftest import Sshd
from tests.core.test_cli import run

CHAPTER = """+++
id = "colour"
title = "Colour test"
hosts = ["a"]
+++

## Checks

```sh {on="a" check id="good" message="true is true"}
true
```

```sh {on="a" check id="bad" message="false is true" hint="it never is"}
false
```

```sh {on="a" id="fine"}
echo fine
```
"""
ESC = "\x1b["
RED_FAIL = "\x1b[1;31mFAIL\x1b[0m"


class Tty:
    def isatty(self) -> bool:
        return True


def test_the_conventions_in_their_order() -> None:
    tty, pipe = Tty(), io.StringIO()
    assert wanted("auto", tty, {}) and not wanted("auto", pipe, {})  # type: ignore[arg-type]
    assert not wanted("auto", tty, {"NO_COLOR": "1"})  # type: ignore[arg-type]
    assert wanted("auto", tty, {"NO_COLOR": ""})  # type: ignore[arg-type]  (empty: unset)
    assert wanted("auto", pipe, {"FORCE_COLOR": "1"})
    assert not wanted("auto", pipe, {"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not wanted("auto", tty, {"TERM": "dumb"})  # type: ignore[arg-type]
    assert wanted("always", pipe, {"NO_COLOR": "1"})  # the flag wins
    assert not wanted("never", tty, {"FORCE_COLOR": "1"})  # type: ignore[arg-type]


def on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run labguide with stdout on a pseudo-terminal; what it wrote there."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "labguide", *args], stdout=child,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=cwd,
                            env={**os.environ, "TERM": "xterm", **env})
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def lab(tmp_path: Path, sshd: Sshd) -> tuple[list[str], dict[str, str]]:
    (tmp_path / "colour.md").write_text(CHAPTER)
    (tmp_path / "inv.toml").write_text(sshd.inventory_host("a"))
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    env.pop("NO_COLOR", None)
    return ["check", str(tmp_path / "colour.md"), "-i", str(tmp_path / "inv.toml")], env


def test_the_check_table_colours_fail_on_a_terminal_only(tmp_path: Path, sshd: Sshd) -> None:
    args, env = lab(tmp_path, sshd)
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    out = on_a_terminal(args, env, tmp_path)
    assert RED_FAIL in out and "\x1b[32mok\x1b[0m" in out, out
    assert ESC not in run(*args, env=env).stdout  # a pipe: plain text
    assert ESC not in on_a_terminal(args, {**env, "NO_COLOR": "1"}, tmp_path)
    assert ESC not in on_a_terminal([*args, "--color", "never"], env, tmp_path)
    assert ESC not in on_a_terminal(["--color", "never", *args], env, tmp_path)  # the group's
    piped = subprocess.run([sys.executable, "-m", "labguide", *args, "--color", "always"],
                           capture_output=True, text=True, env={**clean, **env, "NO_COLOR": "1"},
                           stdin=subprocess.DEVNULL, timeout=120)
    assert RED_FAIL in piped.stdout  # --color always wins over NO_COLOR, even into a pipe
    assert "FAIL  bad" in run(*args, env=env).stdout


def test_plain_runs_honour_no_color_too(tmp_path: Path, sshd: Sshd) -> None:
    args, env = lab(tmp_path, sshd)
    plain = ["run", *args[1:], "--plain", "--restart"]
    out = on_a_terminal(plain, env, tmp_path)
    assert "\x1b[32m" in out and "PASS good" in out
    out = on_a_terminal(plain, {**env, "NO_COLOR": "1"}, tmp_path)
    assert ESC not in out and "FAIL bad" in out


def test_color_never_makes_the_tui_monochrome(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from labguide.chapter import parse_chapter
    from labguide.engine import Engine
    from labguide.plan import bind
    from labguide.tui.app import make_app
    from labguide.tui.keymap import TuiSettings
    from labguide.tui.launch import color_env

    engine = Engine(bind(parse_chapter(CHAPTER, tmp_path / "colour.md"), None))
    monkeypatch.delenv("NO_COLOR", raising=False)
    color_env("never", os.environ)  # as `labguide run … --color never` does before the app
    assert make_app(engine, settings=TuiSettings(), watch=False).no_color
    color_env("always", os.environ)
    assert not make_app(engine, settings=TuiSettings(), watch=False).no_color
    monkeypatch.setenv("NO_COLOR", "1")
    color_env("auto", os.environ)  # the reader's own NO_COLOR is honoured
    assert make_app(engine, settings=TuiSettings(), watch=False).no_color
