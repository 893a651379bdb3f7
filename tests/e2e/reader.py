"""A reader at the strict sandbox lab, as the chapter asks them to be: when labguide or the
client's ssh asks about a new host key, compare the fingerprint with the one the VM printed
on its console at its first boot (read with `labguide lab console VM`, as a reader of a
Proxmox lab reads the VM's console in the web UI) and answer yes only when they match. The
answering is `labguide test`'s own (authortest.ConsoleReader); the tests read the console
through the command a reader types and find the fingerprint with their own parsing, apart
from labguide's."""

from __future__ import annotations

import functools
import subprocess
import sys

from labguide.authortest import ConsoleReader
from labguide.sandbox.labfile import current_lab
from labguide.sandbox.paths import LabPaths

BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
END = "-----END SSH HOST KEY FINGERPRINTS-----"


def console_fingerprint(paths: LabPaths, address: str) -> str:
    """The ED25519 `SHA256:…` between cloud-init's lines on the console of the VM at
    `address` (a VM of the lab that is up: l4lb-ha's, or another chapter's)."""
    lab = current_lab(paths)
    name = {vm.ip: vm.name for vm in (*lab.vms, *lab.created)}[address]
    shown = subprocess.run([sys.executable, "-m", "labguide", "lab", "console", name],
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert BEGIN in shown, f"{name}'s console shows no fingerprints:\n{shown[-2000:]}"
    block = shown.rsplit(BEGIN, 1)[1].split(END, 1)[0]
    # "[  3.2] sh[34]: 256 SHA256:… root@l4lb-2 (ED25519)": the console's prefix, then ssh-keygen's
    return next(word for line in block.splitlines() if line.endswith("(ED25519)")
                for word in line.split() if word.startswith("SHA256:"))


def console_reader(paths: LabPaths) -> ConsoleReader:
    """A reader who answers yes only to the fingerprint on the VM's console; what it was
    asked and what it answered is in `.asked`: (who asked, address, yes?)."""
    return ConsoleReader(functools.partial(console_fingerprint, paths))
