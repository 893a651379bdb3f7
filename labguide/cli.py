"""The `labguide` command line (click). Thin: parses options, calls the core, prints errors."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from labguide import __version__
from labguide.errors import LabguideError

if TYPE_CHECKING:
    from labguide.engine import Engine
    from labguide.plan import Plan


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labguide")
def cli() -> None:
    """Walk through a hands-on infrastructure lab, step by step."""


def default_inventory(given: str | None) -> Path | None:
    if given:
        return Path(given)
    env = os.environ.get("LABGUIDE_INVENTORY")
    if env:
        return Path(env)
    from labguide.sandbox.paths import LabPaths

    sandbox = LabPaths.default().inventory  # the embedded default lab, once `lab up` ran
    return sandbox if sandbox.is_file() else None


@cli.command("list")
def list_cmd() -> None:
    """List the bundled chapters."""
    from labguide.chapter import bundled_chapters, load_chapter

    for path in bundled_chapters():
        chapter = load_chapter(path)
        click.echo(f"{chapter.id:<16} {chapter.title}  ({len(chapter.steps)} steps)")


@cli.command()
@click.argument("chapter")
def show(chapter: str) -> None:
    """Show a chapter's sections, steps and hosts."""
    from labguide.chapter import find_chapter, load_chapter

    ch = load_chapter(find_chapter(chapter))
    click.echo(f"{ch.title}  [{ch.id}]  hosts: {', '.join(ch.hosts)}")
    if ch.requires:
        click.echo(f"assumes: {ch.requires}")
    for sec in ch.sections:
        if not sec.steps:
            continue
        click.echo(f"\n{'  ' * (sec.level - 2)}{sec.title}")
        for step in sec.steps:
            flags = [f for f, on in (("disruptive", step.disruptive), ("reboot", step.reboot),
                                     ("background", step.background),
                                     ("walk-through", step.transient)) if on]
            click.echo(f"{'  ' * (sec.level - 2)}  {step.id:<34} {step.kind:<6} "
                       f"{', '.join(step.hosts):<16} {' '.join(flags)}")


@cli.command()
@click.argument("chapter")
@click.option("--inventory", "-i", "inventory_path", metavar="FILE",
              help="The lab's inventory (default: $LABGUIDE_INVENTORY, else the sandbox lab's).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a chapter variable (repeatable).")
@click.option("--plain", is_flag=True, help="Headless: print steps and output, no TUI.")
@click.option("--dry-run", is_flag=True, help="Print every command with its values; run nothing.")
@click.option("--from", "start", metavar="STEP", help="Start at this step.")
@click.option("--restart", is_flag=True, help="Forget earlier results and start from the top.")
@click.option("--yes", "-y", is_flag=True, help="Run disruptive steps without asking.")
@click.option("--check", "check", is_flag=True,
              help="Verify the lab read-only: run the chapter's checks and report.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "junit"]), default="table",
              help="Report format of --check.")
@click.option("--strict", is_flag=True, help="With --check: warnings fail too.")
@click.option("--drill", is_flag=True,
              help="After the checks pass, move each VIP away and back under load, measure, "
                   "restore (CHANGES the lab; asks first; implies --check).")
@click.option("--drill-rate", type=click.FloatRange(1, 5000), default=1000, show_default=True,
              metavar="N", help="Requests per second to the VIP during --drill.")
@click.option("--accept-new-host-keys", is_flag=True,
              help="Accept (and record) host keys seen for the first time.")
@click.option("--theme", default=None, help="A Textual theme for the TUI.")
def run(chapter: str, inventory_path: str | None, sets: tuple[str, ...], plain: bool,
        dry_run: bool, start: str | None, restart: bool, yes: bool, check: bool, fmt: str,
        strict: bool, accept_new_host_keys: bool, theme: str | None, drill: bool = False,
        drill_rate: float = 1000) -> None:
    """Run a chapter (a bundled name or a path) against a lab."""
    from labguide.chapter import find_chapter, load_chapter
    from labguide.inventory import load_inventory
    from labguide.plan import bind, parse_sets

    ch = load_chapter(find_chapter(chapter))
    overrides = parse_sets(list(sets))
    inv_path = default_inventory(inventory_path)
    if dry_run:
        from labguide.plain import print_dry_run

        inventory = load_inventory(inv_path) if inventory_path and inv_path else None
        print_dry_run(bind(ch, inventory, overrides))
        return
    if inv_path is None:
        if check:
            click.echo("labguide: cannot check: no inventory", err=True)
            sys.exit(2)
        raise LabguideError(
            "no inventory: pass --inventory FILE, set LABGUIDE_INVENTORY, or build the "
            "sandbox lab with `labguide lab up`",
            hint=f"`labguide run {ch.id} --dry-run` shows the commands without a lab")
    plan = bind(ch, load_inventory(inv_path), overrides)
    if drill:  # the drill only ever runs after the checks passed: --drill implies --check
        from labguide.drill import run_check_and_drill

        _confirm_drill(plan, yes=yes, rate=drill_rate)
        try:
            sys.exit(asyncio.run(run_check_and_drill(
                plan, fmt=fmt, strict=strict, accept_new_host_keys=accept_new_host_keys,
                rate=drill_rate)))
        except KeyboardInterrupt:
            click.echo("\nlabguide: drill interrupted after undoing its change (the "
                       f"'restoring' lines above); `labguide check {ch.id}` confirms the lab",
                       err=True)
            sys.exit(130)
    if check:
        from labguide.check import run_check

        sys.exit(asyncio.run(run_check(plan, fmt=fmt, strict=strict,
                                       accept_new_host_keys=accept_new_host_keys)))
    engine = _make_engine(plan, restart=restart, accept_new_host_keys=accept_new_host_keys)
    if not plain:
        from labguide.tui.launch import launch

        sys.exit(launch(engine, start=start, theme=theme))
    from labguide.events import StepStatus
    from labguide.plain import run_plain

    status = asyncio.run(run_plain(engine, start=start, yes=yes))
    sys.exit(0 if status == StepStatus.PASSED else 1)


