"""Moving through the steps without running them, mixed into the app: next, back, jump,
skip. The app holds the steps' state; this half only moves the current step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from labguide.events import StepFinished, StepStatus
from labguide.tui.screens.jump import JumpScreen

if TYPE_CHECKING:
    from labguide.engine import Engine
    from labguide.plan import Plan
    from labguide.tui.step_info import StepInfo


class NavActions(App[int]):
    """The app's step-moving half (LabguideApp is built on it)."""

    engine: Engine
    plan: Plan
    infos: dict[str, StepInfo]
    current: str

    @property
    def step_running(self) -> bool:
        raise NotImplementedError  # the app's

    def set_current(self, step_id: str) -> None:
        raise NotImplementedError  # the app's

    def refresh_step(self, step_id: str) -> None:
        raise NotImplementedError  # the app's

    def step_after(self, step_id: str) -> str | None:
        n = self.plan.index(step_id)
        return self.plan.steps[n + 1].id if n + 1 < len(self.plan.steps) else None

    def step_before(self, step_id: str) -> str | None:
        n = self.plan.index(step_id)
        return self.plan.steps[n - 1].id if n > 0 else None

    def action_skip_step(self) -> None:
        if self.step_running:
            self.notify("a step is running", severity="warning")
            return
        self.engine.skip(self.current)
        self.infos[self.current].apply(
            StepFinished(self.current, StepStatus.SKIPPED, 0.0, "skipped"))
        self.refresh_step(self.current)
        nxt = self.step_after(self.current)
        if nxt is not None:
            self.set_current(nxt)

    async def action_step_back(self) -> None:
        if self.step_running:
            return
        prev = self.step_before(self.current)
        if prev is not None:
            self.set_current(prev)

    def action_next(self) -> None:
        if self.step_running:
            return
        nxt = self.step_after(self.current)
        if nxt is not None:
            self.set_current(nxt)

    def action_jump(self) -> None:
        if self.step_running:
            self.notify("a step is running", severity="warning")
            return

        def chosen(step_id: str | None) -> None:
            if step_id:
                self.set_current(step_id)

        self.push_screen(JumpScreen(self.plan, self.infos, self.current), chosen)

