"""labguide's message catalogs (babel): extract every text of the interface, bring the `.po`
files up to date, check them, compile them.

    .venv/bin/python scripts/i18n.py update     # new texts into each .po (empty msgstr)
    .venv/bin/python scripts/i18n.py check      # every text translated, placeholders kept
    .venv/bin/python scripts/i18n.py compile    # .po -> .mo beside it (setup.py does this
                                                # at build/install time too)
    .venv/bin/python scripts/i18n.py fill OTHER.po  # empty msgstrs from another version of
                                                # the same language's .po (after a merge:
                                                # take one side, `update`, then `fill` from
                                                # the other side: `git show BRANCH:… > x.po`)

What is extracted: the texts labguide marks in its code (`_()`, `gettext`, `ngettext`,
`N_`), the help of every command and option of the command line (read from click's command
tree, so no help text needs a marker), and click's own messages (read from the installed
click, so an upgrade that adds one shows up as untranslated in `check`).
Babel is a build and test dependency, never a runtime one.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labguide"
LOCALE = PACKAGE / "locale"
DOMAIN = "labguide"
#: click's modules whose messages reach a labguide user (not the Windows console's).
CLICK_MODULES = ("core.py", "exceptions.py", "parser.py", "types.py", "formatting.py",
                 "decorators.py", "termui.py", "utils.py", "shell_completion.py")
FIELD = re.compile(r"\{[^{}]*\}|%\(\w+\)[sdr]|%[sdr]")


def po_files() -> list[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def code_messages() -> Iterator[tuple[str | tuple[str, str], str, int]]:
    """(message, file, line) of every marked text in labguide's code."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
            PACKAGE, keywords=DEFAULT_KEYWORDS, comment_tags=("TRANSLATORS:",)):
        yield message, f"labguide/{filename}", lineno


def help_messages() -> Iterator[tuple[str, str, int]]:
    """Every command's and option's help in labguide's command line (click's tree)."""
    sys.path.insert(0, str(ROOT))
    from labguide.cli import full_cli
    from labguide.cli_text import help_texts

    for text, func in help_texts(full_cli()):
        try:
            func = inspect.unwrap(func) if func is not None else func
            where = Path(inspect.getsourcefile(func) or "").resolve()  # type: ignore[arg-type]
            line = inspect.getsourcelines(func)[1]  # type: ignore[arg-type]
        except (OSError, TypeError):
            where, line = ROOT / "labguide/cli.py", 0
        yield text, str(where.relative_to(ROOT)) if where.is_relative_to(ROOT) else \
            f"click/{where.name}", line


def click_messages() -> Iterator[tuple[str | tuple[str, str], str, int]]:
    """click's own messages (usage errors, help headings), from the installed click."""
    import click

    folder = Path(click.__file__).parent
    for filename, lineno, message, _comments, _context in extract_from_dir(
            folder, keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
            directory_filter=lambda _d: True):
        if Path(filename).name in CLICK_MODULES:
            yield message, f"click/{filename}", lineno


def template() -> Catalog:
    catalog = Catalog(project="labguide", domain=DOMAIN, charset="utf-8")
    for source in (code_messages(), help_messages(), click_messages()):
        for message, where, line in source:
            msgid = message if isinstance(message, str) else message
            if not msgid or (isinstance(msgid, str) and not msgid.strip()):
                continue
            old = catalog.get(msgid)
            if old is not None:
                old.locations.append((where, line))
            else:
                catalog.add(msgid, locations=[(where, line)],
                            flags=("python-brace-format",) if isinstance(msgid, str)
                            and "{" in msgid else ())
    return catalog


def update() -> None:
    tmpl = template()
    for po in po_files():
        with po.open("rb") as f:
            catalog = read_po(f)
        catalog.update(tmpl, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()  # git keeps the history; the file keeps what is used
        with po.open("wb") as f:
            write_po(f, catalog, width=100, sort_by_file=False, include_previous=False)
        print(f"{po.relative_to(ROOT)}: {len(catalog)} messages, "
              f"{len(problems(catalog))} to translate or fix")


def fields(text: str) -> list[str]:
    return sorted(FIELD.findall(text))


def problems(catalog: Catalog) -> list[str]:
    """Every message without a translation, fuzzy, or whose placeholders differ."""
    out = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, (list, tuple)) else (m.id,)
        strs = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        where = ", ".join(f"{f}:{n}" for f, n in m.locations[:2])
        if not all(strs) or m.fuzzy:
            out.append(f"untranslated{' (fuzzy)' if m.fuzzy else ''}: {ids[0]!r} ({where})")
            continue
        for s in strs:
            if fields(s) != fields(ids[-1]) and fields(s) != fields(ids[0]):
                out.append(f"placeholders differ: {ids[0]!r} → {s!r} ({where})")
    return out


def check() -> int:
    tmpl = template()
    bad = 0
    for po in po_files():
        with po.open("rb") as f:
            catalog = read_po(f)
        missing = [m.id for m in tmpl if m.id and catalog.get(m.id) is None]
        found = problems(catalog) + [f"not in the catalog: {mid!r}" for mid in missing]
        for line in found:
            print(f"{po.relative_to(ROOT)}: {line}")
        bad += len(found)
    return 1 if bad else 0


def compile_catalogs(out_root: Path = LOCALE) -> list[Path]:
    """Each .po as a .mo under `out_root` (same LANG/LC_MESSAGES layout), as setup.py's
    build step does."""
    sys.path.insert(0, str(ROOT))
    from setup import compile_catalogs as compile_all

    return compile_all(LOCALE, out_root)


def fill(other: Path) -> int:
    """Empty translations of the same language's .po filled from `other`; how many."""
    with other.open("rb") as f:
        theirs = read_po(f)
    lang = str(theirs.locale) if theirs.locale else ""
    filled = 0
    for po in po_files():
        if lang and po.parent.parent.name != lang:
            continue
        with po.open("rb") as f:
            ours = read_po(f)
        for message in ours:
            found = theirs.get(message.id) if message.id else None
            empty = not message.string or (isinstance(message.string, tuple)
                                           and not all(message.string))
            if found is not None and empty and found.string:
                message.string = found.string
                filled += 1
        with po.open("wb") as f:
            write_po(f, ours, width=100, sort_by_file=False, include_previous=False)
    return filled


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "fill" and len(argv) == 2:
        print(f"{fill(Path(argv[1]))} translations filled")
        return 0
    if command == "update":
        update()
        return 0
    if command == "check":
        return check()
    if command == "compile":
        for mo in compile_catalogs():
            print(mo.relative_to(ROOT))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
