"""`run` steps: a shell script on each of the step's hosts; passes when it exits 0."""

from __future__ import annotations

from typing import ClassVar

from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, StepKind
from labguide.transports.base import CommandResult


def ended_badly(result: CommandResult, timeout: float) -> Verdict | None:
    """The verdict of a command that did not exit 0 (None when it did)."""
    if result.reason == "timeout":
        return Verdict(StepStatus.FAILED, _("timed out after {seconds} s").format(
            seconds=f"{timeout:g}"))
    if result.reason:
        return Verdict(StepStatus.FAILED, str(result))
    if result.exit_status != 0:
        return Verdict(StepStatus.FAILED, str(result))
    return None


def tty_attr(attrs: Attrs) -> bool | None:
    """`tty`: run on a terminal (prompts answered) whatever the script; `tty=false`: never;
    absent: when the script runs a command that may ask (prompts.may_ask)."""
    return None if "tty" not in attrs else attrs.flag("tty")


class RunKind(StepKind):
    name = "run"
    verb = N_("run")
    attrs: ClassVar[frozenset[str]] = frozenset({"disruptive", "reboot", "delay", "hint",
                                                 "message", "tty"})

    def options(self, attrs: Attrs) -> bool | None:
        return tty_attr(attrs)

    async def run(self, ctx: StepContext) -> Verdict:
        async def one(host: str) -> Verdict:
            result = await ctx.run(host, ctx.bound.script, ctx.step.timeout,
                                   interactive=ctx.step.options)
            return ended_badly(result, ctx.step.timeout) or Verdict(StepStatus.PASSED)

        return await ctx.per_host(one)


KIND = RunKind()
