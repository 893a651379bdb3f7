"""A sandbox VM's console, as `qm terminal` shows a Proxmox VM's: what the guest wrote there
(its supervisor keeps it in console.log), made safe to print, and the SSH host key
fingerprints that its first boot prints there, as cloud-init does, for a reader to compare
with the ones a host-key question shows. Files only; no connection is opened."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from labguide.errors import LabguideError, Location
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.vmrecord import VmRecord

#: How much of the end of a console log is read (a boot writes a few kB).
TAIL_BYTES = 256 << 10
BEGIN = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
END = "-----END SSH HOST KEY FINGERPRINTS-----"
#: Escape sequences (colours, cursor moves, titles; C1's CSI too), then any other control
#: character but tab and newline: what the guest wrote never drives the reader's terminal.
ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])"
                     r"|\x9b[0-?]*[ -/]*[@-~]")
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: `256 SHA256:… root@l4lb-2 (ED25519)`, after whatever the console puts first (the journal's
#: `[  12.3] sh[33]: `, cloud-init's `<14>Dec  2 10:00:00 cloud-init: `).
FINGERPRINT = re.compile(r"(?:^|\s)\d+ (SHA256:[A-Za-z0-9+/]+) .*\((\w+)\)$")


def printable(raw: bytes) -> str:
    """Console bytes as text a terminal shows as text: escapes and controls removed, each
    carriage return starting its line over (as the console showed it)."""
    text = ESCAPES.sub("", raw.decode("utf-8", "replace"))
    lines = [ln.rstrip("\r").rsplit("\r", 1)[-1] for ln in text.split("\n")]
    return CONTROLS.sub("", "\n".join(lines))


def console_log(paths: LabPaths, vm: str) -> Path:
    """The console log of the lab's VM named `vm` or numbered `vm`."""
    log = _log_of(paths, lambda vmid, rec: vm in (rec.name, str(vmid)))
    if log is None:
        raise LabguideError(f"the sandbox lab has no VM {vm!r}", Location(host=vm),
                            hint="`labguide lab status` lists them")
    return log


def _log_of(paths: LabPaths, matches: Callable[[int, VmRecord], bool]) -> Path | None:
    """The console log of the first recorded VM that `matches` (None: none does)."""
    m = NspawnMachines(paths)
    for vmid in m.recorded_vmids():
        rec = m.record(vmid)
        if rec is not None and matches(vmid, rec):
            return paths.vm_run(vmid) / "console.log"
    return None


def read_console(log: Path, limit: int = TAIL_BYTES) -> str:
    """The end of a console log, printable."""
    with open(log, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - limit))
        return printable(f.read())


def printed_fingerprints(console: str) -> dict[str, str]:
    """Key type (ED25519…) → `SHA256:…`, from the last fingerprint block on a console."""
    start = console.rfind(BEGIN)
    end = console.find(END, start)
    if start < 0 or end < 0:
        return {}
    found = (FINGERPRINT.search(ln.strip()) for ln in console[start:end].splitlines())
    return {m.group(2): m.group(1) for m in found if m}


def guest_fingerprint(paths: LabPaths, address: str) -> str | None:
    """The ed25519 fingerprint the running VM at `address` printed on its console at its
    first boot (None: no VM of the lab has that address, or its console shows none)."""
    log = _log_of(paths, lambda _vmid, rec: rec.ip_cidr.split("/", 1)[0] == address)
    if log is None:
        return None
    try:
        return printed_fingerprints(read_console(log)).get("ED25519")
    except OSError:
        return None
