"""The output of the current step, per host (each line prefixed by its host), streaming; shown
whole, or for one host (`h`), or only the lines that hold a search (`/`).

A Textual Log (cheap per line), written in batches by the app; never RichLog per line. The
filter and the search are said in the pane's border, not in widgets of their own: showing
or hiding a widget lays the screen out again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.markup import escape
from textual.timer import Timer
from textual.widgets import Log

from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _

HINT = N_("h host · / search · c copy")


class OutputPane(Log):
    can_focus = False
    DEFAULT_CSS = "OutputPane { height: 1fr; min-height: 4; padding: 0 1; }"

    def __init__(self, **kw: object) -> None:
        super().__init__(max_lines=2000, auto_scroll=True, **kw)  # type: ignore[arg-type]
        self.border_title = _("Output")
        self.border_subtitle = _(HINT)
        self.step_id: str | None = None
        self.source: Sequence[str] = ()
        #: Only this host's lines (None: every host's).
        self.host: str | None = None
        #: Only the lines holding this (case-insensitive; '' none); `typing`: being typed.
        self.search = ""
        self.typing = False
        self.shown = 0
        self._flash: Timer | None = None

    def keeps(self, line: str) -> bool:
        if self.host is not None and not line.startswith(f"{self.host} "):
            return False
        return not self.search or self.search.casefold() in line.casefold()

    def show(self, step_id: str, lines: Iterable[str]) -> None:
        """Another step's output (or the same one's, filtered anew)."""
        self.step_id = step_id
        self.source = lines if isinstance(lines, Sequence) else list(lines)
        kept = [line for line in self.source if self.keeps(line)]
        if kept or self.line_count:
            self.clear()
            self.write_lines(kept)
        self.shown = len(kept)
        self.say()

    def add(self, lines: list[str]) -> None:
        kept = [line for line in lines if self.keeps(line)] if (
            self.host or self.search) else lines
        if kept:
            self.write_lines(kept)
            self.shown += len(kept)
            if self.host or self.search:
                self.say()

    def refilter(self) -> None:
        if self.step_id is not None:
            self.show(self.step_id, self.source)

    def flash(self, text: str, seconds: float = 3.0) -> None:
        """A short word in the border (where the keys are named), gone after `seconds`: a
        notification would be a new widget, laid out."""
        self.border_subtitle = escape(text)
        if self._flash is not None:
            self._flash.stop()
        self._flash = self.set_timer(seconds, self.say)

    def say(self) -> None:
        """The border: what is shown, and the search being typed."""
        parts = [_("Output")]
        if self.host is not None:
            parts.append(_("host {host}").format(host=escape(self.host)))
        if self.search or self.typing:
            cursor = "▏" if self.typing else ""
            parts.append(f"/{escape(self.search)}{cursor} " + ngettext(
                "({count} line)", "({count} lines)", self.shown).format(count=self.shown))
        title = " · ".join(parts)
        if title != self.border_title:
            self.border_title = title
        hint = _("enter: keep · escape: clear") if self.typing else _(HINT)
        if self._flash is not None:
            self._flash.stop()
            self._flash = None
        if hint != self.border_subtitle:
            self.border_subtitle = hint
