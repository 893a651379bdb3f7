"""The `labguide` command line (click). Thin: parses options, calls the core, prints errors."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from labguide import __version__
from labguide.clicommon import default_inventory
from labguide.errors import LabguideError, Location

if TYPE_CHECKING:
    from labguide.chapter import Chapter
    from labguide.engine import Engine
    from labguide.plan import Plan

LANG_HELP = ("The chapter's language (en, ja, …; default: from LC_ALL / LC_MESSAGES / LANG, "
             "else English).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labguide")
def cli() -> None:
    """Walk through a hands-on infrastructure lab, step by step."""


def chapter_in_language(name_or_path: str, lang: str | None) -> Chapter:
    """The chapter in the language asked for (--lang: it must have it), else in the locale's
    if it has that translation, else the file named (English for a bundled name).

    A translation must have its English file's id: results and resume are kept by chapter
    id, so that a reader may switch languages and go on where they were."""
    from labguide.chapter import find_chapter, load_chapter
    from labguide.chapter_files import DEFAULT_LANG, locale_lang, split_name, translations

    if lang is not None:  # `ja`, `JA` and `ja_JP.UTF-8` all mean ja
        path = find_chapter(name_or_path, locale_lang({"LANG": lang}) or lang.lower())
    elif name_or_path.endswith(".md") or "/" in name_or_path:
        path = find_chapter(name_or_path)  # a file named: that file
    else:
        path = find_chapter(name_or_path, locale_lang(os.environ), fallback=True)
    chapter = load_chapter(path)
    base = translations(path).get(DEFAULT_LANG)
    if split_name(path)[1] != DEFAULT_LANG and base is not None:
        english = load_chapter(base)
        if english.id != chapter.id:
            raise LabguideError(
                f"this translation's id is {chapter.id!r} but its English chapter's "
                f"({base.name}) is {english.id!r}: they must be the same, results are kept "
                "by chapter id", Location(file=path, key="id"))
    return chapter


def languages_of(chapter: Chapter) -> str:
    """'en, ja': the languages the chapter has."""
    from labguide.chapter_files import translations

    return ", ".join(translations(chapter.path))


@cli.command("list")
def list_cmd() -> None:
    """List the bundled chapters (titles in the locale's language, if the chapter has it)."""
    from labguide.chapter import bundled_chapters
    from labguide.chapter_files import split_name

    for path in bundled_chapters():
        chapter = chapter_in_language(split_name(path)[0], None)
        click.echo(f"{chapter.id:<16} {chapter.title}  ({len(chapter.steps)} steps; "
                   f"languages: {languages_of(chapter)})")


@cli.command()
@click.argument("chapter")
@click.option("--lang", metavar="LANG", help=LANG_HELP)
def show(chapter: str, lang: str | None) -> None:
    """Show a chapter's sections, steps and hosts."""
    from labguide.chapter_files import split_name

    ch = chapter_in_language(chapter, lang)
    click.echo(f"{ch.title}  [{ch.id}]  hosts: {', '.join(ch.hosts)}")
    click.echo(f"languages: {languages_of(ch)} (shown: {split_name(ch.path)[1]})")
    if ch.requires:
        click.echo(f"assumes: {ch.requires}")
    for sec in ch.sections:
        if not sec.steps:
            continue
        click.echo(f"\n{'  ' * (sec.level - 2)}{sec.title}")
        for step in sec.steps:
            flags = [f for f, on in (("disruptive", step.disruptive),
                                     ("background", step.background),
                                     ("walk-through", step.transient)) if on]
            click.echo(f"{'  ' * (sec.level - 2)}  {step.id:<34} {step.kind:<10} "
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
              help="Accept (and record) host keys seen for the first time, without asking.")
@click.option("--answer", "answers", multiple=True, metavar="TEXT=ANSWER",
              help="With --plain: when a command asks something whose prompt holds TEXT, type "
                   "ANSWER (e.g. 'continue connecting=yes' for ssh's host key question). "
                   "Never used for passwords: those are asked on a terminal.")
@click.option("--theme", default=None, help="A Textual theme for the TUI.")
@click.option("--lang", metavar="LANG", help=LANG_HELP)
def run(chapter: str, inventory_path: str | None, sets: tuple[str, ...], plain: bool,
        dry_run: bool, start: str | None, restart: bool, yes: bool, check: bool, fmt: str,
        strict: bool, accept_new_host_keys: bool, theme: str | None, drill: bool = False,
        drill_rate: float = 1000, lang: str | None = None,
        answers: tuple[str, ...] = ()) -> None:
    """Run a chapter (a bundled name or a path) against a lab."""
    from labguide.inventory import load_inventory
    from labguide.plan import bind, parse_sets

    ch = chapter_in_language(chapter, lang)
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
        _confirm_drill(plan, yes=yes, rate=drill_rate)
        sys.exit(_check_and_drill(plan, fmt=fmt, strict=strict, rate=drill_rate,
                                  accept_new_host_keys=accept_new_host_keys))
    if check:
        sys.exit(_check(plan, fmt=fmt, strict=strict,
                        accept_new_host_keys=accept_new_host_keys))
    engine = _make_engine(plan, restart=restart, accept_new_host_keys=accept_new_host_keys)
    if not plain:
        from labguide.tui.launch import launch

        sys.exit(launch(engine, start=start, theme=theme))
    from labguide.events import StepStatus
    from labguide.plain import run_plain

    status = asyncio.run(run_plain(engine, start=start, yes=yes,
                                   answers=answer_rules(answers)))
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
@click.option("--lang", metavar="LANG", help=LANG_HELP)
@click.pass_context
def check_cmd(ctx: click.Context, chapter: str, inventory_path: str | None,
              sets: tuple[str, ...], fmt: str, strict: bool, accept_new_host_keys: bool,
              drill: bool, drill_rate: float, yes: bool, lang: str | None) -> None:
    """Verify a lab read-only (same as `run CHAPTER --check`)."""
    ctx.invoke(run, chapter=chapter, inventory_path=inventory_path, sets=sets, plain=True,
               dry_run=False, start=None, restart=False, yes=yes, check=True, fmt=fmt,
               strict=strict, accept_new_host_keys=accept_new_host_keys, theme=None,
               drill=drill, drill_rate=drill_rate, lang=lang)


@cli.command("init")
@click.option("--chapter", "chapter_name", default="l4lb-ha", show_default=True,
              help="The chapter whose hosts and values to ask about.")
@click.option("--output", "-o", default="lab.toml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The inventory to write (the token's secret goes beside it, mode 0600).")
def init_cmd(chapter_name: str, output: Path) -> None:
    """Connect your own lab: asks for node1's API, the VMs' addresses and your SSH key,
    writes an inventory, then tries every host as the chapter will (SSH login with its host
    key, sudo, the Proxmox token and template, k6) and says what to fix.

    \b
    Examples:
      labguide init
      labguide init -o ~/labs/home.toml
      labguide run l4lb-ha --inventory lab.toml
    """
    from labguide.chapter import find_chapter, load_chapter
    from labguide.cli_init import run_init

    chapter = load_chapter(find_chapter(chapter_name))
    if output.exists() and not click.confirm(f"{output} exists: replace it?", default=False,
                                             err=True):
        sys.exit(1)
    api_hosts = sorted({h for s in chapter.steps if s.lang == "qm" for h in s.hosts})
    sys.exit(run_init(chapter, output, api_hosts))


@cli.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--inventory", "-i", "inventory_path", metavar="FILE",
              help="The lab's inventory (default: $LABGUIDE_INVENTORY, else the sandbox lab's).")
