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
