"""`qm` steps: the `qm` command lines a reader would type on the Proxmox host, run through
its API by the proxmox transport (or literally over SSH); `wait_ssh=HOST` then waits until
the VM it started answers SSH."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, StepKind
from labguide.steps.reach import wait_reachable
from labguide.steps.run import ended_badly


@dataclass(frozen=True)
class QmOptions:
    wait_ssh: str | None = None


class QmKind(StepKind):
    name = "qm"
    verb = N_("Proxmox API")
    attrs: ClassVar[frozenset[str]] = frozenset({"disruptive", "wait_ssh", "hint"})
    langs = ("qm",)
    default_for_langs = ("qm",)
    single_host = True

    def options(self, attrs: Attrs) -> QmOptions:
        return QmOptions(wait_ssh=attrs.text("wait_ssh") or None)

    def reaches(self, attrs: Attrs) -> tuple[str, ...]:
        wait_ssh = attrs.text("wait_ssh")
        return (wait_ssh,) if wait_ssh else ()

    async def run(self, ctx: StepContext) -> Verdict:
        async def one(host: str) -> Verdict:
            step = ctx.step
            result = await ctx.run(host, ctx.bound.script, step.timeout)
            failed = ended_badly(result, step.timeout)
            if failed is not None or not step.options.wait_ssh:
                return failed or Verdict(StepStatus.PASSED)
            return await wait_reachable(ctx, step.options.wait_ssh, kept_by=host,
                                        timeout=step.timeout)

        return await ctx.per_host(one)


KIND = QmKind()
