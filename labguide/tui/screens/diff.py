"""Shows what a file step will change on each host (a unified diff) before it writes."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.tui.words import Modal


def render_diff(diffs: Mapping[str, list[str]]) -> Text:
    out = Text()
    for host, lines in diffs.items():
        out.append(f"{host}\n", style="bold black on cyan")
        if not lines:
            out.append(_("  (no change)") + "\n", style="dim")
        for line in lines:
            style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                     else "cyan" if line.startswith("@@") else "")
            out.append(line + "\n", style=style)
    return out


class DiffScreen(Modal[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", N_("Write"), id="diff_yes"),
        Binding("n,escape", "answer(False)", N_("Don't write"), id="diff_no"),
    ]
    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > Vertical { width: 90%; height: 90%; border: thick $accent;
        background: $surface; padding: 0 1; }
    DiffScreen VerticalScroll { height: 1fr; }
    """

    def __init__(self, bound: BoundStep, diffs: Mapping[str, list[str]]) -> None:
        super().__init__()
        self.bound = bound
        self.diffs = diffs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(_("{step}: write {path}").format(
                step=self.bound.id, path=self.bound.shown_path), style="bold"))
            with VerticalScroll():
                yield Static(render_diff(self.diffs))
            yield Static(Text(_("Write it?  y / enter: write   n / escape: don't"),
                              style="bold yellow"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
