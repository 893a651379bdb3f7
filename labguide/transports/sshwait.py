"""Waiting until a host's SSH port answers with a banner: a liveness check after `qm start`
or `lab up` (the host key is checked later, by the SSH transport when it connects)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SshReady:
    banner: str
    waited: float


async def wait_for_ssh(address: str, port: int = 22, timeout: float = 120.0) -> SshReady:
    """Wait until address:port answers with an SSH banner (a TCP connect + banner read).

    Only a liveness check: the host key is verified by the SSH transport when it connects.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout
    pause = 0.2
    last = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{address}:{port} gave no SSH banner within {timeout:.0f} s "
                               f"({last})")
        writer = None
        try:
            async with asyncio.timeout(min(left, 5.0)):
                reader, writer = await asyncio.open_connection(address, port)
            async with asyncio.timeout(min(max(left, 0.1), 5.0)):
                line = await reader.readline()
            if line.startswith(b"SSH-"):
                return SshReady(line.decode("ascii", "replace").strip(), time.monotonic() - t0)
            last = f"unexpected greeting {line[:40]!r}"
        except (OSError, TimeoutError) as exc:
            last = str(exc) or type(exc).__name__
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 1.5, 2.0)


