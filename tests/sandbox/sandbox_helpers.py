"""Helpers for the sandbox tests: asyncssh with the lab's key and known_hosts (checking on),
what the lab left behind, and the phases in `lab up`'s plain output."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

import asyncssh

from labguide.sandbox.paths import LabPaths


@dataclass(frozen=True)
class Base:
    """What the `sandbox_base` fixture gives: the lab's paths (images, keys, bridge ready), and
    what the image build printed if the fixture built anything (empty when the cache was warm)."""

    paths: LabPaths
    build_output: tuple[str, ...] = ()


def own_key(paths: LabPaths, vmid: int) -> str:
    """A VM's own ed25519 host key (`ssh-ed25519 BASE64`), read from its disk as a reader
    reads it on the console (strict host keys: the guest made it at its first boot)."""
    pub = paths.disk(vmid) / "upper/etc/ssh/ssh_host_ed25519_key.pub"
    return " ".join(pub.read_text().split()[:2])


async def connect(paths: LabPaths, ip: str, timeout: float = 30.0,
                  vmid: int | None = None) -> asyncssh.SSHClientConnection:
    """Connect as ubuntu, retrying while sshd is not up yet; host keys always checked:
    against the lab's known_hosts, or (`vmid`: a VM nobody knows yet) its own key."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            known: str | asyncssh.SSHKnownHosts = str(paths.known_hosts)
            if vmid is not None:
                known = asyncssh.import_known_hosts(f"{ip} {own_key(paths, vmid)}\n")
            return await asyncssh.connect(
                ip, username="ubuntu", client_keys=[str(paths.identity_file)],
                known_hosts=known, connect_timeout=5,
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


_STAMP = re.compile(r"^\d\d:\d\d:\d\d ")
_END = re.compile(r"^(?P<title>.+?)\s+\d+\.\d\d s$")


def phase_spans(lines: list[str]) -> dict[str, tuple[int, int | None]]:
    """Each phase of plain `lab` output: (index of its start line, of its end line or None).
    A start line is "title ...", an end line "title  N.NN s" or "title: failed after N s"."""
    spans: dict[str, tuple[int, int | None]] = {}
    for i, raw in enumerate(lines):
        line = _STAMP.sub("", raw).strip()
        if line.endswith(" ...") and not line.startswith(("|", "I:")):
            spans.setdefault(line[:-4], (i, None))
            continue
        m = _END.match(line)
        title = m["title"] if m else line.split(": failed after ", 1)[0]
        if title in spans and spans[title][1] is None and (m or ": failed after " in line):
            spans[title] = (spans[title][0], i)
    return spans
