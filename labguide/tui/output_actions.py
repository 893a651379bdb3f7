"""The output pane's keys, mixed into the app: one host's lines or all (`h`), a search typed
into the pane's border (`/`: the lines that hold it; enter keeps it, escape clears it), and
copying the current step's command to the clipboard (`c`, OSC 52: through SSH and tmux, to
the terminal the reader sits at)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import App

from labguide.i18n import gettext as _
from labguide.redact import MASK

if TYPE_CHECKING:
    from labguide.plan import Plan
    from labguide.tui.widgets.output import OutputPane

#: What still works while a search is typed (every other key goes into it).
WHILE_TYPING = frozenset({"cancel", "quit"})


class OutputActions(App[int]):
    """The app's output-pane half (LabguideApp is built on it)."""

    plan: Plan
    current: str
    output_pane: OutputPane

    def hosts_shown(self, step_id: str) -> None:
        """A step's output is shown: a host filter for a host it does not run on goes."""
        pane = self.output_pane
        if pane.host is not None and pane.host not in self.plan.bound(step_id).step.hosts:
            pane.host = None

    def action_next_host(self) -> None:
        """Every host's lines → the first host's → the next … → every host's again."""
        pane = self.output_pane
        hosts = list(self.plan.bound(self.current).step.hosts)
        if len(hosts) < 2 and pane.host is None:
            self.notify(_("{step} runs on {host} only").format(step=self.current, host=hosts[0]),
                        timeout=3)
            return
        at = hosts.index(pane.host) + 1 if pane.host in hosts else 0
        pane.host = hosts[at] if at < len(hosts) else None
        pane.refilter()

    def action_search(self) -> None:
        pane = self.output_pane
        pane.typing = True
        pane.say()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a search is typed, keys are letters of it, not actions."""
        if self.output_pane.typing and action not in WHILE_TYPING:
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        pane = self.output_pane
        if not pane.typing:
            return
        event.stop()
        event.prevent_default()
        if event.key == "enter":
            pane.typing = False
            pane.say()
        elif event.key == "backspace":
            pane.search = pane.search[:-1]
            pane.refilter()
        elif event.is_printable and event.character:
            pane.search += event.character
            pane.refilter()

    def end_search(self) -> bool:
        """Escape: a search being typed or kept is cleared (True), else nothing (False)."""
        pane = self.output_pane
        if not (pane.typing or pane.search):
            return False
        pane.typing = False
        pane.search = ""
        pane.refilter()
        return True

    def action_copy_command(self) -> None:
        """The current step's command (a file step: its content) to the clipboard, as
        shown: a secret value stays masked."""
        bound = self.plan.bound(self.current)
        self.copy_to_clipboard(bound.shown)
        masked = " (secret values masked)" if MASK in bound.shown else ""
        lines = bound.shown.count("\n") + (not bound.shown.endswith("\n"))
        what = "content" if bound.step.kind == "file" else "command"
        self.output_pane.flash(f"copied {self.current}'s {what} "
                               f"({lines} line{'s' if lines != 1 else ''}){masked}")
