"""The local transport: runs bash on the machine labguide runs on, in its own process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator

from labguide.transports.base import CommandResult, OutputSink
from labguide.transports.shell import SUDO_HINT, ShellTransport, is_sudo_prompt
from labguide.transports.streams import pump_lines

KILL_GRACE = 2.0


class LocalTransport(ShellTransport):
    """Runs each script as `bash -ec SCRIPT` in a new session; cancelling kills the group."""

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def run(
        self,
        script: str,
        sink: OutputSink,
        *,
        timeout: float | None = None,
        input_data: bytes | None = None,
    ) -> CommandResult:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            "bash", "-ec", script,
            stdin=asyncio.subprocess.PIPE if input_data is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        sudo_prompted = False

        def on_stderr(line: str) -> None:
            nonlocal sudo_prompted
            sudo_prompted = sudo_prompted or is_sudo_prompt(line)
            sink("stderr", line)

        async def feed() -> None:
            if input_data is not None and proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    proc.stdin.write(input_data)
                    await proc.stdin.drain()
                proc.stdin.close()

        assert proc.stdout is not None and proc.stderr is not None
        work = asyncio.gather(
            feed(),
            pump_lines(proc.stdout, lambda line: sink("stdout", line)),
            pump_lines(proc.stderr, on_stderr),
            proc.wait(),
        )
        work.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
            # that arrives as the command ends, and Ctrl-C would then be lost.
            async with asyncio.timeout(timeout):
                await work
        except TimeoutError:
            await _kill_group(proc)
            return CommandResult(None, time.monotonic() - started, "timeout")
        except asyncio.CancelledError:
            await asyncio.shield(_kill_group(proc))
            raise
        if sudo_prompted:
            sink("info", SUDO_HINT)
        return CommandResult(proc.returncode, time.monotonic() - started)

    async def stream(self, command: str) -> AsyncIterator[str]:
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdout is not None
        try:
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                yield raw.decode("utf-8", "replace").rstrip("\r\n")
        finally:
            await asyncio.shield(_kill_group(proc))


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """TERM the process group, then KILL it if it is still there after a grace period."""
    if proc.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            async with asyncio.timeout(KILL_GRACE):
                await proc.wait()
            return
        except TimeoutError:
            continue
