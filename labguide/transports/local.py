"""The local transport: runs bash on the machine labguide runs on, in its own process group.

The script goes to bash on its stdin, as over SSH (shell.PRELUDE_QUIET): no argument size
limit, and the rest of stdin is the script's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator

from labguide.transports.base import Ask, CommandResult, OutputSink
from labguide.transports.shell import (
    PRELUDE_QUIET,
    SUDO_HINT,
    ShellTransport,
    frame,
    is_sudo_prompt,
)
from labguide.transports.streams import pump_lines

KILL_GRACE = 2.0


class LocalTransport(ShellTransport):
    """Runs each script with `bash -e` in a new session; cancelling kills the group."""

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
        ask: Ask | None = None,  # no terminal here: prompts stay unanswered
    ) -> CommandResult:
        started = time.monotonic()
        stdin = frame(self.host.name, script, input_data)
        proc = await asyncio.create_subprocess_exec(
            "bash", "--norc", "--noprofile", "-ec", PRELUDE_QUIET,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        sudo_prompted = False

        def on_stderr(line: str) -> None:
            nonlocal sudo_prompted
            sudo_prompted = sudo_prompted or is_sudo_prompt(line)
            sink("stderr", line)

        assert proc.stdout is not None and proc.stderr is not None
        work = asyncio.gather(
            _feed(proc, stdin),
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
        stdin = frame(self.host.name, command)
        proc = await asyncio.create_subprocess_exec(
            "bash", "--norc", "--noprofile", "-c", PRELUDE_QUIET,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdout is not None
        try:
            await _feed(proc, stdin)
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                yield raw.decode("utf-8", "replace").rstrip("\r\n")
        finally:
            await asyncio.shield(_kill_group(proc))


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    """The framed script and input on stdin, then end of file (a command that stops reading
    early is no error)."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


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
