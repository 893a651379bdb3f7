"""PVE's per-VM config lock (`flock` on /var/lock/qemu-server/lock-VMID.conf): shared or
exclusive, with a timeout that fails the task the way PVE words it. asyncio only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from labguide.sandbox.pve.tasks import TaskError


class RwLock:
    """PVE's flock on /var/lock/qemu-server/lock-VMID.conf: shared or exclusive, with a timeout."""

    def __init__(self) -> None:
        self.readers = 0
        self.writer = False
        self.cond = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, vmid: int, exclusive: bool, timeout: float) -> AsyncIterator[None]:
        def free() -> bool:
            return not self.writer and (not exclusive or self.readers == 0)

        async with self.cond:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                async with asyncio.timeout(timeout):
                    await self.cond.wait_for(free)
            except TimeoutError:
                raise TaskError(f"can't lock file '/var/lock/qemu-server/lock-{vmid}.conf' "
                                "- got timeout") from None
            if exclusive:
                self.writer = True
            else:
                self.readers += 1
        try:
            yield
        finally:
            async with self.cond:
                if exclusive:
                    self.writer = False
                else:
                    self.readers -= 1
                self.cond.notify_all()
