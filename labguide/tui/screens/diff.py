"""Shows what a file step will change on each host (a unified diff) before it writes."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from labguide.plan import BoundStep


def render_diff(diffs: Mapping[str, list[str]]) -> Text:
    out = Text()
    for host, lines in diffs.items():
        out.append(f"{host}\n", style="bold black on cyan")
        if not lines:
            out.append("  (no change)\n", style="dim")
        for line in lines:
            style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                     else "cyan" if line.startswith("@@") else "")
            out.append(line + "\n", style=style)
    return out


class DiffScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Write", id="diff_yes"),
        Binding("n,escape", "answer(False)", "Don't write", id="diff_no"),
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
            yield Static(Text(f"{self.bound.id}: write {self.bound.shown_path}", style="bold"))
            with VerticalScroll():
                yield Static(render_diff(self.diffs))
            yield Static(Text("Write it?  y / enter: write   n / escape: don't",
                              style="bold yellow"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
