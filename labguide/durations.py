"""The one duration grammar of labguide, for chapter attributes and command-line options.

`30`, `2.5`, `500ms`, `30s`, `2m`, `1m30s`, `1h`: a plain number is seconds; units go from
the largest to the smallest, each once. Never negative, never inf or nan. Pure.
"""

from __future__ import annotations

import math
import re

from labguide.i18n import gettext as _

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(rf"^{_NUMBER}$")
_PART = re.compile(rf"({_NUMBER})(ms|h|m|s)")
#: Longer than any lab step or load test could sensibly run (about 115 days).
MAXIMUM = 1e7


class DurationError(ValueError):
    """Not a duration; the message says what is accepted."""


def parse_duration(text: str, *, minimum: float = 0.0) -> float:
    """Seconds of `text`. Raises DurationError for anything else (negative, inf, nan, 1x)."""
    value = text.strip()
    if _PLAIN.match(value):
        seconds = float(value)
    else:
        seconds, pos, order = 0.0, 0, list(UNITS)
        last = -1
        for m in _PART.finditer(value):
            rank = order.index(m.group(2))
            if m.start() != pos or rank <= last:
                break
            seconds += float(m.group(1)) * UNITS[m.group(2)]
            pos, last = m.end(), rank
        if pos != len(value) or not value:
            raise DurationError(_("{text!r} is not a duration (e.g. 30, 30s, 500ms, 2m, 1m30s)"
                                  ).format(text=text))
    if not math.isfinite(seconds) or seconds > MAXIMUM:
        raise DurationError(_("{text!r} is out of range").format(text=text))
    if seconds < minimum:
        raise DurationError(_("{text!r} is below the minimum of {minimum} s").format(
            text=text, minimum=f"{minimum:g}"))
    return seconds