def ssh_cmd(host: str, command: tuple[str, ...], inventory_path: str | None) -> None:
    """Open a shell on a lab host (or run COMMAND there), with the inventory's user, key and
    known_hosts.

    \b
    Examples:
      labguide ssh l4lb-1
      labguide ssh l4lb-2 -- journalctl -u keepalived -n 20
    """
    import subprocess

    from labguide.inventory import load_inventory
    from labguide.shell_access import shell_command

    path = default_inventory(inventory_path)
    if path is None:
        raise LabguideError("no inventory: pass --inventory FILE, set LABGUIDE_INVENTORY, or "
                            "build the sandbox lab with `labguide lab up`")
    argv = shell_command(load_inventory(path).host(host), list(command) or None)
    sys.exit(subprocess.run(argv, check=False).returncode)


def answer_rules(pairs: tuple[str, ...]) -> dict[str, str]:
    """--answer TEXT=ANSWER options; a malformed one is a located error."""
    rules: dict[str, str] = {}
    for pair in pairs:
        text, sep, answer = pair.partition("=")
        if not sep or not text:
            raise LabguideError(f"--answer {pair!r}: expected TEXT=ANSWER (a piece of the "
                                "prompt, then what to type)", Location(key="--answer"))
        rules[text] = answer
    return rules


def _check(plan: Plan, *, fmt: str, strict: bool, accept_new_host_keys: bool) -> int:
    from labguide.check import collect
    from labguide.report import write_report

    report = asyncio.run(collect(plan, strict=strict, accept_new_host_keys=accept_new_host_keys))
    write_report(fmt, sys.stdout, report)
    return report.exit_code


def _check_and_drill(plan: Plan, *, fmt: str, strict: bool, rate: float,
                     accept_new_host_keys: bool) -> int:
    from labguide.drill import check_then_drill, exit_code
    from labguide.report import write_report

    try:
        report, drilled, skipped = asyncio.run(check_then_drill(
            plan, strict=strict, accept_new_host_keys=accept_new_host_keys, rate=rate))
    except KeyboardInterrupt:
        click.echo("\nlabguide: drill interrupted after undoing its change (the 'restoring' "
                   f"lines above); `labguide check {plan.chapter.id}` confirms the lab",
                   err=True)
        return 130
    write_report(fmt, sys.stdout, report, drilled, drill_skipped=skipped or None)
    return exit_code(report, drilled)


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
    state = RunState.load(folder / "state.json", plan.chapter.id,
                          plan.inventory.lab_id if plan.inventory else None)
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

    for module, names in (("labguide.cli_lint", ("lint",)), ("labguide.cli_test", ("test",)),
                          ("labguide.sandbox.cli", ("lab",)),
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
