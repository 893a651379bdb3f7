"""Shell completion of `labguide`'s arguments, through click's own mechanism (bash, zsh,
fish; see README.md): chapter names (and files), step and section ids of the chapter on the
command line, its hosts, the inventory's hosts, the chapter's languages, Textual's themes.

Each function is a click `shell_complete` callback. Completion must never break a shell:
anything that goes wrong (an unreadable chapter, no inventory) completes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import click
from click.shell_completion import CompletionItem

from labguide.i18n import gettext as _
from labguide.i18n import ngettext
from labguide.model import Chapter

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def quiet(fn: Completer) -> Completer:
    """A completer that completes nothing rather than fail."""
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, param: click.Parameter, incomplete: str
                ) -> list[CompletionItem]:
        try:
            return fn(ctx, param, incomplete)
        except Exception:  # completion never prints a traceback into the shell
            return []
    return wrapper


@quiet
def chapters(_ctx: click.Context, _param: click.Parameter, incomplete: str
             ) -> list[CompletionItem]:
    """Bundled chapter names; files too when what is typed looks like a path (or nothing
    bundled matches)."""
    from labguide.chapter import bundled_chapters
    from labguide.chapter_files import split_name

    names = sorted({split_name(p)[0] for p in bundled_chapters()})
    items = [CompletionItem(n, help=_("bundled chapter")) for n in names
             if n.startswith(incomplete)]
    if not items or "/" in incomplete or incomplete.startswith((".", "~")):
        items.append(CompletionItem(incomplete, type="file"))
    return items


def chapter_of(ctx: click.Context) -> Chapter | None:
    """The chapter named earlier on the command line (in its --lang), if it loads."""
    from labguide.chapter_pick import chapter_in_language

    name = ctx.params.get("chapter")
    if not isinstance(name, str) or not name:
        # click leaves the arguments unparsed when the line ends in an option that wants a
        # value (`run l4lb-ha --from <TAB>`): the chapter is the first word left
        name = next((a for a in ctx.args if not a.startswith("-")), None)
    if name is None:
        return None
    lang = ctx.params.get("lang")
    return chapter_in_language(name, lang if isinstance(lang, str) else None)


def _listed(incomplete: str, comma: bool) -> tuple[str, str]:
    """(what is already typed before the last name, the last name) of a comma list."""
    if not comma:
        return "", incomplete
    head, sep, last = incomplete.rpartition(",")
    return head + sep, last


def _steps_and_sections(ch: Chapter) -> list[tuple[str, str]]:
    """(id, help) of every section with steps and of each of its steps, in order."""
    from labguide.titles import step_title

    out: list[tuple[str, str]] = []
    for sec in ch.sections:
        if not sec.steps:
            continue
        out.append((sec.id, ngettext("section: {title} ({n} step)", "section: {title} ({n} steps)",
                                     len(sec.steps)).format(title=sec.title, n=len(sec.steps))))
        out.extend((step.id, step_title(step)) for step in sec.steps)
    return out


@quiet
def steps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Step and section ids of the chapter (--from, --to, --only; --only takes a list)."""
    ch = chapter_of(ctx)
    if ch is None:
        return []
    head, last = _listed(incomplete, param.name == "only")
    return [CompletionItem(head + sid, help=text)
            for sid, text in _steps_and_sections(ch) if sid.startswith(last)]


@quiet
def chapter_hosts(ctx: click.Context, _param: click.Parameter, incomplete: str
                  ) -> list[CompletionItem]:
    """The chapter's hosts (--limit, a comma list)."""
    ch = chapter_of(ctx)
    if ch is None:
        return []
    head, last = _listed(incomplete, True)
    return [CompletionItem(head + h) for h in ch.hosts if h.startswith(last)]


@quiet
def inventory_hosts(ctx: click.Context, _param: click.Parameter, incomplete: str
                    ) -> list[CompletionItem]:
    """The hosts of the inventory the command uses (`labguide ssh HOST`)."""
    from labguide.clicommon import default_inventory
    from labguide.inventory import load_inventory

    given = ctx.params.get("inventory_path")
    path = default_inventory(given if isinstance(given, str) else None)
    if path is None:
        return []
    inventory = load_inventory(path)
    return [CompletionItem(name, help=f"{host.transport} {host.address}")
            for name, host in inventory.hosts.items()
            if name.startswith(incomplete) and host.transport != "proxmox"]


@quiet
def languages(ctx: click.Context, _param: click.Parameter, incomplete: str
              ) -> list[CompletionItem]:
    """The languages of the chapter on the command line (else of the bundled ones)."""
    from labguide.chapter import bundled_chapters, find_chapter
    from labguide.chapter_files import translations

    name = ctx.params.get("chapter") or next(
        (a for a in ctx.args if not a.startswith("-")), None)
    paths = [find_chapter(name)] if isinstance(name, str) and name else bundled_chapters()
    langs = sorted({lang for p in paths for lang in translations(p)})
    return [CompletionItem(lang) for lang in langs if lang.startswith(incomplete)]


@quiet
def themes(_ctx: click.Context, _param: click.Parameter, incomplete: str
           ) -> list[CompletionItem]:
    """Textual's built-in themes (--theme)."""
    from textual.theme import BUILTIN_THEMES

    return [CompletionItem(t) for t in sorted(BUILTIN_THEMES) if t.startswith(incomplete)]
