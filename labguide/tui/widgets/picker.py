"""The step picker (`j`): every step with its state, title, id and section, drawn by the
step view in its own place, with a highlight the arrow keys move; enter (or a click) makes
the highlighted step the current one.

Not a modal screen nor a layer: switching screens made Textual apply the style sheet to the
screen below again and repaint all of it (0.3–0.5 s at 160×50 on a busy machine, for `j`
and again for Escape), and showing a layer lays the screen out again and repaints what it
uncovers when it goes (50–150 ms). Lines in a pane that is already there cost what a step
change costs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.strip import Strip

from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.plan import Plan
from labguide.titles import bound_title
from labguide.tui.step_info import MARKS, StepInfo
from labguide.tui.step_texts import render_strips

TITLE = N_("Jump to a step · ↑↓ move · enter choose · escape close")


class PickerView(Protocol):
    """Where the picker is drawn (the step view)."""

    @property
    def app(self) -> App[int]: ...
    @property
    def text_width(self) -> int: ...
    @property
    def rich_style(self) -> Style: ...
    def show_picker(self, picker: StepPicker) -> None: ...
    def hide_picker(self) -> None: ...
    def picker_moved(self, line: int, middle: bool = False) -> None: ...


class StepPicker:
    def __init__(self, plan: Plan, view: PickerView) -> None:
        self.plan = plan
        self.view = view
        self.is_open = False
        self.highlighted = 0
        self.statuses: dict[str, StepStatus] = {}
        self.lines: list[Strip] = []
        #: The width and colours the lines were drawn for (a resize or a theme: anew).
        self.drawn_for: tuple[int, Style] = (0, Style())

    def prompt(self, step_id: str) -> Text:
        bound = self.plan.bound(step_id)
        mark, style = MARKS[self.statuses.get(step_id, StepStatus.PENDING)]
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(f"{mark} ", style=style)
        label.append(bound_title(bound), style="bold")
        label.append(f"  {bound.id} · {self.plan.chapter.section_of(bound.id).title}",
                     style="dim")
        return label

    def line(self, n: int) -> Strip:
        text = self.prompt(self.plan.steps[n].id)
        if n == self.highlighted:
            text.stylize("reverse")
        view = self.view
        return render_strips(view.app.console, text, view.text_width, view.rich_style)[0]

    def render(self) -> None:
        self.lines = [self.line(n) for n in range(len(self.plan.steps))]
        self.drawn_for = (self.view.text_width, self.view.rich_style)

    def open(self, infos: Mapping[str, StepInfo], current: str | None) -> None:
        """Show the picker in the step view, the current step highlighted; the lines drawn
        last time are kept, but those of steps whose state changed and of the highlight."""
        statuses = {b.id: infos[b.id].status for b in self.plan.steps}
        old, self.highlighted = self.highlighted, self.plan.index(current) if current else 0
        if not self.lines or self.drawn_for != (self.view.text_width, self.view.rich_style):
            self.statuses = statuses
            self.render()
        else:
            changed = {n for n, b in enumerate(self.plan.steps)
                       if statuses[b.id] != self.statuses.get(b.id)}
            self.statuses = statuses
            for n in changed | {old, self.highlighted}:
                self.lines[n] = self.line(n)
        self.is_open = True
        self.view.show_picker(self)

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self.view.hide_picker()

    def move(self, by: int) -> None:
        """The highlight up (-1) or down (+1) a step; only those two lines are drawn anew."""
        old = self.highlighted
        self.highlighted = max(0, min(len(self.plan.steps) - 1, old + by))
        if self.highlighted != old:
            self.lines[old] = self.line(old)
            self.lines[self.highlighted] = self.line(self.highlighted)
            self.view.picker_moved(self.highlighted)

    def pick(self, n: int) -> str | None:
        """Close the picker on step number `n` (None: not a step); its id."""
        if not 0 <= n < len(self.plan.steps):
            return None
        self.highlighted = n
        self.close()
        return self.plan.steps[n].id

    def choose(self) -> str | None:
        return self.pick(self.highlighted)
