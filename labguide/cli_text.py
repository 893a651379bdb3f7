"""The command line in the reader's language: every command's and option's help translated
where click shows it, click's own messages (usage errors, `Usage:`, `Options:`) from
labguide's catalog, and help pages wrapped by terminal cells (a Japanese line is half as
many characters as an English one).

click reads its messages through the standard library's global gettext (the default domain,
the language from the environment only); `use_labguide_words()` points those modules'
gettext at labguide's catalog instead, so `--lang ja` reaches them without setting
`LANGUAGE` for every command labguide starts. Only click's gettext functions are replaced,
and only where they still are the standard library's.
"""

from __future__ import annotations

import gettext as stdgettext
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import click

from labguide import cells, i18n

#: click's modules whose messages reach a labguide user (scripts/i18n.py extracts these).
CLICK_MODULES = ("core", "exceptions", "parser", "types", "formatting", "decorators", "termui",
                 "utils", "shell_completion")
#: Column of click's short help in command lists, in cells.
SHORT_HELP = 45


def use_labguide_words() -> None:
    """click's messages through labguide's catalog (in the run's language)."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        for name, theirs, ours in (("_", stdgettext.gettext, i18n.gettext),
                                   ("ngettext", stdgettext.ngettext, i18n.ngettext)):
            if getattr(module, name, None) is theirs:
                setattr(module, name, ours)


def commands(group: click.Command) -> Iterator[click.Command]:
    """`group` and every command below it."""
    yield group
    if isinstance(group, click.Group):
        for sub in group.commands.values():
            yield from commands(sub)


def help_texts(group: click.Command) -> Iterator[tuple[str, Callable[..., Any] | None]]:
    """(English help text, the function it documents) of every command and option."""
    for cmd in commands(group):
        english = _english(cmd)
        for key in ("help", "short_help"):  # epilogs: cli_help.py, its words marked there
            text = english.get(key)
            if text:
                yield text, cmd.callback
        for param in cmd.params:
            text = _english(param).get("help")
            if text:
                yield text, cmd.callback


#: The English texts of each command and option, kept the first time they are translated.
ORIGINAL: dict[int, dict[str, str | None]] = {}


def _english(obj: click.Command | click.Parameter) -> dict[str, str | None]:
    """The texts as written (docstrings dedented as click shows them), kept on first use."""
    if id(obj) not in ORIGINAL:
        keys = ("help", "short_help") if isinstance(obj, click.Command) else ("help",)
        texts = {k: getattr(obj, k, None) for k in keys}
        ORIGINAL[id(obj)] = {k: inspect.cleandoc(v) if v else v for k, v in texts.items()}
    return ORIGINAL[id(obj)]


def short_help(text: str) -> str:
    """The first sentence of a translated help, as a command list shows it: without its
    parenthesis when that is too long, cut at SHORT_HELP cells."""
    first = text.partition("\n\n")[0].replace("\b", "").strip()
    for stop in ("。", ". "):
        if stop in first:
            first = first.split(stop, 1)[0] + stop.strip()
            break
    first = " ".join(first.split())
    if cells.cell_len(first) > SHORT_HELP:
        first = re.sub(r"\s*[（(][^（）()]*[）)]", "", first)
    return cells.cut(first, SHORT_HELP)


def localize(group: click.Command) -> None:
    """Every help text of `group`'s tree in the run's language; help pages by cells."""
    for cmd in commands(group):
        english = _english(cmd)
        cmd.context_class = CellContext
        cmd.help = i18n.gettext(english["help"]) if english["help"] else english["help"]
        if english["short_help"]:
            cmd.short_help = i18n.gettext(english["short_help"])
        elif i18n.language() != i18n.SOURCE_LANG and cmd.help:
            cmd.short_help = short_help(cmd.help)
        else:
            cmd.short_help = None
        for param in cmd.params:
            text = _english(param).get("help")
            if text and isinstance(param, click.Option):
                param.help = i18n.gettext(text)


def wrap_paragraphs(text: str, width: int, indent: str = "") -> list[str]:
    """click's paragraphs (blank-line separated; `\\b` first: kept as written), wrapped by
    cells."""
    out: list[str] = []
    for n, para in enumerate(text.expandtabs().split("\n\n")):
        lines = para.splitlines()
        if n:
            out.append("")
        if lines and lines[0].strip() == "\b":
            out.extend(indent + line for line in lines[1:])
            continue
        if not "".join(lines).strip():
            continue
        first = lines[0]
        extra = " " * (cells.cell_len(first) - cells.cell_len(first.lstrip()))
        out.extend(cells.wrap(" ".join(lines), width, indent + extra))
    return out


class CellFormatter(click.HelpFormatter):
    """click's help formatter, measuring and wrapping by terminal cells."""

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write("\n".join(wrap_paragraphs(text, self.width, indent)) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}:\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((cells.cell_len(a) for a, _ in rows), default=0), col_max)
        first_col += col_spacing
        pad = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if cells.cell_len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - cells.cell_len(first)))
            else:
                self.write("\n" + pad)
            lines = wrap_paragraphs(second, max(self.width - first_col - 2, 10))
            self.write((lines[0] if lines else "") + "\n")
            for line in lines[1:]:
                self.write(f"{pad}{line}\n" if line else "\n")


class CellContext(click.Context):
    formatter_class = CellFormatter
