"""The host picker for a shell: the current step's hosts first, then every other lab host."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.tui.words import Modal


class HostPickScreen(Modal[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", N_("Close"), id="host_pick_close")]
    DEFAULT_CSS = """
    HostPickScreen { align: center middle; }
    HostPickScreen > Vertical { width: 60; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; }
    HostPickScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, hosts: Sequence[str], of_step: Sequence[str]) -> None:
        super().__init__()
        self.hosts = list(hosts)
        self.of_step = set(of_step)

    def compose(self) -> ComposeResult:
        options = [Option(Text(h, style="bold" if h in self.of_step else ""), id=h)
                   for h in self.hosts]
        with Vertical():
            yield Static(Text(_("Open a shell on (enter: choose, escape: close)"), style="bold"))
            yield OptionList(*options, id="host-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
