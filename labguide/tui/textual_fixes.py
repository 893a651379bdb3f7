"""A fix for a memory leak in Textual, applied when the app module (tui/app.py) is imported.

Textual's `StylesCache.get_inner_outer` is an instance method under `functools.lru_cache(1024)`,
so the cache's keys hold `self`: every widget's `StylesCache`, with the rendered lines it
keeps, stays alive after the widget is gone until 1024 newer calls push it out (Textualize/
textual#6665, open at 8.2.8). The TUI replaces widgets all the time (the footer's keys, modal
screens; until issue 18 the step view's Markdown blocks on each step change), so RSS
climbed by ≈ 10 MiB before that cache was full: not flat in a soak. The colours it
computes depend only on the two colour arguments, so the fix caches on those alone.

`leaks()` says whether the installed Textual still has the bug, so the test notices when
upstream fixes it and this module can go.
"""

from __future__ import annotations

import functools

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@functools.lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color,
                     background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


_ORIGINAL = StylesCache.__dict__["get_inner_outer"]


def leaks() -> bool:
    """True if Textual's own get_inner_outer keeps its StylesCache alive."""
    return hasattr(_ORIGINAL, "cache_info")


def apply() -> None:
    if leaks():
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign, assignment]


apply()
