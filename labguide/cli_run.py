"""What `labguide run` does once its options are read: the --check report, the check then
the drill (asked for first), and the engine of a run with its saved state, lock and
transcript. click only for the terminal's questions and errors; the options are cli.py's."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from labguide.i18n import gettext as _

if TYPE_CHECKING:
    from pathlib import Path

    from labguide.engine import Engine
    from labguide.plan import Plan


def check_report(plan: Plan, *, fmt: str, strict: bool, accept_new_host_keys: bool,
                 color: bool, report_path: Path | None = None) -> int:
    from labguide.check import collect
    from labguide.cli_report import report_after_check
    from labguide.report import write_report

    report = asyncio.run(collect(plan, strict=strict, accept_new_host_keys=accept_new_host_keys))
    write_report(fmt, sys.stdout, report, color=color)
    report_after_check(plan, report_path, report)
    return report.exit_code


def check_and_drill(plan: Plan, *, fmt: str, strict: bool, rate: float,
                    accept_new_host_keys: bool, color: bool,
                    report_path: Path | None = None) -> int:
    from labguide.cli_report import report_after_check
    from labguide.drill import check_then_drill, exit_code
    from labguide.report import write_report

    try:
        report, drilled, skipped = asyncio.run(check_then_drill(
            plan, strict=strict, accept_new_host_keys=accept_new_host_keys, rate=rate))
    except KeyboardInterrupt:
        click.echo("\nlabguide: " + _("drill interrupted after undoing its change (the "
                                       "'restoring' lines above); `labguide check {chapter}` "
                                       "confirms the lab").format(chapter=plan.chapter.id),
                   err=True)
        return 130
    write_report(fmt, sys.stdout, report, drilled, drill_skipped=skipped or None, color=color)
    report_after_check(plan, report_path, report, drilled)
    return exit_code(report, drilled)


def confirm_drill(plan: Plan, *, yes: bool, rate: float) -> None:
    """--drill changes the lab: ask first; without a terminal, only --yes lets it run."""
    from labguide.drill import drill_question

    if yes:
        return
    if not sys.stdin.isatty():
        click.echo("labguide: " + _("--drill changes the lab (it stops keepalived and creates "
                                    "the maintenance file on the VIPs' owners) and there is no "
                                    "terminal to ask: pass --yes to run it"), err=True)
        sys.exit(2)
    if not click.confirm(drill_question(plan, rate=rate), default=False, err=True):
        click.echo("labguide: " + _("drill not confirmed; nothing was run"), err=True)
        sys.exit(1)


def make_engine(plan: Plan, *, restart: bool, accept_new_host_keys: bool) -> Engine:
    from labguide.engine import Engine
    from labguide.state import RunLock, RunState, Transcript, run_dir

    folder = run_dir(plan.chapter.id, plan.inventory.path if plan.inventory else None)
    lock = RunLock.take(folder / "run.lock")  # held until this process ends
    state = RunState.load(folder / "state.json", plan.chapter.id,
                          plan.inventory.lab_id if plan.inventory else None)
    state.lock = lock
    if state.warning:
        click.echo("labguide: " + _("warning: {warning}").format(warning=state.warning),
                   err=True)
    if restart:
        state.reset()
    transcript = Transcript(folder / "transcript.jsonl")
    return Engine(plan, state=state, transcript=transcript,
                  accept_new_host_keys=accept_new_host_keys)
