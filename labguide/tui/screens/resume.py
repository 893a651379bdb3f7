"""Asks what to do when the lab does not look like the saved results: the checks that no
longer pass, then start over, or resume at the first of them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from labguide.resume import ResumeCheck

#: The reader's answers.
START_OVER = "start-over"
RESUME_AT_FAILING = "resume-at-failing"


class ResumeScreen(ModalScreen[str]):
    BINDINGS = [
        Binding("r,enter", f"answer('{RESUME_AT_FAILING}')", "Resume there",
                id="resume_at_failing"),
        Binding("o", f"answer('{START_OVER}')", "Start over", id="resume_start_over"),
        Binding("escape", f"answer('{RESUME_AT_FAILING}')", "Resume there", show=False),
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
            yield Static(Text("The lab does not look like the saved results", style="bold"))
            with VerticalScroll():
                for line in self.found.lines():
                    yield Static(Text(line, style="yellow"))
            yield Static(Text(f"The saved results say the run got to {self.found.resume_at}. "
                              "Was the lab rebuilt or changed since?"))
            yield Static(Text(f"r / enter: resume at {first} (the first check that fails)   "
                              "o: start over from the first step", style="bold"))

    def action_answer(self, choice: str) -> None:
        self.dismiss(choice)
