"""`same` checks: a check on several hosts that also wants one output from every host (a
config copied to two nodes).

Each host runs the check and gets its own verdict first. The hosts whose own verdict passed
are then compared with the first of them in the step's order, the reference: a host whose
output differs fails, naming the reference, and shows a diff against it; the reference
fails naming the hosts that differ from it. With one host to run on (`--limit`, or `--check`
leaving out a host that does not exist yet) nothing is compared, and the check warns rather
than claim a sameness it never saw. A host's part ends when the comparison does: its result
waits for the slowest host, as its verdict does.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.i18n import ngettext
from labguide.steps.context import StepContext, Verdict

#: Lines of the diff a host shows when its output differs from the reference's.
SAME_DIFF_LINES = 40


async def run_same(ctx: StepContext,
                   once: Callable[[str], Coroutine[Any, Any, Verdict]]) -> Verdict:
    """Run `once` (the check on one host, with its own verdict) on every host, then compare."""
    ran = {h: asyncio.create_task(once(h)) for h in ctx.step.hosts}

    async def compared(host: str) -> Verdict:
        verdict = await ran[host]
        if not verdict.status.ok:
            return verdict
        if len(ran) < 2:
            return Verdict(StepStatus.WARNED, _(
                "not compared with another host: only {host} ran this check").format(host=host))
        await asyncio.wait(ran.values())
        return judge_same(ctx, host, ran)

    try:
        return await ctx.per_host(compared)
    finally:
        for task in ran.values():
            task.cancel()
        # a cancelled step (Ctrl-C) ends every host's command before it is recorded
        await asyncio.gather(*ran.values(), return_exceptions=True)


def _output(ctx: StepContext, host: str) -> str:
    return "\n".join(ctx.outcomes[host].stdout).strip()


def judge_same(ctx: StepContext, host: str, ran: Mapping[str, asyncio.Future[Verdict]]
               ) -> Verdict:
    """`host`'s verdict once every host ran the check (its own verdict passed)."""
    passed = [h for h, task in ran.items() if not task.cancelled()
              and task.exception() is None and task.result().status.ok]
    reference, mine = passed[0], _output(ctx, host)
    if host != reference:
        if _output(ctx, reference) == mine:
            return ran[host].result()
        show_diff(ctx, reference, host)
        return differs([reference])
    differ = [h for h in passed[1:] if _output(ctx, h) != mine]
    return differs(differ) if differ else ran[host].result()


def differs(hosts: list[str]) -> Verdict:
    return Verdict(StepStatus.FAILED, ngettext(
        "its output differs from {hosts}'s", "its output differs from those of {hosts}",
        len(hosts)).format(hosts=_(", ").join(hosts)))


def show_diff(ctx: StepContext, reference: str, host: str) -> None:
    """What `host` printed instead of the reference's output, as a unified diff."""
    lines = list(difflib.unified_diff(_output(ctx, reference).splitlines(),
                                      _output(ctx, host).splitlines(), reference, host,
                                      lineterm="", n=1))
    for line in lines[:SAME_DIFF_LINES]:
        ctx.emit(host, "info", line)
    if len(lines) > SAME_DIFF_LINES:
        ctx.emit(host, "info", _("… {n} more lines of the diff").format(
            n=len(lines) - SAME_DIFF_LINES))
