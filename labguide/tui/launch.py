"""Entry of `labguide run CHAPTER` without --plain: checks the terminal, builds the app with
the same factory the tests use, runs it and returns the exit code."""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

from labguide.engine import Engine

MIN_WIDTH, MIN_HEIGHT = 100, 30


def terminal_problem(stdin: TextIO | None = None, stdout: TextIO | None = None) -> str | None:
    """Why the TUI cannot run here, or None. Under `labguide serve` (textual-serve's web
    driver) the browser is the terminal: its pipes are not TTYs, and its size is the tab's."""
    if os.environ.get("TEXTUAL_DRIVER", "").endswith("web_driver:WebDriver"):
        return None
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if not (stdin.isatty() and stdout.isatty()):
        return "labguide run needs an interactive terminal (stdin and stdout are not a TTY)"
    try:  # the terminal itself, not $COLUMNS/$LINES (which may be stale or inherited)
        size = os.get_terminal_size(stdout.fileno())
    except (OSError, ValueError):
        size = shutil.get_terminal_size((0, 0))
    if size.columns < MIN_WIDTH or size.lines < MIN_HEIGHT:
        return (f"the terminal is {size.columns}×{size.lines}; the TUI needs at least "
                f"{MIN_WIDTH}×{MIN_HEIGHT}")
    return None


def launch(engine: Engine, start: str | None = None, theme: str | None = None) -> int:
    problem = terminal_problem()
    if problem is not None:
        print(f"labguide: {problem}.\n  Use --plain to run the chapter without the TUI: "
              f"labguide run {engine.plan.chapter.id} --plain", file=sys.stderr)
        return 2
    from labguide.tui.app import make_app

    app = make_app(engine, start=start, theme=theme)
    code = app.run()
    return int(code) if code is not None else 0
