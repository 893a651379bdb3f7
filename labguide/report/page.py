"""Writing the HTML report of a chapter's run on a lab: its transcript read back, the chapter's
section titles, a --check (and drill) result when there is one, into one file (0600: output
of a lab's commands may be private). No click here: the command lines call `write_page`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from labguide.atomic import write_atomic
from labguide.report.html import render_html
from labguide.report.runlog import read_runlog

if TYPE_CHECKING:
    from labguide.chapter import Chapter
    from labguide.check import CheckReport
    from labguide.drill.model import DrillReport

REPORT_NAME = "report.html"


def page(chapter: Chapter, transcript: Path | None, *, check: CheckReport | None = None,
         drill: DrillReport | None = None) -> str:
    log = read_runlog(transcript) if transcript is not None and transcript.is_file() else None
    steps = {s.id: s for s in chapter.steps}
    for run in log.steps if log is not None else ():
        if run.id in steps and not run.section:  # a transcript older than these fields
            run.section, run.disruptive = steps[run.id].section, steps[run.id].disruptive
            run.delay = steps[run.id].delay
    return render_html(log, title=f"{chapter.title} [{chapter.id}]",
                       titles={s.id: s.title for s in chapter.sections}, check=check,
                       drill=drill)


def write_page(path: Path, chapter: Chapter, transcript: Path | None, *,
               check: CheckReport | None = None, drill: DrillReport | None = None) -> Path:
    write_atomic(path, page(chapter, transcript, check=check, drill=drill).encode(), mode=0o600)
    return path
