"""asyncssh helpers for the sandbox tests: the lab's key, the lab's known_hosts, checking on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncssh

from labguide.sandbox.paths import LabPaths


@dataclass(frozen=True)
class Base:
    """What the `sandbox_base` fixture gives: the lab's paths (images, keys, bridge ready)."""

    paths: LabPaths


async def connect(paths: LabPaths, ip: str, timeout: float = 30.0) -> asyncssh.SSHClientConnection:
    """Connect as ubuntu, retrying while sshd is not up yet; host keys always checked."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncssh.connect(
                ip, username="ubuntu", client_keys=[str(paths.identity_file)],
                known_hosts=str(paths.known_hosts), connect_timeout=5,
            )
        except (OSError, asyncssh.Error):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def sh(conn: asyncssh.SSHClientConnection, command: str, timeout: float = 120) -> str:
    """Run a command; fail the test with its output if it exits non-zero."""
    res = await conn.run(command, check=False, timeout=timeout)
    out = str(res.stdout or "") + str(res.stderr or "")
    assert res.exit_status == 0, f"{command!r} exited {res.exit_status}:\n{out}"
    return str(res.stdout or "")


def leftovers(paths: LabPaths) -> list[str]:
    """What of the lab is still on this machine: namespaces, bridge, mounts, processes, files."""
    import os
    import subprocess
    from pathlib import Path

    from labguide.sandbox.topology import BRIDGE

    found: list[str] = []
    netns = Path("/run/netns")
    if netns.exists():
        found += [f"netns {p.name}" for p in netns.iterdir() if p.name.startswith("lg-")]
    if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode == 0:
        found.append(f"bridge {BRIDGE}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found += [f"veth {ln.split(':')[1].strip()}" for ln in links.splitlines()
              if ln.split(":")[1].strip().startswith("lgv")]
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            mnt = line.split()[4]
            if mnt.startswith((str(paths.run), str(paths.state))):
                found.append(f"mount {mnt}")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if ("labguide.sandbox.supervisor" in cmd or "--machine=lg-" in cmd
                or ("labguide.sandbox.pve" in cmd and str(paths.state) in cmd)):
            found.append(f"process {pid}: {cmd[:80]}")
    found += [f"cgroup {d}" for d in vm_cgroups()]
    from labguide.sandbox import firewall

    if firewall.table_is_ours() is not None:
        found.append(f"nftables table {firewall.FAMILY} {firewall.TABLE}")
    for p in (paths.run, paths.state):
        if p.exists():
            found.append(f"files {p}")
    return found


def vm_cgroups(vmid: int | None = None) -> list[str]:
    """The per-VM control groups (labguide-vm<id>) that exist in this process's hierarchies."""
    from labguide.sandbox.cgroups import hierarchies

    def ours(name: str) -> bool:
        return name == f"labguide-vm{vmid}" if vmid is not None else name.startswith("labguide-vm")

    return [str(d) for base, _ in hierarchies() if base.exists()
            for d in base.iterdir() if d.is_dir() and ours(d.name)]
