"""`keepalived` steps: a check of a host's keepalived.conf. The block holds the expected
settings as TOML; the host's file is parsed (not grepped), with the files its `include`
lines name put in their place, and every difference is named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from labguide import keepalived_conf as kc
from labguide.errors import HostError, LabguideError
from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.steps.conf_read import read_config
from labguide.steps.context import StepContext, Verdict
from labguide.steps.file import path_attr
from labguide.steps.kind import Attrs, StepKind

#: How many differences the step's message names (all of them are in its output).
SHOWN_DIFFS = 3


@dataclass(frozen=True)
class KeepalivedOptions:
    sudo: bool = False


class KeepalivedKind(StepKind):
    name = "keepalived"
    verb = N_("check")
    attrs: ClassVar[frozenset[str]] = frozenset(
        {"check", "path", "sudo", "message", "hint", "transient"})
    default_timeout = 30.0
    check = True
    langs = ("keepalived",)
    owns_langs = ("keepalived",)
    texts = ("path",)
    quotes_values = False

    def options(self, attrs: Attrs) -> KeepalivedOptions:
        if not attrs.flag("check") or "path" not in attrs:
            raise attrs.error(_("a keepalived block is a check of a file: "
                                "{on=HOST check path=/etc/…}"))
        path_attr(attrs)
        return KeepalivedOptions(sudo=attrs.flag("sudo"))

    def target(self, bound: BoundStep) -> str:
        return bound.shown_text("path")

    async def run(self, ctx: StepContext) -> Verdict:
        return await ctx.per_host(lambda host: self.compare(ctx, host),
                                  timeout=ctx.step.timeout)

    async def compare(self, ctx: StepContext, host: str) -> Verdict:
        """The host's configuration, its `include`s followed as keepalived follows them,
        compared setting by setting with the block's expectation."""
        path, shown = ctx.bound.text("path"), ctx.bound.shown_text("path")
        outcome = ctx.outcomes[host]
        try:
            conf = await read_config(ctx.transport(host), path, sudo=ctx.step.options.sudo,
                                     timeout=ctx.step.timeout)
            if conf is None:
                outcome.exit_status = 1
                said = _("{path} does not exist").format(path=shown)
                ctx.emit(host, "stdout", said)
                return Verdict(StepStatus.FAILED, said)
            for included in conf.included:
                ctx.emit(host, "info", _("read {path} (included)").format(path=included))
            found = kc.summary(kc.parse(conf.text))
            diffs = kc.compare(kc.expectation(ctx.bound.script), found)
        except LabguideError as exc:
            if isinstance(exc, HostError):
                raise
            outcome.exit_status = 1
            ctx.emit(host, "stdout", exc.message)
            return Verdict(StepStatus.FAILED, exc.message)
        for line in diffs or [_("configuration matches")]:
            ctx.emit(host, "stdout", line)
        outcome.exit_status = 1 if diffs else 0
        if diffs:
            more = " …" if len(diffs) > SHOWN_DIFFS else ""
            return Verdict(StepStatus.FAILED, "; ".join(diffs[:SHOWN_DIFFS]) + more)
        return Verdict(StepStatus.PASSED, ctx.bound.message)


KIND = KeepalivedKind()
