"""The runtime record of one VM (written before anything is made, so `down` can undo it).

Plain data and file helpers; the processes live in supervisor.py, the policy in machines.py.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SUPERVISOR_MODULE = "labguide.sandbox.supervisor"
#: Written in a VM's run directory when it is stopped or cleaned up, removed just before its
#: supervisor is started: a supervisor that finds it (it started after a `down` that could not
#: know its pid yet, e.g. `up` was killed between the spawn and the pid file) boots nothing.
STOP_MARK = "stop"


@dataclass(frozen=True)
class VmRecord:
    vmid: int
    name: str
    ip_cidr: str
    gateway: str | None
    netns: str
    veth: str
    machine: str
    root: str  # the overlay mount point (under the run root)
    lowers: tuple[str, ...]
    upper: str
    work: str
    repo: str
    host_key: str
    host_cert: str
    authorized_keys: str  # the lab user's public key file
    host_keys: str = "ca"  # settings.HostKeys: "strict" leaves host_key/host_cert empty
    #: The lab's hosts (name → address) for the guest's /etc/hosts (its lab file's).
    hosts: dict[str, str] = field(default_factory=dict)

    def save(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / "vm.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n")
        tmp.rename(run_dir / "vm.json")

    @classmethod
    def load(cls, run_dir: Path) -> VmRecord:
        data = json.loads((run_dir / "vm.json").read_text())
        data["lowers"] = tuple(data["lowers"])
        return cls(**data)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None, needle: str | None = None) -> bool:
    """True if `pid` is a live (non-zombie) process whose command line contains `needle`."""
    if pid is None or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if needle is not None:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            return needle.encode() in cmdline
        return True
    except (OSError, IndexError):
        return False


def supervisor_pid(run_dir: Path) -> int | None:
    pid = read_pid(run_dir / "supervisor.pid")
    return pid if pid_alive(pid, SUPERVISOR_MODULE) else None


def kill_and_wait(pid: int, needle: str, timeout: float = 2.0) -> bool:
    """SIGKILL `pid` and wait until it is gone (the signal is not instant): nobody is told a
    process is gone while it still shows in /proc. True if it is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while pid_alive(pid, needle):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def write_pid(path: Path, pid: int | None = None) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid if pid is not None else os.getpid()}\n")
    tmp.rename(path)
