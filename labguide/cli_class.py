"""`labguide check CHAPTER -i labs/` (or several -i): the click side of checking a class of
labs (labguide/classcheck.py does the work, labguide/report/klass.py writes the report)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TypeVar

import click

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., object])
#: SSH connections open at once across all labs, unless --connections says otherwise.
DEFAULT_CONNECTIONS = 64


def class_options(fn: F) -> F:
    """The options `check` gains for a class of labs."""
    fn = click.option(
        "--connections", type=click.IntRange(1, 1000), default=DEFAULT_CONNECTIONS,
        show_default=True, metavar="N",
        help="With several labs: connections open at once across all labs.")(fn)
    fn = click.option(
        "--host-timeout", type=click.FloatRange(0.1, 600), default=None, metavar="SECONDS",
        help="With several labs: how long to wait for each host's connection (default: "
             "each inventory's connect_timeout, 10 s).")(fn)
    return fn


def is_class(paths: tuple[str, ...]) -> bool:
    """A folder of inventories, or more than one inventory: a class of labs."""
    from pathlib import Path

    return len(paths) > 1 or any(Path(p).is_dir() for p in paths)


def check_class_cmd(chapter: str, paths: tuple[str, ...], sets: tuple[str, ...], *,
                    fmt: str, strict: bool, lang: str | None, drill: bool,
                    accept_new_host_keys: bool, connections: int,
                    host_timeout: float | None) -> int:
    """Check every lab; write the report; the exit code (0 all pass, 1 one fails, 2 one
    could not be checked)."""
    from labguide.chapter_pick import chapter_in_language
    from labguide.classcheck import ClassOptions, check_class, inventory_files
    from labguide.plan import parse_sets
    from labguide.report.klass import write_class_report

    if drill:
        raise LabguideError(_("--drill changes a lab: it runs on one lab at a time, not on a "
                              "class of labs"), Location(key="--drill"))
    files = inventory_files(paths)
    opts = ClassOptions(connections=connections, host_timeout=host_timeout, strict=strict,
                        accept_new_host_keys=accept_new_host_keys)
    report = asyncio.run(check_class(chapter_in_language(chapter, lang), files,
                                     parse_sets(list(sets)), opts))
    write_class_report(fmt, sys.stdout, report)
    return report.exit_code
