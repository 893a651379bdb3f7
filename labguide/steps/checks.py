"""`check` and `wait` steps: a script whose exit status is the verdict (0 pass, 2 warn, else
fail), optionally with output that must match `expect`. A wait repeats it until it passes
or its timeout ends; under --check it looks once, at the lab as it is."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import ClassVar

from labguide.events import StepStatus
from labguide.plan import BoundStep
from labguide.steps.context import HostOutcome, StepContext, Verdict
from labguide.steps.kind import SHELL_LANGS, Attrs, StepKind

#: A single try of a wait never runs longer than this, whatever the wait's timeout.
TRY_TIMEOUT = 30.0


@dataclass(frozen=True)
class CheckOptions:
    expect: str | None = None
    interval: float = 0.5


def judge(bound: BoundStep, outcome: HostOutcome) -> Verdict:
    """A check's verdict from its exit status and output."""
    step = bound.step
    expect = step.options.expect if isinstance(step.options, CheckOptions) else None
    if outcome.reason == "timeout":
        return Verdict(StepStatus.FAILED, f"the check timed out after {step.timeout:g} s")
    if outcome.reason:
        return Verdict(StepStatus.FAILED, f"the check did not finish ({outcome.reason})")
    found = "\n".join(outcome.stdout).strip()
    last = found.splitlines()[-1] if found else ""
    if outcome.exit_status == 2:
        return Verdict(StepStatus.WARNED, last or "warning")
    if outcome.exit_status != 0:
        return Verdict(StepStatus.FAILED, last or f"exit status {outcome.exit_status}")
    if expect and not re.search(expect, found):
        return Verdict(StepStatus.FAILED, f"expected output matching {expect!r}")
    return Verdict(StepStatus.PASSED, bound.message)


class CheckKind(StepKind):
    name = "check"
    verb = "check"
    marker = "check"
    attrs: ClassVar[frozenset[str]] = frozenset({"message", "hint", "transient", "expect"})
    default_timeout = 30.0
    check = True
    langs = (*SHELL_LANGS, "qm")  # a qm check runs `qm status`/`qm config` on the node

    def options(self, attrs: Attrs) -> CheckOptions:
        return CheckOptions(expect=attrs.regex("expect"),
                            interval=attrs.duration("interval", 0.5, minimum=0.01))

    def expected(self, bound: BoundStep) -> str:
        expect = bound.step.options.expect
        return (bound.message or "exit status 0") + (
            f" (output matching {expect!r})" if expect else "")

    async def run(self, ctx: StepContext) -> Verdict:
        async def once(host: str) -> Verdict:
            await ctx.run(host, ctx.bound.script, ctx.step.timeout)
            return judge(ctx.bound, ctx.outcomes[host])

        return await ctx.per_host(once)


class WaitKind(CheckKind):
    name = "wait"
    verb = "wait until"
    marker = "wait"
    attrs: ClassVar[frozenset[str]] = frozenset(
        {"message", "hint", "transient", "interval", "expect"})
    default_timeout = 60.0

    async def run(self, ctx: StepContext) -> Verdict:
        if ctx.mode == "check":  # --check looks at the lab as it is: once, no waiting
            return await super().run(ctx)
        return await ctx.per_host(lambda host: self.until_true(ctx, host))

    async def until_true(self, ctx: StepContext, host: str) -> Verdict:
        bound, step = ctx.bound, ctx.step
        interval = step.options.interval
        t0 = time.monotonic()
        deadline = t0 + step.timeout
        attempts = 0
        while True:
            attempts += 1
            remaining = max(deadline - time.monotonic(), 0.5)
            await ctx.capture(host, bound.script, min(remaining, TRY_TIMEOUT))
            verdict = judge(bound, ctx.outcomes[host])
            if verdict.status.ok or time.monotonic() >= deadline:
                break
            await asyncio.sleep(interval)
        ctx.show(host, ctx.outcomes[host].tail)
        note = f"after {time.monotonic() - t0:.1f} s ({attempts} tries)"
        ctx.emit(host, "info", f"{'true' if verdict.status.ok else 'still not true'} {note}")
        if verdict.status.ok:
            return Verdict(verdict.status, f"{bound.message or 'condition met'} {note}".strip())
        return Verdict(StepStatus.FAILED, f"{verdict.message}; gave up after {step.timeout:g} s")


CHECK = CheckKind()
WAIT = WaitKind()