@cli.command("check")
@click.argument("chapter")
@click.option("--inventory", "-i", "inventory_path", metavar="FILE",
              help="The lab's inventory (default: $LABGUIDE_INVENTORY, else the sandbox lab's).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "junit"]), default="table")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--accept-new-host-keys", is_flag=True)
@click.option("--drill", is_flag=True, help="Then the failover drill (see `run --drill`).")
@click.option("--drill-rate", type=click.FloatRange(1, 5000), default=1000, show_default=True,
              metavar="N")
@click.option("--yes", "-y", is_flag=True, help="Run --drill without asking.")
@click.pass_context
def check_cmd(ctx: click.Context, chapter: str, inventory_path: str | None,
              sets: tuple[str, ...], fmt: str, strict: bool, accept_new_host_keys: bool,
              drill: bool, drill_rate: float, yes: bool) -> None:
    """Verify a lab read-only (same as `run CHAPTER --check`)."""
    ctx.invoke(run, chapter=chapter, inventory_path=inventory_path, sets=sets, plain=True,
               dry_run=False, start=None, restart=False, yes=yes, check=True, fmt=fmt,
               strict=strict, accept_new_host_keys=accept_new_host_keys, theme=None,
               drill=drill, drill_rate=drill_rate)


def _confirm_drill(plan: Plan, *, yes: bool, rate: float) -> None:
    """--drill changes the lab: ask first; without a terminal, only --yes lets it run."""
    from labguide.drill import drill_question

    if yes:
        return
    if not sys.stdin.isatty():
        click.echo("labguide: --drill changes the lab (it stops keepalived and creates the "
                   "maintenance file on the VIPs' owners) and there is no terminal to ask: "
                   "pass --yes to run it", err=True)
        sys.exit(2)
    if not click.confirm(drill_question(plan, rate=rate), default=False, err=True):
        click.echo("labguide: drill not confirmed; nothing was run", err=True)
        sys.exit(1)


def _make_engine(plan: Plan, *, restart: bool, accept_new_host_keys: bool) -> Engine:
    from labguide.engine import Engine
    from labguide.state import RunLock, RunState, Transcript, run_dir

    folder = run_dir(plan.chapter.id, plan.inventory.path if plan.inventory else None)
    lock = RunLock.take(folder / "run.lock")  # held until this process ends
    state = RunState.load(folder / "state.json", plan.chapter.id)
    state.lock = lock
    if state.warning:
        click.echo(f"labguide: warning: {state.warning}", err=True)
    if restart:
        state.reset()
    transcript = Transcript(folder / "transcript.jsonl")
    return Engine(plan, state=state, transcript=transcript,
                  accept_new_host_keys=accept_new_host_keys)


def _register() -> None:
    """Each front-end keeps its commands beside its code; they register here."""
    import importlib

    for module, names in (("labguide.sandbox.cli", ("lab",)),
                          ("labguide.probes.cli", ("probe", "watch"))):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            if os.environ.get("LABGUIDE_DEBUG"):
                raise
            print(f"labguide: {', '.join(names)} unavailable ({exc})", file=sys.stderr)
            continue
        for name in names:
            cli.add_command(getattr(mod, name))


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        cli.main(args=argv, prog_name="labguide", standalone_mode=False)
    except LabguideError as exc:
        click.echo(f"labguide: {exc}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        args = sys.argv[1:] if argv is None else argv
        resumable = bool(args) and args[0] == "run" and "--check" not in args
        click.echo("\nlabguide: interrupted" + ("; the run's results are saved: run the same "
                                                "command again to resume" if resumable else ""),
                   err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
