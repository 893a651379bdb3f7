"""What a reader reads on a sandbox VM's console: its own SSH host key's fingerprint, taken
from its disk (never through a link the guest left), to compare with the one a host-key
question shows. Files only; no connection is opened."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from labguide.errors import LabguideError
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.sshkeys import guest_host_key


def guest_fingerprint(paths: LabPaths, address: str) -> str | None:
    """`SHA256:…` of the ed25519 host key of the running VM at `address` (None: no VM of the
    lab has that address, or its key cannot be read)."""
    m = NspawnMachines(paths)
    for vmid in m.recorded_vmids():
        rec = m.record(vmid)
        if rec is None or rec.ip_cidr.split("/", 1)[0] != address:
            continue
        try:
            key = guest_host_key(GuestTree(Path(rec.root), f"VM {vmid} ({rec.name})"))
        except (LabguideError, OSError):
            return None
        return str(asyncssh.import_public_key(key).get_fingerprint("sha256"))
    return None
