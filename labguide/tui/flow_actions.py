"""Running steps from the TUI, mixed into the app: run (enter, or the step picker's
choice), retry, the rest of a section; a disruptive step asks first, a file step shows its
diff first. The engine runs the steps; this half only starts them and moves along."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker

from labguide.errors import LabguideError
from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.tui.nav_actions import NavActions
from labguide.tui.screens.confirm import ConfirmScreen
from labguide.tui.screens.diff import DiffScreen

if TYPE_CHECKING:
    from labguide.plan import BoundStep

STOPPED = (StepStatus.FAILED, StepStatus.CANCELLED)


class FlowActions(NavActions):
    """The app's step-running half (LabguideApp is built on it)."""

    def key_for(self, binding_id: str) -> str:
        raise NotImplementedError  # the app's

    def start_steps(self, ids: list[str]) -> Worker[None] | None:
        if self.step_running:
            self.notify(_("a step is running: cancel it first ({key})").format(
                key=self.key_for("cancel")), severity="warning")
            return None
        return self.run_worker(self._run_steps(ids), group="step", exclusive=True,
                               exit_on_error=False,
                               description=_("run {steps}").format(steps=", ".join(ids[:3])))

    async def confirm(self, bound: BoundStep) -> bool:
        """Ask before disruptive steps; show the diff before file steps. False: don't run."""
        if bound.step.disruptive and not await self.push_screen_wait(ConfirmScreen(bound)):
            return False
        try:
            diffs = await self.engine.preview(bound.id)
        except LabguideError as exc:
            self.notify(_("cannot read what {step} changes: {error}").format(
                step=bound.id, error=exc), severity="error", timeout=10)
            return False
        if any(diffs.values()) and not await self.push_screen_wait(DiffScreen(bound, diffs)):
            return False
        return True

    async def _run_steps(self, ids: list[str]) -> None:
        for step_id in ids:
            self.set_current(step_id)
            bound = self.plan.bound(step_id)
            await self.wait_other_sections(bound)
            if not await self.confirm(bound):
                self.notify(_("{step} was not run").format(step=step_id), timeout=4)
                return
            rec = await self.engine.run_step(step_id)
            if rec.status in STOPPED:
                return
            nxt = self.step_after(step_id)
            if nxt is not None:
                self.set_current(nxt)

    async def wait_other_sections(self, bound: BoundStep) -> None:
        """Background load steps of an earlier section end before this one starts (as in
        the plain runner)."""
        others = self.engine.background_elsewhere(bound.id)
        if others:
            self.notify(_("waiting for {steps} to finish first").format(
                steps=", ".join(others)), timeout=5)
            await self.engine.wait_background()

    def action_run_step(self) -> None:
        if self.jump_panel.is_open:  # enter in the step picker: that step
            chosen = self.jump_panel.choose()
            if chosen is not None and not self.step_running:
                self.set_current(chosen)
            return
        self.start_steps([self.current])

    def action_retry_step(self) -> None:
        if self.infos[self.current].status not in (*STOPPED, StepStatus.WARNED):
            self.notify(_("{step} has not failed: {key} runs it").format(
                step=self.current, key=self.key_for("run_step")), severity="warning")
            return
        self.start_steps([self.current])

    def action_run_section(self) -> None:
        section = self.plan.bound(self.current).step.section
        start = self.plan.index(self.current)
        ids = [b.id for b in self.plan.steps[start:] if b.step.section == section]
        self.start_steps(ids)
