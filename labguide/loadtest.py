"""Load-test steps: real k6 on the step's host when it has k6, else labguide's own prober.

Either way the step's result holds a k6-style summary (requests, rate, failures).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from labguide.events import StepStatus
from labguide.plan import BoundStep

if TYPE_CHECKING:
    from labguide.engine import Engine, HostOutcome

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
K6_REQS = re.compile(r"http_reqs\.*:\s*(\d+)\s+([\d.]+)/s")
K6_FAILED_OLD = re.compile(r"http_req_failed\.*:\s*([\d.]+)%\s+✓\s*(\d+)\s+✗\s*(\d+)")
K6_FAILED_NEW = re.compile(r"http_req_failed\.*:\s*([\d.]+)%\s+(\d+) out of (\d+)")
K6_DURATION = re.compile(
    r"http_req_duration\.*:\s*avg=(\S+)\s+min=(\S+)\s+med=(\S+)\s+max=(\S+)\s+"
    r"p\(90\)=(\S+)\s+p\(95\)=(\S+)")


def parse_k6_summary(lines: list[str]) -> dict[str, Any]:
    """The numbers of k6's end-of-test summary (0.x and 1.x layouts)."""
    text = ANSI.sub("", "\n".join(lines))
    out: dict[str, Any] = {"tool": "k6"}
    if m := K6_REQS.search(text):
        out["http_reqs"] = int(m.group(1))
        out["rate"] = float(m.group(2))
    if m := K6_FAILED_OLD.search(text):
        out["http_req_failed"] = int(m.group(2))
    elif m := K6_FAILED_NEW.search(text):
        out["http_req_failed"] = int(m.group(2))
    if m := K6_DURATION.search(text):
        keys = ("avg", "min", "med", "max", "p90", "p95")
        out["http_req_duration"] = dict(zip(keys, m.groups(), strict=True))
    return out


def verdict(bound: BoundStep, detail: dict[str, Any]) -> tuple[StepStatus, str]:
    sent = int(detail.get("http_reqs", 0))
    failed = int(detail.get("http_req_failed", 0))
    if not sent:
        return StepStatus.FAILED, "the load test sent no request"
    ratio = (sent - failed) / sent
    message = (f"{sent} requests at {detail.get('rate', 0):.1f}/s, {failed} failed "
               f"({100 * failed / sent:.2f}%) [{detail.get('tool')}]")
    threshold = bound.step.threshold
    if threshold is not None and ratio < threshold:
        return StepStatus.FAILED, f"{message}: below the threshold {threshold:.2%}"
    return StepStatus.PASSED, message


async def run_load(engine: Engine, bound: BoundStep, outcome: HostOutcome
                   ) -> tuple[StepStatus, str, dict[str, Any]]:
    host = bound.step.hosts[0]
    transport = engine.pool.get(host)
    probe = await transport.run("command -v k6", lambda s, line: None, timeout=10)
    if probe.ok:
        await engine._exec(bound, host, outcome, bound.script, bound.step.timeout)
        if outcome.exit_status != 0:
            return (StepStatus.FAILED,
                    f"k6 ended with exit status {outcome.exit_status} ({outcome.reason or ''})",
                    {})
        detail = parse_k6_summary(outcome.stdout)
        status, message = verdict(bound, detail)
        return status, message, detail
    return await _builtin(engine, bound, outcome, host)


async def _builtin(engine: Engine, bound: BoundStep, outcome: HostOutcome, host: str
                   ) -> tuple[StepStatus, str, dict[str, Any]]:
    from labguide.probes.http_prober import Prober
    from labguide.probes.http_protocol import summary_dict

    step = bound.step
    assert bound.url is not None
    engine._emit_line(step.id, host, "info",
                      f"k6 is not on {host}: labguide's prober sends GET {bound.url} at "
                      f"{step.rate}/s for {step.duration:g} s from this machine", outcome)
    async with Prober(bound.url, step.rate, duration=step.duration,
                      publish=engine.bus.publish) as prober:
        summary = await prober.wait()
    for line in _format(summary_dict(summary)).splitlines():
        engine._emit_line(step.id, host, "stdout", line, outcome)
    outcome.exit_status = 0
    detail = summary_dict(summary)
    detail["tool"] = "labguide-probe"
    status, message = verdict(bound, detail)
    return status, message, detail


def _format(d: dict[str, Any]) -> str:
    """A short k6-like summary of the built-in prober's run."""
    dur = d.get("http_req_duration", {})
    lines = [
        f"http_reqs......: {d['http_reqs']}  {d['rate']:.1f}/s (target {d['target_rate']:g}/s)",
        f"http_req_failed: {100 * d['failed_ratio']:.2f}%  {d['http_req_failed']} of "
        f"{d['http_reqs']}",
        "http_req_duration: " + "  ".join(f"{k}={v:.2f}ms" for k, v in dur.items()
                                          if isinstance(v, (int, float))),
        f"dropped........: {d['dropped']}  late: {d['late']}",
        "backends.......: " + ", ".join(f"{k}={v}" for k, v in d["by_backend"].items()),
    ]
    for o in d.get("outages", []):
        lines.append(f"outage.........: {o.get('duration') or 0:.3f} s, {o.get('lost')} lost")
    return "\n".join(lines)
