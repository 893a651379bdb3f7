"""The one wall-clock format of labguide's panes, reports and logs: HH:MM:SS.mmm, local time.

Milliseconds are truncated, never rounded: an event at .9996 s belongs to that second, so
a line never shows a time later than the moment it describes (a thousandth of a
millisecond of slack absorbs binary floats: 0.123 is stored as 0.12299999…). Pure.
"""

from __future__ import annotations

import math
import time

#: Slack for binary floats, in milliseconds.
_SLACK = 1e-3


def _ms(t: float) -> int:
    return math.floor(t * 1000 + _SLACK)


def clock_ms(t: float) -> str:
    """HH:MM:SS.mmm of an epoch time, in local time (tests set TZ for stable snapshots)."""
    ms_total = _ms(t)
    lt = time.localtime(ms_total // 1000)
    return f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms_total % 1000:03d}"


def stamp_ms(t: float) -> str:
    """YYYY-MM-DD HH:MM:SS.mmm of an epoch time, in local time."""
    return time.strftime("%Y-%m-%d ", time.localtime(_ms(t) // 1000)) + clock_ms(t)
