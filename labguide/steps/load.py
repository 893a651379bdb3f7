"""`load` steps: a load test against a URL. Real k6 runs the block on its host when the host
has k6; else labguide's own prober sends the same load from this machine and says so. The
result is a k6-style summary, judged against the chapter's expectation (`max_failed`, or
the success ratio `threshold`) and shown beside the book's figure (`book`); what happened
during the load (steps, VIP moves) is listed after it (load_judge.py)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from labguide.errors import HostError
from labguide.events import LoadStarted, StepStatus
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.probes.k6series import (
    Second,
    export_path,
    fetch_command,
    read_series,
    series_as_list,
    with_export,
)
from labguide.probes.k6text import parse_k6_summary, summary_lines
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, StepKind
from labguide.steps.load_judge import (
    BookFigure,
    Limit,
    Timeline,
    judge_load,
    read_book,
    read_limit,
)

#: The tools a load step's result names (StepFinished.detail["tool"]).
K6 = "k6"
BUILTIN = "labguide-probe"


@dataclass(frozen=True)
class LoadOptions:
    rate: int = 1000
    duration: float = 30.0
    vus: int = 10
    threshold: float | None = None
    max_failed: Limit | None = None
    warn_failed: Limit | None = None
    book: BookFigure | None = None


class LoadKind(StepKind):
    name = "load"
    verb = N_("load test")
    marker = "load"
    attrs: ClassVar[frozenset[str]] = frozenset(
        {"url", "rate", "duration", "vus", "background", "threshold", "max_failed",
         "warn_failed", "book", "hint"})
    default_timeout = 120.0
    texts = ("url",)
    single_host = True

    def options(self, attrs: Attrs) -> LoadOptions:
        if not attrs.text("url"):
            raise attrs.error(_("a load step needs url=\"http://…\""))
        return LoadOptions(
            rate=int(attrs.number("rate", 1000, minimum=1, maximum=100_000)),
            duration=attrs.duration("duration", 30.0, minimum=0.1),
            vus=int(attrs.number("vus", 10, minimum=1, maximum=10_000)),
            threshold=attrs.number("threshold", 0.0, maximum=1.0)
            if "threshold" in attrs else None,
            max_failed=read_limit(attrs), warn_failed=read_limit(attrs, "warn_failed"),
            book=read_book(attrs))

    def target(self, bound: Any) -> str:
        return str(bound.shown_text("url"))

    def starting(self, ctx: StepContext) -> None:
        timeline = Timeline(time.time(), ctx.bound.id)
        ctx.kept["timeline"] = timeline
        ctx.kept["unsubscribe"] = ctx.subscribe(timeline)

    async def run(self, ctx: StepContext) -> Verdict:
        host = ctx.step.hosts[0]
        timeline: Timeline = ctx.kept["timeline"]
        try:
            if (await ctx.transport(host).capture("command -v k6", timeout=10)).ok:
                detail, where = await self.with_k6(ctx, host), _("k6 on {host}").format(
                    host=host)
            else:
                detail = await self.with_prober(ctx, host)
                where = _("labguide's prober from this machine, not {host}, which has no k6: "
                          "another network path, so the numbers may differ").format(host=host)
        finally:
            ctx.kept["unsubscribe"]()
        if detail is None:
            outcome = ctx.outcomes[host]
            return Verdict(StepStatus.FAILED, _(
                "k6 on {host} gave no summary (exit status {status}, {reason})").format(
                host=host, status=outcome.exit_status, reason=outcome.reason or ""),
                {"tool": K6})
        if timeline.events:
            ctx.emit(host, "info", _("during the load:"))
            for line in timeline.lines():
                ctx.emit(host, "info", "  " + line)
        opts: LoadOptions = ctx.step.options
        return judge_load(detail, limit=opts.max_failed, book=opts.book,
                          threshold=opts.threshold, where=where, timeline=timeline,
                          warn=opts.warn_failed)

    async def with_k6(self, ctx: StepContext, host: str) -> dict[str, Any] | None:
        opts: LoadOptions = ctx.step.options
        ctx.publish(LoadStarted(ctx.bound.id, K6, host, opts.rate, opts.duration))
        export = export_path(ctx.bound.id, secrets.token_hex(4))
        started = time.time()
        try:  # k6 also keeps the load second by second (k6series.py), for the report
            result = await ctx.run(host, with_export(ctx.bound.script, export),
                                   ctx.step.timeout)
        finally:
            series = await self.k6_series(ctx, host, export)
        detail = parse_k6_summary(ctx.outcomes[host].stdout)
        if result.exit_status != 0:  # 99: k6's own thresholds crossed; its numbers still count
            ctx.emit(host, "info", _("k6 ended with {result}").format(result=result))
        if series:
            # the host's clock against this machine's: k6 began within a second of `started`
            skew = started - series[0].t + 1.0
            detail["series"] = series_as_list(series, skew if abs(skew) > 2.0 else 0.0)
        return detail if "http_reqs" in detail else None

    async def k6_series(self, ctx: StepContext, host: str, export: str) -> list[Second]:
        """k6's per-second export read back and removed (nothing if k6 wrote none: an
        older k6, a run cut short)."""
        try:
            got = await ctx.transport(host).capture(fetch_command(export), timeout=30)
        except HostError:
            return []
        return read_series(got.stdout) if got.ok else []

    async def with_prober(self, ctx: StepContext, host: str) -> dict[str, Any]:
        from labguide.probes.http_prober import Prober
        from labguide.probes.http_protocol import summary_dict

        opts: LoadOptions = ctx.step.options
        url = ctx.bound.text("url")
        ctx.emit(host, "info", _("k6 is not on {host}: labguide's prober sends GET {url} at "
                                 "{rate}/s for {seconds} s from this machine").format(
            host=host, url=url, rate=opts.rate, seconds=f"{opts.duration:g}"))
        ctx.publish(LoadStarted(ctx.bound.id, BUILTIN, _("this machine"), opts.rate,
                                opts.duration))
        async with Prober(url, opts.rate, duration=opts.duration,
                          publish=ctx.publish) as prober:
            summary = await prober.wait()
        for line in summary_lines(summary):
            ctx.emit(host, "stdout", line)
        ctx.outcomes[host].exit_status = 0
        detail = summary_dict(summary)
        detail["tool"] = BUILTIN
        return detail


KIND = LoadKind()
