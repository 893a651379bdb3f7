"""Where the sandbox lab keeps its state, runtime records and cache. Paths only: no I/O here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "LABGUIDE_LAB_ROOT"


@dataclass(frozen=True)
class LabPaths:
    """The three roots of the lab and the files inside them.

    state   persistent: VM disks (overlay upper dirs), inventory, SSH keys, the emulator's state
    run     runtime: supervisor pid files, overlay mount points, records of what was made
    cache   survives `lab down`: the base image (mmdebstrap), role layers, the offline repo
    """

    state: Path
    run: Path
    cache: Path

    @classmethod
    def default(cls, prefix: str | Path | None = None) -> LabPaths:
        """The lab's roots, all under `prefix` (or $LABGUIDE_LAB_ROOT, or `/`)."""
        if prefix is None:
            prefix = os.environ.get(ROOT_ENV, "") or "/"
        base = Path(prefix)
        return cls(
            state=base / "var/lib/labguide/lab",
            run=base / "run/labguide/lab",
            cache=base / "var/cache/labguide",
        )

    # -- state ---------------------------------------------------------------------------
    @property
    def inventory(self) -> Path:
        return self.state / "inventory.toml"

    @property
    def settings(self) -> Path:
        return self.state / "lab.json"

    @property
    def lab_file(self) -> Path:
        """The copy of the lab file the lab was built from (labfile.record_lab)."""
        return self.state / "lab.toml"

    @property
    def ssh_dir(self) -> Path:
        return self.state / "ssh"

    @property
    def identity_file(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def host_ca(self) -> Path:
        return self.ssh_dir / "host_ca"

    @property
    def pve_state(self) -> Path:
        return self.state / "pve"

    def disk(self, vmid: int) -> Path:
        return self.state / "disks" / str(vmid)

    # -- runtime -------------------------------------------------------------------------
    def vm_run(self, vmid: int) -> Path:
        return self.run / "vm" / str(vmid)

    @property
    def pve_pidfile(self) -> Path:
        return self.run / "pve.pid"

    @property
    def pve_log(self) -> Path:
        return self.run / "pve.log"

    @property
    def bridge_record(self) -> Path:
        return self.run / "bridge.json"

    @property
    def firewall_record(self) -> Path:
        return self.run / "firewall.json"

    @property
    def lock(self) -> Path:
        return self.run / "lab.lock"

    # -- cache ---------------------------------------------------------------------------
    @property
    def base_image(self) -> Path:
        return self.cache / "base"

    @property
    def repo(self) -> Path:
        return self.cache / "repo"

    def layer(self, role: str) -> Path:
        return self.cache / "layers" / role
