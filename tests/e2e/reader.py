"""A reader at the strict sandbox lab, as the chapter asks them to be: when labguide or the
client's ssh asks about a new host key, compare the fingerprint with the VM's own (read from
its disk with `ssh-keygen`, as one reads it on the console) and answer yes only when they
match. The answering is `labguide test`'s own (authortest.ConsoleReader); the tests give it
their own way of reading the console, apart from labguide's."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from labguide.authortest import ConsoleReader
from labguide.sandbox.labfile import current_lab
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths


def console_fingerprint(paths: LabPaths, address: str) -> str:
    """What `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the VM's console
    (a VM of the lab that is up: l4lb-ha's, or another chapter's)."""
    lab = current_lab(paths)
    known = {vm.ip: vm.vmid for vm in (*lab.vms, *lab.created)}
    rec = NspawnMachines(paths).record(known[address])
    assert rec is not None, address
    pub = Path(rec.root) / "etc/ssh/ssh_host_ed25519_key.pub"
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def console_reader(paths: LabPaths) -> ConsoleReader:
    """A reader who answers yes only to the fingerprint on the VM's console; what it was
    asked and what it answered is in `.asked`: (who asked, address, yes?)."""
    return ConsoleReader(functools.partial(console_fingerprint, paths))
