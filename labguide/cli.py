"""The `labguide` command line (click). Thin: parses options, calls the core, prints errors.

Options shared by several commands (and their help and completion) are in cli_options.py;
the examples that end each command's help are in cli_help.py."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from labguide import __version__
from labguide import completion as complete
from labguide.cells import ljust
from labguide.cli_class import check_class_cmd, class_options, is_class
from labguide.cli_help import add_examples
from labguide.cli_options import (
    answer_rules,
    answers_option,
    check_options,
    color_choice,
    color_option,
    host_keys_option,
    inventory_option,
    lang_in_argv,
    lang_option,
    selection_options,
    sets_option,
)
from labguide.cli_report import report_after_run, report_cmd, report_option
from labguide.cli_run import check_and_drill, check_report, confirm_drill, make_engine
from labguide.clicommon import default_inventory
from labguide.colour import wanted
from labguide.errors import LabguideError
from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labguide")
@color_option(group=True)
def cli() -> None:
    """Walk through a hands-on infrastructure lab, step by step."""


#: CHAPTER: a bundled name or a path (completed from both).
CHAPTER = click.argument("chapter", shell_complete=complete.chapters)

cli.add_command(report_cmd)


def no_inventory() -> str:
    return _("no inventory: pass --inventory FILE, set LABGUIDE_INVENTORY, or build the "
             "sandbox lab with `labguide lab up`")


@cli.command("list")
def list_cmd() -> None:
    """List the bundled chapters (titles in the locale's language, if the chapter has it)."""
    from labguide.chapter import bundled_chapters
    from labguide.chapter_files import split_name
    from labguide.chapter_pick import chapter_in_language, languages_of

    for path in bundled_chapters():
        chapter = chapter_in_language(split_name(path)[0], None)
        n = len(chapter.steps)
        click.echo(f"{ljust(chapter.id, 16)} {chapter.title}  " + ngettext(
            "({n} step; languages: {languages})", "({n} steps; languages: {languages})",
            n).format(n=n, languages=languages_of(chapter)))


@cli.command()
@CHAPTER
@lang_option()
def show(chapter: str, lang: str | None) -> None:
    """Show a chapter's sections (their ids in brackets), steps and hosts. CHAPTER is a
    bundled name or a path to a Markdown file."""
    from labguide.chapter_files import split_name
    from labguide.chapter_pick import chapter_in_language, languages_of

    ch = chapter_in_language(chapter, lang)
    click.echo(f"{ch.title}  [{ch.id}]  " + _("hosts: {hosts}").format(hosts=", ".join(ch.hosts)))
    click.echo(_("languages: {languages} (shown: {shown})").format(
        languages=languages_of(ch), shown=split_name(ch.path)[1]))
    if ch.requires:
        click.echo(_("assumes: {requires}").format(requires=ch.requires))
    for sec in ch.sections:
        if not sec.steps:
            continue
        click.echo(f"\n{'  ' * (sec.level - 2)}{sec.title}  [{sec.id}]")
        for step in sec.steps:
            flags = [_(f) for f, on in ((N_("disruptive"), step.disruptive),
                                        (N_("background"), step.background),
                                        (N_("walk-through"), step.transient)) if on]
            click.echo(f"{'  ' * (sec.level - 2)}  {ljust(step.id, 34)} {step.kind:<10} "
                       f"{ljust(', '.join(step.hosts), 16)} {' '.join(flags)}")


@cli.command()
@CHAPTER
@inventory_option()
@sets_option()
@click.option("--plain", is_flag=True,
              help="Headless: print steps, output and one line per result; no TUI.")
@click.option("--dry-run", is_flag=True, help="Print every command with its values; run nothing.")
@selection_options()
@click.option("--restart", is_flag=True,
              help="Forget earlier results and start from the top (results are kept under "
                   "$LABGUIDE_STATE_DIR, else ~/.local/state/labguide).  "
                   "[env var: LABGUIDE_STATE_DIR]")
@click.option("--yes", "-y", is_flag=True,
              help="Run disruptive steps (and --drill) without asking.")
@click.option("--check", "check", is_flag=True,
              help="Verify the lab read-only: run the chapter's checks and report.")
@check_options(in_run=True)
@host_keys_option()
@answers_option()
@click.option("--theme", default=None, metavar="NAME", shell_complete=complete.themes,
              help="A Textual theme for the TUI. Default: `theme` in tui.toml, in "
                   "$LABGUIDE_CONFIG_DIR, else labguide's config folder.  "
                   "[env var: LABGUIDE_CONFIG_DIR]")
@lang_option()
@color_option()
@report_option
def run(chapter: str, inventory_path: str | None, sets: tuple[str, ...], plain: bool,
        dry_run: bool, start: str | None, restart: bool, yes: bool, check: bool, fmt: str,
        strict: bool, accept_new_host_keys: bool, theme: str | None, drill: bool = False,
        drill_rate: float = 1000, lang: str | None = None, stop: str | None = None,
        only: tuple[str, ...] = (), limit: tuple[str, ...] = (),
        color: str | None = None, answers: tuple[str, ...] = (),
        report_path: Path | None = None) -> None:
    """Run a chapter against a lab: the TUI on a terminal, --plain without one. CHAPTER is
    a bundled name or a path to a Markdown file. The run's results are saved: the same
    command again resumes at the first step that has not passed."""
    from labguide.chapter_pick import chapter_in_language, selection
    from labguide.inventory import load_inventory
    from labguide.plan import bind, parse_sets
    from labguide.selection import first_step, narrow, resolve

    ch = chapter_in_language(chapter, lang)
    chosen = resolve(ch, selection(ch, start, stop, only, limit))
    overrides = parse_sets(list(sets))
    inv_path = default_inventory(inventory_path)
    if dry_run:
        from labguide.plain import print_dry_run

        inventory = load_inventory(inv_path) if inventory_path and inv_path else None
        print_dry_run(narrow(bind(ch, inventory, overrides), chosen, from_start=True))
        return
    if inv_path is None:
        if check:
            click.echo("labguide: " + _("cannot check: no inventory"), err=True)
            sys.exit(2)
        raise LabguideError(no_inventory(), hint=_(
            "`labguide run {chapter} --dry-run` shows the commands without a lab").format(
                chapter=ch.id))
    plan = narrow(bind(ch, load_inventory(inv_path), overrides), chosen,
                  from_start=check or drill)
    start = first_step(plan, chosen)
    choice = color_choice(color)
    colored = wanted(choice, sys.stdout)
    if drill:  # the drill only ever runs after the checks passed: --drill implies --check
        confirm_drill(plan, yes=yes, rate=drill_rate)
        sys.exit(check_and_drill(plan, fmt=fmt, strict=strict, rate=drill_rate,
                                 accept_new_host_keys=accept_new_host_keys, color=colored,
                                 report_path=report_path))
    if check:
        sys.exit(check_report(plan, fmt=fmt, strict=strict,
                              accept_new_host_keys=accept_new_host_keys, color=colored,
                              report_path=report_path))
    engine = make_engine(plan, restart=restart, accept_new_host_keys=accept_new_host_keys)
    if not plain:
        from labguide.tui.launch import launch

        code = launch(engine, start=start, theme=theme, color=choice)
        report_after_run(engine, report_path)
        sys.exit(code)
    from labguide.events import StepStatus
    from labguide.plain import run_plain

    status = asyncio.run(run_plain(engine, start=start, yes=yes, given=chapter,
                                   color=colored, answers=answer_rules(answers)))
    report_after_run(engine, report_path)
    sys.exit(0 if status == StepStatus.PASSED else 1)


@cli.command("check")
@CHAPTER
@inventory_option(many=True)
@sets_option()
@selection_options()
@check_options(in_run=False)
@host_keys_option()
@click.option("--yes", "-y", is_flag=True, help="Run --drill without asking.")
@lang_option()
@color_option()
@class_options
@report_option
@click.pass_context
def check_cmd(ctx: click.Context, chapter: str, inventory_paths: tuple[str, ...],
              sets: tuple[str, ...], fmt: str, strict: bool, accept_new_host_keys: bool,
              drill: bool, drill_rate: float, yes: bool, lang: str | None, start: str | None,
              stop: str | None, only: tuple[str, ...], limit: tuple[str, ...],
              color: str | None, connections: int, host_timeout: float | None,
              report_path: Path | None) -> None:
    """Verify a lab read-only and report (same as `run CHAPTER --check`): the chapter's
    checks, concurrently; or a class of labs at once (`-i labs/`, or -i again: a table with
    a row per lab). Exit status 0: all passed; 1: some failed (or warned, with --strict);
    2: could not check (a host unreachable, a bad input)."""
    if is_class(inventory_paths):
        sys.exit(check_class_cmd(chapter, inventory_paths, sets, fmt=fmt, strict=strict,
                                 lang=lang, drill=drill, connections=connections,
                                 accept_new_host_keys=accept_new_host_keys,
                                 host_timeout=host_timeout))
    inventory_path = inventory_paths[0] if inventory_paths else None
    ctx.invoke(run, chapter=chapter, inventory_path=inventory_path, sets=sets, plain=True,
               dry_run=False, start=start, restart=False, yes=yes, check=True, fmt=fmt,
               strict=strict, accept_new_host_keys=accept_new_host_keys, theme=None,
               drill=drill, drill_rate=drill_rate, lang=lang, stop=stop, only=only,
               limit=limit, color=color, report_path=report_path)


@cli.command("init")
@click.option("--chapter", "chapter_name", default="l4lb-ha", show_default=True,
              help="The chapter whose hosts and values to ask about.")
@click.option("--output", "-o", default="lab.toml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The inventory to write (the token's secret goes beside it, mode 0600).")
def init_cmd(chapter_name: str, output: Path) -> None:
    """Connect your own lab: asks for node1's API, the VMs' addresses and your SSH key,
    writes an inventory, then tries every host as the chapter will (SSH login with its host
    key, sudo, the Proxmox token and template, k6) and says what to fix."""
    from labguide.chapter import find_chapter, load_chapter
    from labguide.cli_init import run_init

    chapter = load_chapter(find_chapter(chapter_name))
    if output.exists() and not click.confirm(_("{file} exists: replace it?").format(
            file=output), default=False, err=True):
        sys.exit(1)
    api_hosts = sorted({h for s in chapter.steps if s.lang == "qm" for h in s.hosts})
    sys.exit(run_init(chapter, output, api_hosts))


@cli.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("host", shell_complete=complete.inventory_hosts)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@inventory_option()
def ssh_cmd(host: str, command: tuple[str, ...], inventory_path: str | None) -> None:
    """Open a shell on a lab host (or run COMMAND there), with the inventory's user, key and
    known_hosts."""
    import subprocess

    from labguide.inventory import load_inventory
    from labguide.shell_access import shell_command

    path = default_inventory(inventory_path)
    if path is None:
        raise LabguideError(no_inventory())
    argv = shell_command(load_inventory(path).host(host), list(command) or None)
    sys.exit(subprocess.run(argv, check=False).returncode)


def _register() -> None:
    """Each front-end keeps its commands beside its code; they register here."""
    import importlib

    for module, names in (("labguide.cli_lint", ("lint",)), ("labguide.cli_test", ("test",)),
                          ("labguide.sandbox.cli", ("lab",)),
                          ("labguide.probes.cli", ("probe", "watch")),
                          ("labguide.cli_serve", ("serve",))):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            if os.environ.get("LABGUIDE_DEBUG"):
                raise
            print("labguide: " + _("{commands} unavailable ({error})").format(
                commands=", ".join(names), error=exc), file=sys.stderr)
            continue
        for name in names:
            cli.add_command(getattr(mod, name))
    add_examples(cli)


def full_cli() -> click.Group:
    """The whole command line: labguide's commands and each front-end's."""
    if not getattr(cli, "registered", False):
        _register()
        cli.registered = True  # type: ignore[attr-defined]
    return cli


def speak(argv: list[str]) -> str:
    """One language for the whole run, chosen as the chapter is (--lang, else the locale,
    else English): labguide's words, click's messages, every help text."""
    from labguide import i18n
    from labguide.cli_text import localize, use_labguide_words

    lang = i18n.use(i18n.chosen(lang_in_argv(argv), os.environ))
    use_labguide_words()
    add_examples(full_cli())  # in the language now chosen
    localize(full_cli())
    return lang


def main(argv: list[str] | None = None) -> None:
    speak(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=argv, prog_name="labguide", standalone_mode=False)
    except LabguideError as exc:
        click.echo(f"labguide: {exc}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        args = sys.argv[1:] if argv is None else argv
        resumable = bool(args) and args[0] == "run" and "--check" not in args
        click.echo("\nlabguide: " + (_("interrupted; the run's results are saved: run the same "
                                        "command again to resume") if resumable
                                      else _("interrupted")), err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
