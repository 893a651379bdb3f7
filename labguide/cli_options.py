"""Options that several `labguide` commands share, with their help: which lab (inventory,
variables), which language, and which steps and hosts a run or a check covers (--from,
--to, --only, --limit). click only; the commands themselves are in cli.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from labguide.clicommon import INVENTORY_ENV

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
