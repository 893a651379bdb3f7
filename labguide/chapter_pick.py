"""Which chapter a command means: a bundled name or a path, in the language asked for (or
the locale's), and what its --from/--to/--only/--limit chose. Shared by the commands and
their shell completion; no click here."""

from __future__ import annotations

import os

from labguide.chapter import find_chapter, load_chapter
from labguide.chapter_files import DEFAULT_LANG, locale_lang, split_name, translations
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.model import Chapter
from labguide.selection import Selection, split_names


def chapter_in_language(name_or_path: str, lang: str | None) -> Chapter:
    """The chapter in the language asked for (--lang: it must have it), else in the locale's
    if it has that translation, else the file named (English for a bundled name).

    A translation must have its English file's id: results and resume are kept by chapter
    id, so that a reader may switch languages and go on where they were."""
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
                _("this translation's id is {id!r} but its English chapter's ({file}) is "
                  "{english!r}: they must be the same, results are kept by chapter id").format(
                    id=chapter.id, file=base.name, english=english.id),
                Location(file=path, key="id"))
    return chapter


def english_section_ids(ch: Chapter) -> dict[str, str]:
    """In a translation: its English file's section ids → its own (a translated heading's
    id is not one to type); {} for an English chapter."""
    base = translations(ch.path).get(DEFAULT_LANG)
    if base is None or base.resolve() == ch.path.resolve():
        return {}
    english = load_chapter(base).sections
    if len(english) != len(ch.sections):
        return {}
    return {e.id: t.id for e, t in zip(english, ch.sections, strict=True) if e.id != t.id}


def selection(ch: Chapter, start: str | None, stop: str | None, only: tuple[str, ...],
              limit: tuple[str, ...]) -> Selection:
    """What --from/--to/--only/--limit chose (section ids of the English file too)."""
    aliases = english_section_ids(ch) if (start or stop or only) else {}
    return Selection(start, stop, split_names(only), split_names(limit), aliases)


def languages_of(chapter: Chapter) -> str:
    """'en, ja': the languages the chapter has."""
    return ", ".join(translations(chapter.path))
