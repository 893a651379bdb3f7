"""How `labguide lab` shows what it is doing while it does it: each phase as it starts and as it
ends (with its duration), and the lines a long phase streams (the base image's build).

Two kinds: a live one for a terminal (rich: one row per running phase with a spinner, its
elapsed time and its latest output line, folded; a finished phase leaves one line), and a plain
one (one line per event, timestamped when it is the command's own output), used for pipes, CI
logs, `NO_COLOR` and `TERM=dumb`, and wherever a caller passes a plain callable. Knows nothing
of the lab: lab.py and image.py report through the `Reporter` protocol, the CLI picks the kind.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # rich is imported only when a live display is made
    from rich.progress import Progress, TaskID

Say = Callable[[str], None]
WIDTH = 44  #: phase titles are padded to this in end lines, so the durations line up
PLAIN_DETAIL_EVERY = 2.0  #: plain output shows at most one passing line per phase this often


@runtime_checkable
class Reporter(Protocol):
    """Where a running command reports: phases (nestable, may run in parallel threads), passing
    output lines of a phase (`detail`: folded or thinned out), and lines to keep (`note`)."""

    def phase(self, title: str) -> AbstractContextManager[Reporter]: ...

    def detail(self, line: str) -> None: ...

    def note(self, line: str) -> None: ...


def as_reporter(say: Say | Reporter) -> Reporter:
    """A reporter as given, or plain lines through a callable (tests, benches, scripts)."""
    return say if isinstance(say, Reporter) else LineReporter(say)


def wants_plain(stream: IO[str], env: dict[str, str] | None = None) -> bool:
    """True unless `stream` is a terminal that may take escape codes (no NO_COLOR, TERM=dumb)."""
    env = dict(os.environ) if env is None else env
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return not tty or bool(env.get("NO_COLOR")) or env.get("TERM", "") in ("", "dumb")


class LineReporter:
    """One line per event through `write`: "title ..." when a phase starts, "title  N.NN s" when
    it ends, "| line" for its output; nested phases indented. Thread-safe; no escape codes."""

    def __init__(self, write: Say, *, stamp: bool = False, depth: int = 0,
                 lock: threading.Lock | None = None) -> None:
        self._write = write
        self._stamp = stamp
        self._depth = depth
        self._lock = lock or threading.Lock()
        self._last_detail = float("-inf")

    def _emit(self, text: str) -> None:
        line = "  " * self._depth + text
        if self._stamp:
            line = f"{time.strftime('%H:%M:%S')} {line}"
        with self._lock:
            self._write(line)

    @contextmanager
    def _phase(self, title: str) -> Iterator[Reporter]:
        self._emit(f"{title} ...")
        t0 = time.monotonic()
        try:
            yield LineReporter(self._write, stamp=self._stamp, depth=self._depth + 1,
                               lock=self._lock)
        except BaseException:
            self._emit(f"{title}: failed after {time.monotonic() - t0:.2f} s")
            raise
        pad = max(WIDTH - 2 * self._depth, len(title))
        self._emit(f"{title:<{pad}} {time.monotonic() - t0:6.2f} s")

    def phase(self, title: str) -> AbstractContextManager[Reporter]:
        return self._phase(title)

    def detail(self, line: str) -> None:
        now = time.monotonic()
        if now - self._last_detail >= PLAIN_DETAIL_EVERY:
            self._last_detail = now
            self._emit(f"| {line}")

    def note(self, line: str) -> None:
        self._emit(line)


class LiveReporter:
    """A rich live display: a row per running phase (spinner, title, elapsed seconds, its latest
    output line cut to the terminal's width); each ended phase prints one line that stays."""

    def __init__(self, progress: Progress, depth: int = 0, task: TaskID | None = None) -> None:
        self._progress = progress
        self._depth = depth
        self._task = task

    def _print(self, text: str, style: str) -> None:
        from rich.text import Text

        self._progress.console.print(Text("  " * self._depth + text, style=style),
                                     highlight=False, soft_wrap=True)

    @contextmanager
    def _phase(self, title: str) -> Iterator[Reporter]:
        task = self._progress.add_task("  " * self._depth + title, total=None, detail="")
        t0 = time.monotonic()
        try:
            yield LiveReporter(self._progress, self._depth + 1, task)
        except BaseException:
            self._progress.remove_task(task)
            self._print(f"x {title}: failed after {time.monotonic() - t0:.2f} s", "red")
            raise
        self._progress.remove_task(task)
        pad = max(WIDTH - 2 * self._depth, len(title))
        self._print(f"✓ {title:<{pad}} {time.monotonic() - t0:6.2f} s", "green")

    def phase(self, title: str) -> AbstractContextManager[Reporter]:
        return self._phase(title)

    def detail(self, line: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, detail=line.strip())

    def note(self, line: str) -> None:
        self._print(line, "")


@contextmanager
def live(stream: IO[str]) -> Iterator[Reporter]:
    """A live display on `stream` (a terminal) for the time of the `with` block."""
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
    from rich.table import Column
    from rich.text import Text

    class Elapsed(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.elapsed or 0.0:6.1f} s", style="cyan")

    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}", markup=False), Elapsed(),
        TextColumn("{task.fields[detail]}", markup=False, style="dim",
                   table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
        console=Console(file=stream, highlight=False), transient=True, expand=True,
        redirect_stdout=False, redirect_stderr=False, refresh_per_second=8,
    )
    with progress:
        yield LiveReporter(progress)


@contextmanager
def for_stream(stream: IO[str], env: dict[str, str] | None = None) -> Iterator[Reporter]:
    """The right kind for `stream`: live on a terminal, timestamped plain lines otherwise."""
    if wants_plain(stream, env):
        def write(line: str) -> None:
            stream.write(line + "\n")
            stream.flush()

        yield LineReporter(write, stamp=True)
    else:
        with live(stream) as rep:
            yield rep
