"""Durations as the TUI's panes show them (the clock format is labguide.clock's). Pure."""

from __future__ import annotations

from labguide.i18n import gettext as _


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    return _("{minutes}m{seconds:02d}s").format(minutes=m, seconds=s)
