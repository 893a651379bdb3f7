"""TOML with located errors: parse a document (or a chapter's front matter) and find the
line of a key, so that every error names the file and line. Shared by chapters and
inventories; nothing here knows either."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _


def load_toml(text: str, path: Path, *, what: str = "", first_line: int = 1) -> dict[str, Any]:
    """Parse `text` (which starts at line `first_line` of `path`); a syntax error names its
    line, and "at end of document" the document's last line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        last = max(1, len(text.splitlines()))
        line = int(m.group(1)) if m else last
        message = (_("{what} is not valid TOML: {error}") if what
                   else _("not valid TOML: {error}")).format(what=what, error=exc)
        raise LabguideError(message, Location(file=path, line=line + first_line - 1)) from None


def line_of(text: str, pattern: str) -> int | None:
    """1-based line of the first line matching `pattern` (a regex), or None."""
    rx = re.compile(pattern)
    for n, line in enumerate(text.splitlines(), start=1):
        if rx.search(line):
            return n
    return None


def key_line(text: str, key: str, default: int = 1) -> int:
    """The line that sets `key` (`key = …`) or opens its table (`[key]`, `[a.key]`)."""
    k = re.escape(key)
    return line_of(text, rf"^\s*(?:{k}\s*=|\[\s*(?:[\w.-]+\.)?{k}\s*\])") or default


def toml_string(value: str) -> str:
    """`value` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{ord(ch):04X}"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
