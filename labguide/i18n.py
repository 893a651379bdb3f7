"""labguide's own words in the reader's language: one choice per run (`--lang`, else the
locale, else English) and the gettext catalogs that carry the translations
(`labguide/locale/LANG/LC_MESSAGES/labguide.mo`, compiled from the `.po` beside it when the
package is built or installed, see setup.py).

Words only: nothing here knows a chapter, a widget or click. Modules import
`gettext as _` (and `ngettext`, `N_`); `N_` marks a text kept in a table to be translated
where it is shown. The chapter's own text is not translated here: it comes in its language's
file (chapter_files.py).
"""

from __future__ import annotations

import contextlib
import gettext as stdgettext
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

DOMAIN = "labguide"
#: The language of labguide's source text (msgids).
SOURCE_LANG = "en"
LOCALE_DIR = Path(__file__).with_name("locale")
#: A language code: ISO 639-1/-2 letters (`ja`, `de`, `fil`).
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
#: Where the locale is read from, first set one wins (as for LC_MESSAGES in POSIX).
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


class Catalog:
    """The active language and its translations (process-wide: one language per run)."""

    def __init__(self) -> None:
        self.lang = SOURCE_LANG
        self.translations: stdgettext.NullTranslations = stdgettext.NullTranslations()


ACTIVE = Catalog()


def gettext(message: str) -> str:
    """`message` in the run's language (the message itself when it has no translation)."""
    return ACTIVE.translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` things in the run's language."""
    return ACTIVE.translations.ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "translated where shown")
    """Marks a text for the catalog without translating it (tables built at import)."""
    return message


def language() -> str:
    """The interface's language now ('en' unless a catalog for the chosen one was found)."""
    return ACTIVE.lang


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def languages() -> list[str]:
    """Every language the interface speaks: English, then each compiled catalog's."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return [SOURCE_LANG, *(lang for lang in found if lang != SOURCE_LANG)]


def use(lang: str | None) -> str:
    """Speak `lang` from now on (None or a language without a catalog: English). Returns the
    language the interface now speaks."""
    code = normalise(lang) if lang else None
    if code is None or code == SOURCE_LANG or not catalog_path(code).is_file():
        ACTIVE.lang, ACTIVE.translations = SOURCE_LANG, stdgettext.NullTranslations()
        return ACTIVE.lang
    with catalog_path(code).open("rb") as f:
        ACTIVE.translations = stdgettext.GNUTranslations(f)
    ACTIVE.lang = code
    return code


@contextlib.contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """`use(lang)` for a while, then the language before (tests, one report in another)."""
    before = ACTIVE.lang, ACTIVE.translations
    try:
        yield use(lang)
    finally:
        ACTIVE.lang, ACTIVE.translations = before


def normalise(value: str) -> str | None:
    """A language code from `ja`, `JA`, `ja_JP.UTF-8` or `ja-JP`; None for C, POSIX and what
    is no language code."""
    code = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
    if code in ("c", "posix") or not LANG_CODE.match(code):
        return None
    return code


def locale_lang(environ: Mapping[str, str]) -> str | None:
    """The language the locale asks for (`ja_JP.UTF-8` → 'ja'), or None (unset, C, POSIX)."""
    for var in LOCALE_VARS:
        value = environ.get(var, "")
        if value:
            return normalise(value)
    return None


def chosen(option: str | None, environ: Mapping[str, str]) -> str | None:
    """The run's language as asked: `--lang` (any spelling of a code), else the locale's;
    None when neither says (English)."""
    if option is not None:
        return normalise(option) or option.lower()
    return locale_lang(environ)
