"""Time formatting for the TUI's panes (local wall clock, millisecond precision). Pure."""

from __future__ import annotations

import time


def clock_ms(t: float) -> str:
    """HH:MM:SS.mmm of an epoch time, in local time (tests set TZ for stable snapshots)."""
    ms_total = round(t * 1000)
    lt = time.localtime(ms_total // 1000)
    return f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms_total % 1000:03d}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"
