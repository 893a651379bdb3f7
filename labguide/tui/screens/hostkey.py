"""Asks whether to trust a host key seen for the first time: host, address, key type, its
SHA256 fingerprint and where to compare it; `yes` records it in the known_hosts that was
checked, `no` refuses the connection."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from labguide.transports.hostkey import HostKeyQuestion


class HostKeyScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Trust it", id="hostkey_yes"),
        Binding("n,escape", "answer(False)", "Refuse", id="hostkey_no"),
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
            yield Static(Text(f"New host key: {q.host} ({q.where})", style="bold"))
            yield Static(Text(f"The authenticity of host '{q.host}' ({q.where}) can't be "
                              f"established: {q.known_hosts} has no key for it."))
            fp = Text()
            fp.append(f"{q.type_name} key fingerprint is ")
            fp.append(q.fingerprint, style="bold")
            yield Static(fp, id="fingerprint")
            yield Static(Text(f"Compare it on the host's own console: {q.compare_command()}\n"
                              "(Proxmox: the VM's console in the web UI or `qm terminal VMID`; "
                              "cloud-init also prints the new keys' fingerprints there at "
                              "the first boot). A new clone has a new key; a key you did not "
                              "expect can be someone else's host.", style="dim"))
            yield Static(Text("Trust this key and record it?  y: yes   n / escape: no",
                              style="bold yellow"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
