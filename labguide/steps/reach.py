"""Waiting for a host to answer over SSH again: after a reboot (from a new boot) or after a
qm step started a VM. Shared by the reboot and qm kinds; the wait is the step's own."""

from __future__ import annotations

import asyncio
import contextlib
import time

from labguide.errors import HostError
from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.steps.context import StepContext, Verdict

#: Printed by a host; differs after each boot (see boot_marker).
BOOT_MARKER = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"
#: How often a waiting step says that it still waits.
NOTE_EVERY = 5.0


async def boot_marker(ctx: StepContext, host: str) -> str | None:
    """What changes when `host` boots: the kernel's boot id (a VM) and its PID 1's start
    time (a container shares the kernel). None if the host cannot say."""
    try:
        captured = await ctx.transport(host).capture(BOOT_MARKER, timeout=10)
    except (HostError, TimeoutError, OSError):
        return None
    if not captured.ok:
        return None
    return " ".join(captured.stdout).strip() or None


async def answers(ctx: StepContext, host: str, old_boot: str | None) -> tuple[bool, str]:
    """Whether `host` runs commands (from a boot other than `old_boot`), and why not."""
    transport = ctx.transport(host)
    await transport.connect()
    now = await boot_marker(ctx, host) if old_boot else None
    if old_boot is not None and now == old_boot:
        return False, "it still runs the boot from before the reboot"
    if now is not None:
        return True, ""  # a new boot
    # no reboot to tell apart, or the host cannot say: it answers
    return (await transport.capture("true", timeout=10)).ok, ""


async def wait_reachable(ctx: StepContext, host: str, *, kept_by: str, timeout: float,
                         since: float | None = None, old_boot: str | None = None) -> Verdict:
    """Until `host` runs a command again (and, after a reboot, from a new boot). Progress
    lines are kept in the outcome of `kept_by` (the step's host)."""
    t0 = since or time.monotonic()
    deadline = time.monotonic() + max(timeout, 1.0)
    attempt, last_error, last_note = 0, "", 0.0
    while time.monotonic() < deadline:
        attempt += 1
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                back, last_error = await answers(ctx, host, old_boot)
            if back:
                away = time.monotonic() - t0
                ctx.emit(host, "info", _("{host} answers again after {seconds} s").format(
                    host=host, seconds=f"{away:.1f}"), kept_by=kept_by)
                return Verdict(StepStatus.PASSED, _("{host} was back after {seconds} s").format(
                    host=host, seconds=f"{away:.1f}"))
        except HostError as exc:
            if exc.lasting:  # a host key refused: waiting longer will not change it
                raise
            last_error = exc.message
        except (TimeoutError, OSError) as exc:
            last_error = str(exc) or type(exc).__name__
        if time.monotonic() - last_note > NOTE_EVERY:
            last_note = time.monotonic()
            ctx.emit(host, "info", _("waiting for {host} to answer SSH ({seconds} s so far)"
                                     ).format(host=host,
                                              seconds=f"{time.monotonic() - t0:.0f}"),
                     kept_by=kept_by)
        with contextlib.suppress(Exception):
            await ctx.transport(host).close()
        await asyncio.sleep(min(0.5 * attempt, 2.0))
    return Verdict(StepStatus.FAILED, _("{host} did not answer within {seconds} s").format(
        host=host, seconds=f"{timeout:g}") + (f" ({last_error})" if last_error else ""))
