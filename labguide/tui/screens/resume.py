"""Asks what to do when the lab does not look like the saved results: the checks that no
longer pass, then start over, or resume at the first of them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.resume import ResumeCheck
from labguide.tui.words import Modal

#: The reader's answers.
START_OVER = "start-over"
RESUME_AT_FAILING = "resume-at-failing"


class ResumeScreen(Modal[str]):
    BINDINGS = [
        Binding("r,enter", f"answer('{RESUME_AT_FAILING}')", N_("Resume there"),
                id="resume_at_failing"),
        Binding("o", f"answer('{START_OVER}')", N_("Start over"), id="resume_start_over"),
        Binding("escape", f"answer('{RESUME_AT_FAILING}')", N_("Resume there"), show=False),
    ]
    DEFAULT_CSS = """
    ResumeScreen { align: center middle; }
    ResumeScreen > Vertical { width: 80%; max-width: 110; height: auto; max-height: 80%;
        border: thick $warning; background: $surface; padding: 1 2; }
    ResumeScreen VerticalScroll { height: auto; max-height: 14; }
    """

    def __init__(self, found: ResumeCheck) -> None:
        super().__init__()
        self.found = found

    def compose(self) -> ComposeResult:
        first = self.found.first_failing
        with Vertical():
            yield Static(Text(_("The lab does not look like the saved results"), style="bold"))
            with VerticalScroll():
                for line in self.found.lines():
                    yield Static(Text(line, style="yellow"))
            yield Static(Text(_("The saved results say the run got to {step}. Was the lab "
                                "rebuilt or changed since?").format(step=self.found.resume_at)))
            yield Static(Text(_("r / enter: resume at {step} (the first check that fails)   "
                                "o: start over from the first step").format(step=first),
                              style="bold"))

    def action_answer(self, choice: str) -> None:
        self.dismiss(choice)
