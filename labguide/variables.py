"""What a chapter variable's value may hold, and how the front matter declares a variable.

A value goes into scripts (escaped), but also as is into files written with sudo (a
keepalived.conf) and into --check expectations: a newline there adds a line of its own
(say, `notify_master "…"`). So no value may hold a control character (C0, DEL, C1, the
Unicode line and paragraph separators), from any source, unless the chapter declares the
variable multi-line; then newlines and tabs may be in it, and NUL still never.

Front matter (TOML), both forms:

    [vars]
    VIP = "198.18.16.140"            # NAME = default

    [vars.CERT]                      # a table: default, and whether it may span lines
    default = ""
    multiline = true

Pure checks: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Allowed in a multi-line variable's value besides printable text.
MULTILINE_ALLOWED = "\n\t"
_NAMES = {0x00: "NUL", 0x09: "tab", 0x0A: "newline", 0x0D: "carriage return", 0x1B: "escape",
          0x7F: "DEL", 0x85: "next line", 0x2028: "line separator",
          0x2029: "paragraph separator"}
_VAR_KEYS = {"default", "multiline"}


def bad_character(value: str, multiline: bool = False) -> str | None:
    """Names the first character the value may not hold (and where), or None if it is fine."""
    for n, ch in enumerate(value):
        code = ord(ch)
        control = code < 0x20 or 0x7F <= code <= 0x9F or ch in "\u2028\u2029"
        if control and not (multiline and ch in MULTILINE_ALLOWED):
            return (f"a control character ({_NAMES.get(code, 'control')}, U+{code:04X}) "
                    f"at position {n + 1}")
    return None


def value_error(name: str, value: str, multiline: bool) -> str | None:
    """The message for a value that `name` may not hold, or None."""
    bad = bad_character(value, multiline)
    if bad is None:
        return None
    if multiline:
        return f"variable {name} holds {bad}: a multi-line variable may hold newlines and tabs"
    return (f"variable {name} holds {bad}: values are one line of text, unless the chapter "
            f"declares the variable multi-line ([vars.{name}] multiline = true)")


def chapter_vars(raw: Mapping[str, Any], path: Path,
                 line_of: Callable[[str], int]) -> tuple[dict[str, str], frozenset[str]]:
    """The front matter's [vars]: defaults by name, and the names declared multi-line."""
    defaults: dict[str, str] = {}
    multiline: set[str] = set()
    for name, spec in raw.items():
        table = isinstance(spec, dict)
        where = Location(file=path, line=line_of(f"vars.{name}" if table else name))
        if not VAR_NAME.match(name):
            raise LabguideError(_("bad variable name {name!r}").format(name=name), where)
        value, lines = spec, False
        if isinstance(spec, dict):
            unknown = set(spec) - _VAR_KEYS
            if unknown or "default" not in spec:
                raise LabguideError((
                    _("[vars.{name}] takes default (required) and multiline, not {keys}")
                    if unknown else _("[vars.{name}] takes default (required) and multiline")
                ).format(name=name, keys=", ".join(sorted(unknown))), where)
            value, lines = spec["default"], spec.get("multiline", False)
            if not isinstance(lines, bool):
                raise LabguideError(_("[vars.{name}] multiline must be true or false").format(
                    name=name), where)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise LabguideError(_("variable {name} must be a string or a number").format(
                name=name), where)
        problem = value_error(name, str(value), lines)
        if problem:
            raise LabguideError(_("the default of {problem}").format(problem=problem), where)
        defaults[name] = str(value)
        if lines:
            multiline.add(name)
    return defaults, frozenset(multiline)
