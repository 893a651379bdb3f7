"""A run's transcript (JSONL, labguide.state.Transcript) read back as data for the HTML report:
steps with their result, hosts and output; VIP ownership spans per host; each load's time
series (the prober's windows; for k6, the per-second series the step kept, else k6's
progress lines) and the steps that ran during it.
Reads only; knows nothing of HTML."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

#: k6's progress line: "running (0m05.0s), 10/10 VUs, 4943 complete and 0 interrupted …"
K6_PROGRESS = re.compile(r"running \((\d+)m([\d.]+)s\), .*?(\d+) complete and (\d+) interrupted")
#: Output kept per host and step in the report (the last lines).
OUTPUT_LINES = 200


@dataclass
class StepRun:
    id: str
    kind: str
    hosts: list[str]
    started: float
    finished: float | None = None
    status: str = "running"
    duration: float = 0.0
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    script: str = ""
    output: dict[str, list[str]] = field(default_factory=dict)
    disruptive: bool = False
    section: str = ""
    #: Seconds it waited after starting before it acted (`delay`).
    delay: float = 0.0

    @property
    def acted(self) -> float:
        """When it acted: its start plus its delay."""
        return self.started + self.delay


@dataclass
class Span:
    """`host` held `vip` from `start` to `end` (None: still at the end of the run)."""

    vip: str
    host: str
    start: float
    end: float | None = None


@dataclass
class Sample:
    """One second (or window) of a load: requests/s, failures, p95 in ms (None: unknown)."""

    t: float
    rate: float
    failed: int | None = None
    p95: float | None = None


@dataclass
class LoadRun:
    step: str
    tool: str = ""
    samples: list[Sample] = field(default_factory=list)


@dataclass
class RunLog:
    steps: list[StepRun]
    spans: list[Span]
    loads: dict[str, LoadRun]
    start: float
    end: float

    @property
    def vips(self) -> list[str]:
        return sorted({s.vip for s in self.spans})


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise LabguideError(_("cannot read the transcript: {error}").format(error=exc.strerror),
                            Location(file=path)) from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):  # a run cut short mid-line: the rest still counts
                continue
            raise LabguideError(_("not a JSON line"), Location(file=path, line=n)) from None
        if isinstance(rec, dict) and "event" in rec and "t" in rec:
            out.append(rec)
    return out


def _step_event(steps: dict[str, StepRun], order: list[StepRun], rec: dict[str, Any]) -> None:
    ev, sid = rec["event"], rec.get("step", "")
    if ev == "step_started":
        run = StepRun(sid, rec.get("kind", ""), list(rec.get("hosts", [])), rec["t"],
                      script=rec.get("script", "") or "",
                      disruptive=bool(rec.get("disruptive")), section=rec.get("section", ""),
                      delay=float(rec.get("delay") or 0.0))
        steps[sid] = run
        order.append(run)
    elif ev == "step_finished" and sid in steps:
        run = steps[sid]
        run.finished, run.status = rec["t"], rec.get("status", "")
        run.duration, run.message = rec.get("duration", 0.0), rec.get("message", "")
        run.detail = rec.get("detail") or {}
    elif ev == "step_finished":  # skipped without starting
        run = StepRun(sid, "", [], rec["t"], rec["t"], rec.get("status", ""),
                      message=rec.get("message", ""))
        steps[sid] = run
        order.append(run)
    elif ev == "output" and sid in steps:
        lines = steps[sid].output.setdefault(rec.get("host", ""), [])
        lines.append(str(rec.get("line", "")))
        if len(lines) > OUTPUT_LINES:
            del lines[0]


def _vip_event(spans: list[Span], open_: dict[tuple[str, str], Span],
               rec: dict[str, Any]) -> None:
    ev = rec["event"]
    if ev == "vip_acquired":
        key = (rec["vip"], rec["host"])
        if key not in open_:
            open_[key] = Span(rec["vip"], rec["host"], rec["t"])
            spans.append(open_[key])
    elif ev == "vip_released":
        span = open_.pop((rec["vip"], rec["host"]), None)
        if span is not None:
            span.end = rec["t"]
    elif ev == "host_reachability" and not rec.get("reachable", True):
        for key in [k for k in open_ if k[1] == rec["host"]]:
            open_.pop(key).end = rec["t"]


def _load_event(loads: dict[str, LoadRun], steps: dict[str, StepRun],
                progress: dict[str, tuple[float, int]], rec: dict[str, Any]) -> None:
    """`progress`: per k6 load, its clock and completed requests at its last progress line."""
    ev = rec["event"]
    if ev == "step_started" and rec.get("kind") == "load":  # transcripts before load_started
        loads[rec["step"]] = LoadRun(rec["step"])
        progress.pop(rec["step"], None)
    elif ev == "load_started":
        loads.setdefault(rec["step"], LoadRun(rec["step"])).tool = rec.get("tool", "")
    elif ev == "step_finished" and rec.get("step") in loads:
        _finished_load(loads[rec["step"]], rec.get("detail") or {})
    elif ev == "probe_window":
        running = [lr for lr in loads.values() if lr.tool != "k6" and _open(steps, lr.step)]
        for lr in running[-1:]:
            span = max(rec["t1"] - rec["t0"], 1e-3)
            lr.samples.append(Sample(rec["t1"], rec["started"] / span, rec["failed"],
                                     rec["p95"] if rec.get("count") else None))
    elif ev == "output" and rec.get("step") in loads:
        m = K6_PROGRESS.search(str(rec.get("line", "")))
        if m:
            elapsed, done = int(m[1]) * 60 + float(m[2]), int(m[3]) + int(m[4])
            before, done_before = progress.get(rec["step"], (0.0, 0))
            if elapsed > before:
                loads[rec["step"]].samples.append(
                    Sample(rec["t"], (done - done_before) / (elapsed - before)))
                progress[rec["step"]] = (elapsed, done)


def _finished_load(load: LoadRun, detail: dict[str, Any]) -> None:
    """k6's own per-second series (labguide.probes.k6series), when the step kept one,
    stands for the samples read from its progress lines (requests/s only)."""
    load.tool = load.tool or str(detail.get("tool", ""))
    series = detail.get("series")
    if isinstance(series, list) and series:
        try:
            load.samples = [Sample(float(t), float(rate), None if failed is None else int(failed),
                                   None if p95 is None else float(p95))
                            for t, rate, failed, p95 in series]
        except (TypeError, ValueError):
            pass  # a series this reader does not know: the progress lines' samples stay


def _open(steps: dict[str, StepRun], sid: str) -> bool:
    return sid in steps and steps[sid].finished is None


def read_runlog(path: Path) -> RunLog:
    steps: dict[str, StepRun] = {}
    order: list[StepRun] = []
    spans: list[Span] = []
    open_: dict[tuple[str, str], Span] = {}
    loads: dict[str, LoadRun] = {}
    progress: dict[str, tuple[float, int]] = {}
    records = _records(path)
    for rec in records:
        _step_event(steps, order, rec)
        _vip_event(spans, open_, rec)
        _load_event(loads, steps, progress, rec)
    times = [r["t"] for r in records] or [0.0]
    return RunLog(order, spans, loads, min(times), max(times))
