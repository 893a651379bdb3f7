"""Options that several `labguide` commands share, with their help: which lab (inventory,
variables), which language, and which steps and hosts a run or a check covers (--from,
--to, --only, --limit). click only; the commands themselves are in cli.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from labguide.clicommon import INVENTORY_ENV
from labguide.colour import CHOICES

F = TypeVar("F", bound=Callable[..., object])

LANG_HELP = ("The chapter's language (en, ja, …). Default: from the locale (LC_ALL, else "
             "LC_MESSAGES, else LANG), else English.")


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, applied in the order written."""
    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f
    return apply


def inventory_option() -> Callable[[F], F]:
    return click.option(
        "--inventory", "-i", "inventory_path", metavar="FILE",
        help=f"The lab's inventory (TOML). Default: ${INVENTORY_ENV}, else the sandbox lab's "
             f"once `labguide lab up` made it.  [env var: {INVENTORY_ENV}]")


def sets_option() -> Callable[[F], F]:
    return click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                        help="Give a chapter variable another value (repeatable).")


def lang_option() -> Callable[[F], F]:
    return click.option("--lang", metavar="LANG", help=LANG_HELP)


def selection_options() -> Callable[[F], F]:
    """--from, --to, --only, --limit: a step or a section id wherever a step id goes."""
    return stack(
        click.option("--from", "start", metavar="STEP|SECTION",
                     help="Start at this step (or at the first step of this section)."),
        click.option("--to", "stop", metavar="STEP|SECTION",
                     help="Stop after this step (or after the last step of this section)."),
        click.option("--only", "only", multiple=True, metavar="STEP|SECTION",
                     help="Only these steps or sections, in the chapter's order (repeatable, "
                          "or comma-separated)."),
        click.option("--limit", "limit", multiple=True, metavar="HOST",
                     help="Only on these hosts, as Ansible's --limit: steps on other hosts "
                          "are left out, and a step on several hosts runs on these only "
                          "(repeatable, or comma-separated)."),
    )


#: Where the group's --color is kept for the command that runs under it.
COLOR_KEY = "labguide.color"
COLOR_HELP = ("Colour the output: auto (on a terminal, unless NO_COLOR is set), always, or "
              "never. In the TUI, never means monochrome.  [env var: NO_COLOR, FORCE_COLOR]")


def color_option(*, group: bool = False) -> Callable[[F], F]:
    """--color auto|always|never; the group's (`labguide --color never run …`) is the
    default of each command's."""
    def keep(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if group and value is not None:
            ctx.meta[COLOR_KEY] = value
        return value

    return click.option("--color", "--colour", "color", type=click.Choice(CHOICES),
                        default=None, metavar="[auto|always|never]", callback=keep,
                        expose_value=not group, help=COLOR_HELP)


def color_choice(own: str | None) -> str:
    """The command's --color, else the group's, else auto."""
    ctx = click.get_current_context(silent=True)
    given = own or (ctx.meta.get(COLOR_KEY) if ctx is not None else None)
    return str(given or "auto")
