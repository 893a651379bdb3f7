"""Entry of `labguide run CHAPTER` without --plain: checks the terminal, builds the app with
the same factory the tests use, runs it and returns the exit code."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import MutableMapping
from typing import TextIO

from labguide.engine import Engine
from labguide.i18n import gettext as _

MIN_WIDTH, MIN_HEIGHT = 100, 30


def terminal_problem(stdin: TextIO | None = None, stdout: TextIO | None = None) -> str | None:
    """Why the TUI cannot run here, or None. Under `labguide serve` (textual-serve's web
    driver) the browser is the terminal: its pipes are not TTYs, and its size is the tab's."""
    if os.environ.get("TEXTUAL_DRIVER", "").endswith("web_driver:WebDriver"):
        return None
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if not (stdin.isatty() and stdout.isatty()):
        return _("labguide run needs an interactive terminal (stdin and stdout are not a TTY)")
    try:  # the terminal itself, not $COLUMNS/$LINES (which may be stale or inherited)
        size = os.get_terminal_size(stdout.fileno())
    except (OSError, ValueError):
        size = shutil.get_terminal_size((0, 0))
    if size.columns < MIN_WIDTH or size.lines < MIN_HEIGHT:
        return _("the terminal is {columns}×{lines}; the TUI needs at least {width}×{height}"
                 ).format(columns=size.columns, lines=size.lines, width=MIN_WIDTH,
                          height=MIN_HEIGHT)
    return None


def color_env(choice: str, environ: MutableMapping[str, str]) -> None:
    """--color for Textual, which reads NO_COLOR (monochrome when set): never sets it,
    always removes it, auto leaves the reader's."""
    if choice == "never":
        environ["NO_COLOR"] = "1"
    elif choice == "always":
        environ.pop("NO_COLOR", None)


#: How long a lone Escape waits for the rest of a key sequence (ms; Textual reads ESCDELAY,
#: as curses does, default 100): 20 ms, as short as editors and tmux users set it (neovim's
#: ttimeoutlen is 50; tmux's escape-time is commonly set to 10–20), so Escape closes the
#: picker at once. A terminal sends a key's sequence in one write; set ESCDELAY to choose
#: another wait over a slow link.
ESCAPE_DELAY_MS = "20"


def key_settings(environ: MutableMapping[str, str]) -> None:
    """Before Textual is imported: the escape delay, unless the reader chose one."""
    environ.setdefault("ESCDELAY", ESCAPE_DELAY_MS)


def stale_size(environ: MutableMapping[str, str], fd: int) -> None:
    """Textual takes $COLUMNS/$LINES over the terminal's own size: drop them when they say
    another size than the terminal's (an inherited, stale value laid the TUI out for it)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    for var, real in (("COLUMNS", size.columns), ("LINES", size.lines)):
        if var in environ and environ[var] != str(real):
            del environ[var]


def launch(engine: Engine, start: str | None = None, theme: str | None = None,
           color: str = "auto") -> int:
    color_env(color, os.environ)
    key_settings(os.environ)
    problem = terminal_problem()
    if problem is not None:
        print(_("labguide: {problem}.\n  Use --plain to run the chapter without the TUI: "
                "labguide run {chapter} --plain").format(
            problem=problem, chapter=engine.plan.chapter.id), file=sys.stderr)
        return 2
    stale_size(os.environ, sys.stdout.fileno())
    from labguide.tui.app import make_app

    app = make_app(engine, start=start, theme=theme)
    code = app.run()
    return int(code) if code is not None else 0
