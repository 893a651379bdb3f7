"""The step picker: every step with its state, title, id and section; choosing one makes it
the current step."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from labguide.plan import Plan
from labguide.titles import bound_title
from labguide.tui.step_info import MARKS, StepInfo


class JumpScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="jump_close")]
    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical { width: 80%; height: 85%; border: thick $accent;
        background: $surface; }
    JumpScreen OptionList { height: 1fr; }
    """

    def __init__(self, plan: Plan, infos: Mapping[str, StepInfo], current: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.infos = infos
        self.current = current

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        for bound in self.plan.steps:
            mark, style = MARKS[self.infos[bound.id].status]
            section = self.plan.chapter.section_of(bound.id).title
            label = Text()
            label.append(f"{mark} ", style=style)
            label.append(bound_title(bound), style="bold")
            label.append(f"  {bound.id} · {section}", style="dim")
            options.append(Option(label, id=bound.id))
        with Vertical():
            yield Static(Text("Jump to a step (enter: choose, escape: close)", style="bold"))
            yield OptionList(*options, id="jump-list")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.current is not None:
            ol.highlighted = self.plan.index(self.current)
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
