"""`load` steps: a load test against a URL. Real k6 runs the block on its host when the host
has k6; else labguide's own prober sends the same load from this machine and says so. The
result is a k6-style summary, judged against the step's `threshold` (success ratio)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from labguide.events import LoadStarted, StepStatus
from labguide.probes.k6text import parse_k6_summary, summary_lines
from labguide.steps.context import StepContext, Verdict
from labguide.steps.kind import Attrs, StepKind

#: The tools a load step's result names (StepFinished.detail["tool"]).
K6 = "k6"
BUILTIN = "labguide-probe"


@dataclass(frozen=True)
class LoadOptions:
    rate: int = 1000
    duration: float = 30.0
    vus: int = 10
    threshold: float | None = None


def verdict(threshold: float | None, detail: dict[str, Any]) -> Verdict:
    sent = int(detail.get("http_reqs", 0))
    failed = int(detail.get("http_req_failed", 0))
    if not sent:
        return Verdict(StepStatus.FAILED, "the load test sent no request", detail)
    ratio = (sent - failed) / sent
    message = (f"{sent} requests at {detail.get('rate', 0):.1f}/s, {failed} failed "
               f"({100 * failed / sent:.2f}%) [{detail.get('tool')}]")
    if threshold is not None and ratio < threshold:
        return Verdict(StepStatus.FAILED, f"{message}: below the threshold {threshold:.2%}",
                       detail)
    return Verdict(StepStatus.PASSED, message, detail)


class LoadKind(StepKind):
    name = "load"
    verb = "load test"
    marker = "load"
    attrs: ClassVar[frozenset[str]] = frozenset(
        {"url", "rate", "duration", "vus", "background", "threshold", "hint"})
    default_timeout = 120.0
    texts = ("url",)
    single_host = True

    def options(self, attrs: Attrs) -> LoadOptions:
        if not attrs.text("url"):
            raise attrs.error("a load step needs url=\"http://…\"")
        return LoadOptions(
            rate=int(attrs.number("rate", 1000, minimum=1, maximum=100_000)),
            duration=attrs.duration("duration", 30.0, minimum=0.1),
            vus=int(attrs.number("vus", 10, minimum=1, maximum=10_000)),
            threshold=attrs.number("threshold", 0.0, maximum=1.0)
            if "threshold" in attrs else None)

    def target(self, bound: Any) -> str:
        return str(bound.text("url"))

    async def run(self, ctx: StepContext) -> Verdict:
        host = ctx.step.hosts[0]
        if (await ctx.transport(host).capture("command -v k6", timeout=10)).ok:
            return await self.with_k6(ctx, host)
        return await self.with_prober(ctx, host)

    async def with_k6(self, ctx: StepContext, host: str) -> Verdict:
        opts: LoadOptions = ctx.step.options
        ctx.publish(LoadStarted(ctx.bound.id, K6, host, opts.rate, opts.duration))
        result = await ctx.run(host, ctx.bound.script, ctx.step.timeout)
        if result.exit_status != 0:
            return Verdict(StepStatus.FAILED,
                           f"k6 ended with exit status {result.exit_status} "
                           f"({result.reason or ''})", {"tool": K6})
        return verdict(ctx.step.options.threshold,
                       parse_k6_summary(ctx.outcomes[host].stdout))

    async def with_prober(self, ctx: StepContext, host: str) -> Verdict:
        from labguide.probes.http_prober import Prober
        from labguide.probes.http_protocol import summary_dict

        opts: LoadOptions = ctx.step.options
        url = ctx.bound.text("url")
        ctx.emit(host, "info", f"k6 is not on {host}: labguide's prober sends GET {url} at "
                               f"{opts.rate}/s for {opts.duration:g} s from this machine")
        ctx.publish(LoadStarted(ctx.bound.id, BUILTIN, "this machine", opts.rate,
                                opts.duration))
        async with Prober(url, opts.rate, duration=opts.duration,
                          publish=ctx.publish) as prober:
            summary = await prober.wait()
        for line in summary_lines(summary):
            ctx.emit(host, "stdout", line)
        ctx.outcomes[host].exit_status = 0
        detail = summary_dict(summary)
        detail["tool"] = BUILTIN
        return verdict(opts.threshold, detail)


KIND = LoadKind()
