"""`reboot` steps: a command that reboots its host. The connection drops; the step passes
when the host answers again from a new boot, and says how long it was away."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import ClassVar

from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, StepKind
from labguide.steps.reach import boot_marker, wait_reachable
from labguide.steps.run import tty_attr

#: The reboot command itself gets at most this long (it usually loses its connection).
COMMAND_TIMEOUT = 60.0
#: Exit statuses of a command whose connection the reboot cut.
CUT_OFF = (None, 0, 255, -1)


class RebootKind(StepKind):
    name = "reboot"
    verb = N_("reboot")
    marker = "reboot"
    attrs: ClassVar[frozenset[str]] = frozenset({"reboot", "disruptive", "delay", "hint",
                                                 "tty"})
    always_disruptive = True

    def options(self, attrs: Attrs) -> bool | None:
        return tty_attr(attrs)

    async def run(self, ctx: StepContext) -> Verdict:
        return await ctx.per_host(lambda host: self.reboot(ctx, host))

    async def reboot(self, ctx: StepContext, host: str) -> Verdict:
        step = ctx.step
        t0 = time.monotonic()
        before = await boot_marker(ctx, host)
        result = await ctx.run(host, ctx.bound.script, min(step.timeout, COMMAND_TIMEOUT),
                               interactive=step.options)
        if result.exit_status not in CUT_OFF and result.reason is None:
            return Verdict(StepStatus.FAILED, _("reboot failed with exit status {status}").format(
                status=result.exit_status))
        with contextlib.suppress(Exception):
            await ctx.transport(host).close()
        await asyncio.sleep(1.0)
        return await wait_reachable(ctx, host, kept_by=host, timeout=step.timeout - 1,
                                    since=t0, old_boot=before)


KIND = RebootKind()
