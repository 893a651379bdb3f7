"""What the stream pane shows, folded from the prober's events (ProbeBatch, OutageWindow,
ProbeSummary). Pure: no Textual, no clock; the pane renders it.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labguide.cells import cut, ljust
from labguide.clock import clock_ms
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.probes.events import (
    CurrentOutage,
    OutageWindow,
    ProbeAnswer,
    ProbeBatch,
    ProbeSummary,
)
from labguide.probes.http_engines import MODE_TEXT
from labguide.probes.http_stats import cause_word
from labguide.probes.k6text import NARROW, detail_lines, summary_lines

HISTORY = 120  # batches kept for the sparklines (~12 s at 100 ms a batch)
#: outages kept for the pane (it shows the last few); all are counted. A failover every 30 s
#: at 1000/s makes ~30 short gaps a minute, and the stream may run for an hour.
OUTAGES_KEPT = 20
#: outage lines in the k6-style summary (the rest are counted on one line)
SUMMARY_OUTAGES = 5


@dataclass
class StreamModel:
    source: str = ""
    running: bool = False
    target_rate: float = 0.0
    rates: deque[float] = field(default_factory=lambda: deque([0.0] * HISTORY, maxlen=HISTORY))
    failures: deque[float] = field(
        default_factory=lambda: deque([0.0] * HISTORY, maxlen=HISTORY))
    sent: int = 0
    ok: int = 0
    failed: int = 0
    dropped: int = 0
    in_flight: int = 0
    by_backend: Counter[str] = field(default_factory=Counter)
    by_cause: Counter[str] = field(default_factory=Counter)
    latency_med: float = 0.0
    latency_p95: float = 0.0
    outages: deque[OutageWindow] = field(default_factory=lambda: deque(maxlen=OUTAGES_KEPT))
    outage_count: int = 0
    outage_lost: int = 0
    current: CurrentOutage | None = None
    summary: ProbeSummary | None = None
    #: a finished load step's result lines (k6's numbers when it ran real k6)
    result: list[str] = field(default_factory=list)
    #: how the prober connects now ("new" or "keepalive", probes/http_engines.py)
    connections: str = ""

    def reset(self, source: str, rate: float) -> None:
        fresh = StreamModel(source=source, running=True, target_rate=rate)
        self.__dict__.update(fresh.__dict__)

    @property
    def rate(self) -> float:
        return self.rates[-1]

    def apply(self, event: Event) -> list[str]:
        """Fold one prober event in; returns the answer lines to append to the log."""
        if isinstance(event, ProbeBatch):
            self.running = True
            self.summary = None
            self.target_rate = event.target_rate
            self.connections = event.connections or self.connections
            span = event.t1 - event.t0
            self.rates.append(event.started / span if span > 0 else 0.0)
            self.failures.append(event.failed / span if span > 0 else 0.0)
            self.sent = event.total_sent
            self.ok = event.total_ok
            self.failed = event.total_failed
            self.dropped = event.total_dropped
            self.in_flight = event.in_flight
            self.by_backend.update(event.by_backend)
            self.by_cause.update({k: v for k, v in event.by_cause.items() if k != "ok"})
            if event.latency.count:
                self.latency_med = event.latency.med
                self.latency_p95 = event.latency.p95
            self.current = event.outage
            return [answer_line(a) for a in event.recent]
        if isinstance(event, OutageWindow):
            self.outages.append(event)
            self.outage_count += 1
            self.outage_lost += event.lost
            self.current = None
            return []
        if isinstance(event, ProbeSummary):
            self.summary = event
            self.running = False
            self.current = None
            self.sent, self.failed, self.dropped = (event.http_reqs, event.http_req_failed,
                                                    event.dropped)
            self.ok = event.ok
            self.outages = deque(event.outages, maxlen=OUTAGES_KEPT)
            self.outage_count = len(event.outages)
            self.outage_lost = sum(o.lost for o in event.outages)
            return []
        return []


def connections_text(mode: str) -> str:
    """What the pane says about how the prober connects, e.g. 'new connection per request,
    like curl'; empty before the first batch."""
    return _(MODE_TEXT[mode]) if mode in MODE_TEXT else ""


def answer_line(a: ProbeAnswer) -> str:
    when = clock_ms(a.scheduled)
    if a.cause == "ok":
        return (f"{when} {ljust(cut(a.body, 16, ''), 16)} {a.status or '':>3} "
                f"{a.latency_ms or 0:7.2f} ms")
    status = f"{a.status}" if a.status else "---"
    return f"{when} {ljust(cut('✗ ' + cause_word(a.cause), 16), 16)} {status:>3}"


def k6_summary(s: ProbeSummary) -> list[str]:
    """The end-of-test summary in k6's layout, narrow enough for the pane."""
    return summary_lines(s, width=NARROW, extras=False, outages=SUMMARY_OUTAGES)


def result_lines(detail: Mapping[str, Any]) -> list[str]:
    """A load step's result detail (k6's parsed summary or the prober's) as k6-like lines."""
    return detail_lines(detail, NARROW)
