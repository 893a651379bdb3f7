"""Whether what labguide prints is coloured, by the usual conventions: `--color
auto|always|never` first; in `auto`, NO_COLOR (set and not empty: no colour, no-color.org),
then FORCE_COLOR (set and not empty: colour), then TERM=dumb (none), then whether the
stream is a terminal. And ANSI styles for writers that do not use click (the reports).
No click, no Textual here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

CHOICES = ("auto", "always", "never")
#: What --color's help says it reads.
ENV_VARS = ("NO_COLOR", "FORCE_COLOR")

SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
       "magenta": "35", "cyan": "36"}


def wanted(choice: str | None, stream: TextIO, environ: Mapping[str, str] | None = None
           ) -> bool:
    """Whether to colour what goes to `stream`."""
    env = os.environ if environ is None else environ
    if choice == "always":
        return True
    if choice == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def paint(text: str, *styles: str, on: bool = True) -> str:
    """`text` in ANSI styles ('red', 'bold' …) when `on`, else as it is."""
    codes = [SGR[s] for s in styles if s in SGR]
    if not on or not codes or not text:
        return text
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"
