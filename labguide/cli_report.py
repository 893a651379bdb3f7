"""`labguide report CHAPTER` and `--report FILE.html` on run and check: the click side of the
HTML report (labguide/report/page.py writes it). A run ends with a line saying where it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from labguide import completion as complete
from labguide.cli_options import inventory_option, lang_option
from labguide.clicommon import default_inventory
from labguide.i18n import gettext as _

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drill.model import DrillReport
    from labguide.engine import Engine
    from labguide.plan import Plan

F = TypeVar("F", bound=Callable[..., object])


def report_option(fn: F) -> F:
    return click.option(
        "--report", "report_path", metavar="FILE.html",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the HTML report here (a run writes report.html in its folder anyway; "
             "with --check: the check's result beside the run's).")(fn)


def run_folder(plan: Plan) -> Path:
    from labguide.state import run_dir

    return run_dir(plan.chapter.id, plan.inventory.path if plan.inventory else None)


def report_after_run(engine: Engine, path: Path | None) -> None:
    """Write the run's report (to `path`, else report.html in the run's folder) and say
    where; a report that cannot be written is said, never fatal after a run."""
    from labguide.errors import LabguideError
    from labguide.report.page import REPORT_NAME, write_page

    transcript = engine.transcript.path if engine.transcript is not None else None
    if transcript is None or not transcript.is_file() or transcript.stat().st_size == 0:
        return  # nothing ran (the TUI could not start, say): nothing to report
    target = path or run_folder(engine.plan) / REPORT_NAME
    try:
        write_page(target, engine.plan.chapter, transcript)
    except (OSError, LabguideError) as exc:
        click.echo("labguide: " + _("the report could not be written to {path}: {error}").format(
            path=target, error=exc), err=True)
        return
    click.echo(_("report: {path}").format(path=target), err=True)


def report_after_check(plan: Plan, path: Path | None, check: CheckReport,
                       drill: DrillReport | None = None) -> None:
    """With --report: the check's (and drill's) result, beside the run's record if any."""
    if path is None:
        return
    from labguide.report.page import write_page

    write_page(path, plan.chapter, run_folder(plan) / "transcript.jsonl", check=check,
               drill=drill)
    click.echo(_("report: {path}").format(path=path), err=True)


@click.command("report")
@click.argument("chapter", shell_complete=complete.chapters)
@inventory_option()
@click.option("--transcript", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A run's transcript.jsonl (default: the run of CHAPTER on this lab).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the report (default: report.html in the run's folder).")
@lang_option()
def report_cmd(chapter: str, inventory_path: str | None, transcript: Path | None,
               output: Path | None, lang: str | None) -> None:
    """Write the HTML report of a run: steps and their output, who held each VIP over time,
    each load's requests/s, failures and p95 with the disruptive steps marked. One file,
    viewable offline, in the run's language."""
    from labguide.chapter_pick import chapter_in_language
    from labguide.errors import LabguideError, Location
    from labguide.report.page import REPORT_NAME, write_page
    from labguide.state import run_dir

    ch = chapter_in_language(chapter, lang)
    folder = run_dir(ch.id, default_inventory(inventory_path))
    source = transcript or folder / "transcript.jsonl"
    if not source.is_file():
        raise LabguideError(_("no run of {chapter} recorded for this lab: run the chapter "
                              "first").format(chapter=ch.id), Location(file=source))
    target = output or (source.parent / REPORT_NAME)
    click.echo(_("report: {path}").format(path=write_page(target, ch, source)))
