"""Line splitting for byte streams of running commands (shared by the transports)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def pump_lines(reader: asyncio.StreamReader, on_line: Callable[[str], None]) -> None:
    """Call on_line for each line of reader (without its newline), including a last partial one."""
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                on_line(exc.partial.decode("utf-8", "replace").rstrip("\r"))
            return
        except asyncio.LimitOverrunError as exc:
            raw = await reader.readexactly(exc.consumed)
        on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
