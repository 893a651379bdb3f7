"""Options that several `labguide` commands share, with their help (and the environment
variables they read) and their shell completion: which lab (inventory, variables), which
language, which steps and hosts a run or a check covers (--from, --to, --only, --limit),
the --check report, colour. click only; the commands themselves are in cli.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from labguide import completion as complete
from labguide.clicommon import INVENTORY_ENV
from labguide.colour import CHOICES
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., object])

LANG_HELP = ("The chapter's language (en, ja, …). Default: from the locale (LC_ALL, else "
             "LC_MESSAGES, else LANG), else English.  [env var: LC_ALL, LC_MESSAGES, LANG]")
#: Where the group's --color is kept for the command that runs under it.
COLOR_KEY = "labguide.color"
COLOR_HELP = ("Colour the output: auto (on a terminal, unless NO_COLOR is set), always, or "
              "never. In the TUI, never means monochrome.  [env var: NO_COLOR, FORCE_COLOR]")


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, applied in the order written."""
    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f
    return apply


def inventory_option(*, many: bool = False) -> Callable[[F], F]:
    """--inventory FILE; with `many` (check), a folder of inventories or -i again too: a
    class of labs."""
    if many:
        return click.option(
            "--inventory", "-i", "inventory_paths", metavar="FILE|DIR", multiple=True,
            type=click.Path(),
            help=f"The lab's inventory (TOML). Default: ${INVENTORY_ENV}, else the sandbox "
                 "lab's once `labguide lab up` made it. A folder of inventories, or -i "
                 "again: a class of labs, checked at once, a row each.  "
                 f"[env var: {INVENTORY_ENV}]")
    return click.option(
        "--inventory", "-i", "inventory_path", metavar="FILE",
        type=click.Path(dir_okay=False),
        help=f"The lab's inventory (TOML). Default: ${INVENTORY_ENV}, else the sandbox lab's "
             f"once `labguide lab up` made it.  [env var: {INVENTORY_ENV}]")


def sets_option() -> Callable[[F], F]:
    return click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                        help="Give a chapter variable another value (repeatable).")


def lang_option() -> Callable[[F], F]:
    return click.option("--lang", metavar="LANG", help=LANG_HELP,
                        shell_complete=complete.languages)


def host_keys_option() -> Callable[[F], F]:
    return click.option("--accept-new-host-keys", is_flag=True,
                        help="Accept SSH host keys seen for the first time, and record them in "
                             "the inventory's known_hosts (a changed key is always refused).")


def answers_option() -> Callable[[F], F]:
    return click.option(
        "--answer", "answers", multiple=True, metavar="TEXT=ANSWER",
        help="With --plain: when a command asks something whose prompt holds TEXT, type "
             "ANSWER (e.g. 'continue connecting=yes' for ssh's host key question). "
             "Never used for passwords: those are asked on a terminal.")


def answer_rules(pairs: tuple[str, ...]) -> dict[str, str]:
    """--answer TEXT=ANSWER options; a malformed one is a located error."""
    rules: dict[str, str] = {}
    for pair in pairs:
        text, sep, answer = pair.partition("=")
        if not sep or not text:
            raise LabguideError(_("--answer {pair!r}: expected TEXT=ANSWER (a piece of the "
                                  "prompt, then what to type)").format(pair=pair),
                                Location(key="--answer"))
        rules[text] = answer
    return rules


def lang_in_argv(argv: list[str]) -> str | None:
    """`--lang X` or `--lang=X` anywhere on the command line: the interface speaks it from the
    start (help, usage errors), before click has parsed the command that takes it."""
    for n, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


def selection_options() -> Callable[[F], F]:
    """--from, --to, --only, --limit: a step or a section id wherever a step id goes."""
    return stack(
        click.option("--from", "start", metavar="STEP|SECTION", shell_complete=complete.steps,
                     help="Start at this step (or at the first step of this section)."),
        click.option("--to", "stop", metavar="STEP|SECTION", shell_complete=complete.steps,
                     help="Stop after this step (or after the last step of this section)."),
        click.option("--only", "only", multiple=True, metavar="STEP|SECTION",
                     shell_complete=complete.steps,
                     help="Only these steps or sections, in the chapter's order (repeatable, "
                          "or comma-separated)."),
        click.option("--limit", "limit", multiple=True, metavar="HOST",
                     shell_complete=complete.chapter_hosts,
                     help="Only on these hosts, as Ansible's --limit: steps on other hosts "
                          "are left out, and a step on several hosts runs on these only "
                          "(repeatable, or comma-separated)."),
    )


def check_options(*, in_run: bool) -> Callable[[F], F]:
    """The report and the drill of --check (run) or of the check command."""
    with_check = "With --check: " if in_run else ""
    return stack(
        click.option("--format", "fmt", type=click.Choice(["table", "json", "junit"]),
                     default="table", show_default=True,
                     help=f"{with_check}the report's format: a table, JSON, or JUnit XML for "
                          "CI."),
        click.option("--strict", is_flag=True,
                     help=f"{with_check}warnings (and drift) fail too (exit status 1)."),
        click.option("--drill", is_flag=True,
                     help="After the checks pass, move each VIP away and back under load, "
                          "measure, restore (CHANGES the lab; asks first"
                          + ("; implies --check)." if in_run else ").")),
        click.option("--drill-rate", type=click.FloatRange(1, 5000), default=1000,
                     show_default=True, metavar="N",
                     help="Requests per second to the VIP during --drill."),
    )


def color_option(*, group: bool = False) -> Callable[[F], F]:
    """--color auto|always|never; the group's (`labguide --color never run …`) is the
    default of each command's."""
    def keep(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if group and value is not None:
            ctx.meta[COLOR_KEY] = value
        return value

    return click.option("--color", "--colour", "color", type=click.Choice(CHOICES),
                        default=None, callback=keep, expose_value=not group, help=COLOR_HELP)


def color_choice(own: str | None) -> str:
    """The command's --color, else the group's, else auto."""
    ctx = click.get_current_context(silent=True)
    given = own or (ctx.meta.get(COLOR_KEY) if ctx is not None else None)
    return str(given or "auto")
