"""`check` and `wait` steps: a script whose exit status is the verdict (0 pass, 2 warn, else
fail), optionally with output that must match `expect`. A check on several hosts marked
`same` also wants the same output from every host (same.py). A wait repeats its script
until it passes or its timeout ends; under --check it looks once, at the lab as it is."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import ClassVar

from labguide.events import StepStatus
from labguide.i18n import N_, ngettext
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.steps.context import HostOutcome, StepContext, Verdict
from labguide.steps.kind import SHELL_LANGS, Attrs, StepKind
from labguide.steps.same import run_same

#: A single try of a wait never runs longer than this, whatever the wait's timeout.
TRY_TIMEOUT = 30.0


@dataclass(frozen=True)
class CheckOptions:
    expect: str | None = None
    interval: float = 0.5
    #: Every host's output must be the same (each host's own verdict first).
    same: bool = False


def judge(bound: BoundStep, outcome: HostOutcome) -> Verdict:
    """A check's verdict from its exit status and output."""
    step = bound.step
    expect = step.options.expect if isinstance(step.options, CheckOptions) else None
    if outcome.reason == "timeout":
        return Verdict(StepStatus.FAILED, _("the check timed out after {seconds} s").format(
            seconds=f"{step.timeout:g}"))
    if outcome.reason:
        return Verdict(StepStatus.FAILED, _("the check did not finish ({reason})").format(
            reason=outcome.reason))
    found = "\n".join(outcome.stdout).strip()
    last = found.splitlines()[-1] if found else ""
    if outcome.exit_status == 2:
        return Verdict(StepStatus.WARNED, last or _("warning"))
    if outcome.exit_status != 0:
        return Verdict(StepStatus.FAILED, last or _("exit status {status}").format(
            status=outcome.exit_status))
    if expect and not re.search(expect, found):
        return Verdict(StepStatus.FAILED, _("expected output matching {pattern!r}").format(
            pattern=expect))
    return Verdict(StepStatus.PASSED, bound.message)


class CheckKind(StepKind):
    name = "check"
    verb = N_("check")
    marker = "check"
    attrs: ClassVar[frozenset[str]] = frozenset(
        {"message", "hint", "transient", "expect", "same"})
    default_timeout = 30.0
    check = True
    langs = (*SHELL_LANGS, "qm")  # a qm check runs `qm status`/`qm config` on the node

    def options(self, attrs: Attrs) -> CheckOptions:
        same = attrs.flag("same")
        if same and len([h for h in attrs.text("on").split(",") if h.strip()]) < 2:
            raise attrs.error(_("same compares the outputs of several hosts: name two or more "
                                "in on="))
        return CheckOptions(expect=attrs.regex("expect"),
                            interval=attrs.duration("interval", 0.5, minimum=0.01), same=same)

    def expected(self, bound: BoundStep) -> str:
        options = bound.step.options
        return (bound.message or "exit status 0") + (
            _(" (output matching {pattern!r})").format(pattern=options.expect)
            if options.expect else "") + (
            _(" (the same output on every host)") if options.same else "")

    async def run(self, ctx: StepContext) -> Verdict:
        async def once(host: str) -> Verdict:
            await ctx.run(host, ctx.bound.script, ctx.step.timeout)
            return judge(ctx.bound, ctx.outcomes[host])

        if ctx.step.options.same:
            return await run_same(ctx, once)
        return await ctx.per_host(once)


class WaitKind(CheckKind):
    name = "wait"
    verb = N_("wait until")
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
        note = ngettext("after {seconds} s ({n} try)", "after {seconds} s ({n} tries)",
                        attempts).format(seconds=f"{time.monotonic() - t0:.1f}", n=attempts)
        ctx.emit(host, "info", (_("true {after}") if verdict.status.ok
                                else _("still not true {after}")).format(after=note))
        if verdict.status.ok:
            met = bound.message or _("condition met")
            return Verdict(verdict.status, f"{met} {note}".strip())
        return Verdict(StepStatus.FAILED, _("{message}; gave up after {seconds} s").format(
            message=verdict.message, seconds=f"{step.timeout:g}"))


CHECK = CheckKind()
WAIT = WaitKind()
