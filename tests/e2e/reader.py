"""A reader at the strict sandbox lab, as the chapter asks them to be: when labguide or the
client's ssh asks about a new host key, compare the fingerprint with the VM's own (read from
its disk, as one reads it on the console) and answer yes only when they match."""

from __future__ import annotations

import asyncio
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from labguide.engine import Engine
from labguide.events import Event, InputWanted, Output
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.transports.hostkey import HostKeyQuestion

FINGERPRINT = re.compile(r"key fingerprint is (SHA256:[A-Za-z0-9+/]+)")
KNOWN_IPS = {vm.ip: vm.vmid for vm in (*default_lab().vms, *default_lab().created)}


def console_fingerprint(paths: LabPaths, address: str) -> str:
    """What `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the VM's console."""
    rec = NspawnMachines(paths).record(KNOWN_IPS[address])
    assert rec is not None, address
    pub = Path(rec.root) / "etc/ssh/ssh_host_ed25519_key.pub"
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


@dataclass
class Reader:
    paths: LabPaths
    #: What was asked: ("labguide", host) for labguide's dialog, ("ssh", address) for OpenSSH's.
    asked: list[tuple[str, str]] = field(default_factory=list)
    _recent: list[str] = field(default_factory=list)

    async def host_key(self, question: HostKeyQuestion) -> bool:
        self.asked.append(("labguide", question.host))
        return question.fingerprint == console_fingerprint(self.paths, question.address)

    def attach(self, engine: Engine) -> None:
        engine.ask_host_keys(self.host_key)
        engine.answering = True
        engine.bus.subscribe(lambda event: self.heard(engine, event))

    def heard(self, engine: Engine, event: Event) -> None:
        if isinstance(event, Output):
            self._recent = [*self._recent[-20:], event.line]
        elif isinstance(event, InputWanted) and "continue connecting" in event.prompt:
            answer = self.ssh_answer()
            asyncio.get_running_loop().call_soon(engine.answer, event.step_id, event.host,
                                                 answer)

    def ssh_answer(self) -> str:
        """OpenSSH's question: the address and fingerprint are in the lines before it."""
        text = "\n".join(self._recent)
        host = re.findall(r"The authenticity of host '([^' ]+)", text)
        shown = FINGERPRINT.findall(text)
        assert host and shown, text
        self.asked.append(("ssh", host[-1]))
        return "yes" if shown[-1] == console_fingerprint(self.paths, host[-1]) else "no"
