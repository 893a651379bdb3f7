"""Moving through the steps without running them, mixed into the app: next, back (also the
arrow keys), jump, a click in the step list, skip, and a shell on a lab host between steps.
The app holds the steps' state; this half only moves the current step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported
from textual.widgets import Tree

from labguide.errors import LabguideError
from labguide.events import StepFinished, StepStatus
from labguide.i18n import gettext as _
from labguide.shell_access import shell_command
from labguide.tui.screens.host_pick import HostPickScreen
from labguide.tui.widgets.picker import StepPicker
from labguide.tui.widgets.step_view import StepView
from labguide.tui.words import TextualWords

if TYPE_CHECKING:
    from labguide.engine import Engine
    from labguide.plan import Plan
    from labguide.tui.step_info import StepInfo


class NavActions(TextualWords):
    """The app's step-moving half (LabguideApp is built on it)."""

    engine: Engine
    plan: Plan
    infos: dict[str, StepInfo]
    current: str
    jump_panel: StepPicker

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
            self.notify(_("a step is running"), severity="warning")
            return
        self.engine.skip(self.current)
        self.infos[self.current].apply(
            StepFinished(self.current, StepStatus.SKIPPED, 0.0, _("skipped")))
        self.refresh_step(self.current)
        nxt = self.step_after(self.current)
        if nxt is not None:
            self.set_current(nxt)

    async def action_step_back(self) -> None:
        if self.jump_panel.is_open:
            self.jump_panel.move(-1)
            return
        if self.step_running:
            return
        prev = self.step_before(self.current)
        if prev is not None:
            self.set_current(prev)

    def action_next(self) -> None:
        if self.jump_panel.is_open:
            self.jump_panel.move(1)
            return
        if self.step_running:
            return
        nxt = self.step_after(self.current)
        if nxt is not None:
            self.set_current(nxt)

    def action_jump(self) -> None:
        """Open the step picker (or close it: `j` again)."""
        if self.jump_panel.is_open:
            self.jump_panel.close()
            return
        if self.step_running:
            self.notify(_("a step is running"), severity="warning")
            return
        self.jump_panel.open(self.infos, self.current)

    def on_step_view_picked(self, message: StepView.Picked) -> None:
        if not self.step_running:
            self.set_current(message.step_id)

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        """A click on a step in the list shows it (a section: its first step)."""
        data = event.node.data
        if self.step_running or data is None:
            return
        if data in self.infos:
            self.set_current(data)
            return
        first = next((b.id for b in self.plan.steps if b.step.section == data), None)
        if first is not None and self.plan.bound(self.current).step.section != data:
            self.set_current(first)

    # -- a shell on a lab host, between steps --------------------------------------------

    def action_shell(self) -> None:
        """A shell on the current step's host (a picker when it has several, or none of
        its own); the TUI steps aside until the shell ends and comes back as it was."""
        inv = self.plan.inventory
        if inv is None:
            self.notify(_("no inventory: no lab to open a shell on"), severity="warning")
            return
        ours = [h for h in self.plan.bound(self.current).step.hosts if h in inv.hosts]
        reachable = [h for h, host in inv.hosts.items() if host.transport != "proxmox"]
        if len(ours) == 1 and ours[0] in reachable:
            self.open_shell(ours[0])
            return

        def chosen(host: str | None) -> None:
            if host:
                self.open_shell(host)

        self.push_screen(HostPickScreen([h for h in ours if h in reachable]
                                        + [h for h in reachable if h not in ours], ours),
                         chosen)

    def open_shell(self, name: str) -> None:
        import subprocess

        assert self.plan.inventory is not None
        try:
            argv = shell_command(self.plan.inventory.host(name))
        except LabguideError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        try:
            with self.suspend():
                print(_("labguide: a shell on {host}; `exit` comes back to the chapter").format(
                    host=name), flush=True)
                code = subprocess.run(argv, check=False).returncode
        except SuspendNotSupported:
            self.notify(_("this terminal cannot hand over to a shell; run `labguide ssh "
                          "{host}` in another one").format(host=name), severity="warning",
                        timeout=8)
            return
        self.notify(_("back from the shell on {host} (exit status {code})").format(
            host=name, code=code), timeout=4)
