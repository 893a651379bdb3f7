"""The output of the current step, per host (each line prefixed by its host), streaming.

A Textual Log (cheap per line), written in batches by the app; never RichLog per line."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

from labguide.i18n import gettext as _


class OutputPane(Log):
    can_focus = False
    DEFAULT_CSS = "OutputPane { height: 1fr; min-height: 4; padding: 0 1; }"

    def __init__(self, **kw: object) -> None:
        super().__init__(max_lines=2000, auto_scroll=True, **kw)  # type: ignore[arg-type]
        self.border_title = _("Output")
        self.step_id: str | None = None

    def show(self, step_id: str, lines: Iterable[str]) -> None:
        self.step_id = step_id
        self.clear()
        self.write_lines(list(lines))

    def add(self, lines: list[str]) -> None:
        if lines:
            self.write_lines(lines)
