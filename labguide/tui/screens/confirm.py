"""Asks before a disruptive step (stop, reboot, maintenance) runs: shows what will run where."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.tui.widgets.step_view import badges
from labguide.tui.words import Modal


class ConfirmScreen(Modal[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", N_("Run it"), id="confirm_yes"),
        Binding("n,escape", "answer(False)", N_("Don't"), id="confirm_no"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: thick $warning; background: $surface; padding: 1 2; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 16; }
    """

    def __init__(self, bound: BoundStep, question: str | None = None) -> None:
        super().__init__()
        self.bound = bound
        self.question = question

    def compose(self) -> ComposeResult:
        step = self.bound.step
        what = (_("{step} reboots its host") if step.kind == "reboot"
                else _("{step} disrupts the lab"))
        with Vertical():
            yield Static(Text(what.format(step=self.bound.id), style="bold"))
            yield Static(badges(self.bound))
            with VerticalScroll():
                yield Static(Syntax(self.bound.shown.rstrip("\n"), "bash",
                                    theme="ansi_dark", word_wrap=True))
            yield Static(Text(self.question or _("Run it now?  y / enter: yes   n / escape: no"),
                              style="bold yellow"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
