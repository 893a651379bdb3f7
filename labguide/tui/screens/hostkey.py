"""Asks whether to trust a host key seen for the first time: host, address, key type, its
SHA256 fingerprint and where to compare it; `yes` records it in the known_hosts that was
checked, `no` refuses the connection."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.transports.hostkey import HostKeyQuestion
from labguide.tui.words import Modal


class HostKeyScreen(Modal[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", N_("Trust it"), id="hostkey_yes"),
        Binding("n,escape", "answer(False)", N_("Refuse"), id="hostkey_no"),
    ]
    DEFAULT_CSS = """
    HostKeyScreen { align: center middle; }
    HostKeyScreen > Vertical { width: 90%; max-width: 110; height: auto;
        border: thick $warning; background: $surface; padding: 1 2; }
    HostKeyScreen #fingerprint { margin: 1 0; }
    """

    def __init__(self, question: HostKeyQuestion) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical():
            yield Static(Text(_("New host key: {host} ({address})").format(
                host=q.host, address=q.where), style="bold"))
            yield Static(Text(_("The authenticity of host '{host}' ({address}) can't be "
                                "established: {known_hosts} has no key for it.").format(
                host=q.host, address=q.where, known_hosts=q.known_hosts)))
            fp = Text(_("{type} key fingerprint is {fingerprint}").format(
                type=q.type_name, fingerprint=q.fingerprint))
            fp.highlight_words([q.fingerprint], style="bold")
            yield Static(fp, id="fingerprint")
            yield Static(Text(_(
                "Compare it on the host's own console: {command}\n(Proxmox: the VM's console "
                "in the web UI or `qm terminal VMID`; cloud-init also prints the new keys' "
                "fingerprints there at the first boot). A new clone has a new key; a key you "
                "did not expect can be someone else's host.").format(
                command=q.compare_command()), style="dim"))
            yield Static(Text(_("Trust this key and record it?  y: yes   n / escape: no"),
                              style="bold yellow"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
