"""Chapter files and their languages: `NAME.md` (English) and `NAME.LANG.md` (a translation).

Which files a chapter has, which one to use (`--lang`, else the locale, else English), and
the bundled chapters' folder. Names and paths only: parsing a chapter is chapter.py's, and
nothing here reads a chapter's content.
"""

from __future__ import annotations

from pathlib import Path

from labguide.errors import LabguideError, Location
from labguide.i18n import LANG_CODE, LOCALE_VARS, locale_lang
from labguide.i18n import gettext as _

__all__ = ["DEFAULT_LANG", "LANG_CODE", "LOCALE_VARS", "bundled_folder_files", "locale_lang",
           "one_per_chapter", "pick_translation", "split_name", "translations"]

#: The language of `NAME.md`.
DEFAULT_LANG = "en"


def split_name(path: Path) -> tuple[str, str]:
    """(chapter name, language) of a chapter file: `l4lb-ha.ja.md` → ('l4lb-ha', 'ja'),
    `l4lb-ha.md` → ('l4lb-ha', 'en')."""
    stem = path.name[:-3] if path.name.endswith(".md") else path.stem
    base, dot, lang = stem.rpartition(".")
    if dot and base and LANG_CODE.match(lang):
        return base, lang
    return stem, DEFAULT_LANG


def translations(path: Path) -> dict[str, Path]:
    """Every language of the chapter that `path` is a file of, found beside it: {lang: file},
    English first, then the others by code."""
    name, own = split_name(path)
    folder = path.parent
    found: dict[str, Path] = {}
    base = folder / f"{name}.md"
    if base.is_file():
        found[DEFAULT_LANG] = base
    others: dict[str, Path] = {}
    if folder.is_dir():
        for entry in folder.iterdir():
            if not (entry.name.startswith(f"{name}.") and entry.name.endswith(".md")):
                continue
            n, lang = split_name(entry)
            if n == name and lang != DEFAULT_LANG and entry.is_file():
                others[lang] = entry
    if own not in found and own not in others and path.is_file():
        others[own] = path
    found.update(sorted(others.items()))
    return found


def pick_translation(path: Path, lang: str, *, fallback: bool = False) -> Path:
    """The file of `path`'s chapter in `lang`. A language it does not have is an error that
    lists the ones it has, unless `fallback`: then English (or, without English, `path`)."""
    langs = translations(path)
    if lang in langs:
        return langs[lang]
    if fallback:
        return langs.get(DEFAULT_LANG, path)
    name = split_name(path)[0]
    have = ", ".join(langs) or _("(none)")
    raise LabguideError(_("chapter {name} has no translation {lang!r}; it has: {langs}").format(
        name=name, lang=lang, langs=have), Location(file=path))


def bundled_folder_files() -> list[Path]:
    """Every `.md` file in the bundled chapters' folder (labguide.chapters)."""
    from importlib import resources

    root = resources.files("labguide.chapters")
    return sorted(Path(str(entry)) for entry in root.iterdir()
                  if entry.name.endswith(".md") and entry.is_file())


def one_per_chapter(files: list[Path]) -> list[Path]:
    """One file per chapter name: the English one, else the first translation."""
    chosen: dict[str, Path] = {}
    for path in sorted(files, key=lambda p: (split_name(p)[1] != DEFAULT_LANG, p.name)):
        chosen.setdefault(split_name(path)[0], path)
    return [chosen[name] for name in sorted(chosen)]
