"""Pure statistics of the HTTP prober: per-request results, latency histogram, outage windows,
per-window and whole-run aggregation. No I/O, no clock, no event loop here.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.probes.events import (
    CurrentOutage,
    LatencySummary,
    OutageWindow,
    ProbeAnswer,
)

#: Why a request failed. "ok" is success; every other value is a failure.
CAUSES: tuple[str, ...] = (
    "refused",  # connection refused (nothing listens, or a firewall rejects)
    "reset",  # the connection died: reset, or the server closed a keep-alive connection
    "timeout",  # no complete answer within the per-request timeout
    "http_error",  # an answer with a status outside 2xx/3xx
    "wrong_body",  # 2xx/3xx but the body did not match what was expected
    "connect_error",  # other connection failure (unreachable, DNS, TLS)
    "other",  # anything else (a bug or an unusual error: see the error text in --out)
)
OK = "ok"
#: Each cause as the reader reads it (the codes stay in files, JSON and --out).
CAUSE_WORDS = {"refused": N_("refused"), "reset": N_("reset"), "timeout": N_("timeout"),
               "http_error": N_("HTTP error"), "wrong_body": N_("wrong body"),
               "connect_error": N_("connect error"), "other": N_("other"), OK: N_("ok")}


def cause_word(cause: str) -> str:
    """A failure cause in the run's language (an unknown one as it is)."""
    return _(CAUSE_WORDS[cause]) if cause in CAUSE_WORDS else cause
#: Answers are counted per backend (the body names it, e.g. "web-1"): at most this many
#: names, each cut to MAX_BACKEND_NAME characters; further bodies count under OTHER_BACKENDS
#: (a server that answers a new body every time would otherwise make the summary huge).
MAX_BACKENDS = 32
MAX_BACKEND_NAME = 64
OTHER_BACKENDS = "(other)"


@dataclass(frozen=True, slots=True)
class RequestResult:
    """One request. Times are monotonic seconds of the prober's clock (see `epoch_offset`)."""

    seq: int
    scheduled: float
    started: float
    latency: float | None  # seconds from start to the end of the body; None if no answer
    status: int | None
    cause: str
    body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.cause == OK

    @property
    def lateness(self) -> float:
        return self.started - self.scheduled


class LatencyHistogram:
    """Log-bucketed histogram of durations (seconds) with exact count/min/max/sum.

    Buckets grow by 0.5%, from 1 microsecond to about 100 s, so a percentile is within
    ±0.25% of the exact value, in bounded memory whatever the run length.
    """

    GROWTH = 1.005
    LOW = 1e-6

    def __init__(self) -> None:
        self._log_growth = math.log(self.GROWTH)
        n = int(math.log(100.0 / self.LOW) / self._log_growth) + 2
        self._buckets = [0] * n
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value <= self.LOW:
            index = 0
        else:
            index = min(int(math.log(value / self.LOW) / self._log_growth) + 1,
                        len(self._buckets) - 1)
        self._buckets[index] += 1

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100), clamped to [min, max]; 0 when empty."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q / 100.0 * self.count))
        seen = 0
        for index, n in enumerate(self._buckets):
            seen += n
            if seen >= rank:
                if index == 0:
                    value = self.LOW
                else:  # geometric middle of the bucket
                    value = self.LOW * self.GROWTH ** (index - 0.5)
                return min(max(value, self.min), self.max)
        return self.max

    def summary(self, scale: float = 1000.0) -> LatencySummary:
        """The statistics, multiplied by scale (default: seconds to milliseconds)."""
        if self.count == 0:
            return LatencySummary()
        return LatencySummary(
            count=self.count,
            min=self.min * scale,
            avg=self.total / self.count * scale,
            med=self.percentile(50) * scale,
            p90=self.percentile(90) * scale,
            p95=self.percentile(95) * scale,
            p99=self.percentile(99) * scale,
            max=self.max * scale,
        )


def exact_summary(values: Iterable[float], scale: float = 1000.0) -> LatencySummary:
    """Exact statistics of a small set of durations (nearest-rank percentiles)."""
    data = sorted(values)
    if not data:
        return LatencySummary()
    n = len(data)

    def pct(q: float) -> float:
        return data[max(0, math.ceil(q / 100.0 * n) - 1)] * scale

    return LatencySummary(
        count=n,
        min=data[0] * scale,
        avg=sum(data) / n * scale,
        med=pct(50),
        p90=pct(90),
        p95=pct(95),
        p99=pct(99),
        max=data[-1] * scale,
    )


class OutageTracker:
    """Turns results into outage windows, processing them in start order (by `seq`).

    Results finish out of order (a timeout ends seconds after later successes), so they
    wait in a small reorder buffer until every earlier request has finished. Skipped
    sequence numbers (dropped starts) are declared with `skip`.

    An outage goes from the start of the last success before the first failure to the
    start of the first success after it; `lost` counts the failed requests in between.
    """

    def __init__(self, to_epoch: Callable[[float], float],
                 on_window: Callable[[OutageWindow], None]) -> None:
        self._to_epoch = to_epoch
        self._on_window = on_window
        self._pending: dict[int, RequestResult | None] = {}
        self._next = 0
        self._last_success: float | None = None
        self._open: bool = False
        self._first_failure = 0.0
        self._last_failure = 0.0
        self._lost = 0
        self._causes: Counter[str] = Counter()
        self.windows: list[OutageWindow] = []

    def add(self, result: RequestResult) -> None:
        self._pending[result.seq] = result
        self._drain()

    def skip(self, seq: int) -> None:
        self._pending[seq] = None
        self._drain()

    def _drain(self) -> None:
        while self._next in self._pending:
            result = self._pending.pop(self._next)
            self._next += 1
            if result is not None:
                self._apply(result)

    def _apply(self, result: RequestResult) -> None:
        if result.ok:
            if self._open:
                self._close(result.started)
            self._last_success = result.started
            return
        if not self._open:
            self._open = True
            self._first_failure = result.started
            self._lost = 0
            self._causes = Counter()
        self._lost += 1
        self._last_failure = result.started
        self._causes[result.cause] += 1

    def _close(self, end: float | None) -> None:
        e = self._to_epoch
        window = OutageWindow(
            start=e(self._last_success) if self._last_success is not None else None,
            end=e(end) if end is not None else None,
            lost=self._lost,
            first_failure=e(self._first_failure),
            last_failure=e(self._last_failure),
            causes=dict(self._causes),
            t=e(end) if end is not None else e(self._last_failure),
        )
        self._open = False
        self.windows.append(window)
        self._on_window(window)

    @property
    def current(self) -> CurrentOutage | None:
        if not self._open:
            return None
        e = self._to_epoch
        start = self._last_success if self._last_success is not None else self._first_failure
        return CurrentOutage(start=e(start), first_failure=e(self._first_failure),
                             lost=self._lost)

    def finish(self) -> None:
        """The run ended: an outage still open becomes a window with end=None."""
        self._pending = {k: v for k, v in self._pending.items() if k >= self._next}
        for seq in sorted(self._pending):
            result = self._pending.pop(seq)
            if result is not None:
                self._apply(result)
        if self._open:
            self._close(None)


class WindowStats:
    """Counts of one display window (reset after each batch)."""

    def __init__(self, recent_size: int) -> None:
        self.started = 0
        self.dropped = 0
        self.late = 0
        self.ok = 0
        self.failed = 0
        self.by_cause: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_backend: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.recent: deque[RequestResult] = deque(maxlen=recent_size)


class RunStats:
    """Whole-run and per-window aggregation of results; the worker feeds it, batches read it."""

    def __init__(self, to_epoch: Callable[[float], float],
                 on_outage: Callable[[OutageWindow], None] = lambda w: None,
                 recent_size: int = 20, late_threshold: float = 0.010) -> None:
        self.to_epoch = to_epoch
        self.recent_size = recent_size
        self.late_threshold = late_threshold
        self.scheduled = 0
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.dropped = 0
        self.late = 0
        self.by_cause: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_backend: Counter[str] = Counter()
        self.latency = LatencyHistogram()
        self.lateness = LatencyHistogram()
        self.outages = OutageTracker(to_epoch, on_outage)
        self.window = WindowStats(recent_size)

    @property
    def in_flight(self) -> int:
        return self.sent - self.ok - self.failed

    def on_start(self, seq: int, lateness: float) -> None:
        self.scheduled += 1
        self.sent += 1
        self.window.started += 1
        self.lateness.add(max(lateness, 0.0))
        if lateness > self.late_threshold:
            self.late += 1
            self.window.late += 1

    def on_drop(self, seq: int) -> None:
        self.scheduled += 1
        self.dropped += 1
        self.window.dropped += 1
        self.outages.skip(seq)

    def on_result(self, result: RequestResult) -> None:
        w = self.window
        status = str(result.status) if result.status is not None else "none"
        self.by_status[status] += 1
        w.by_status[status] += 1
        if result.ok:
            self.ok += 1
            w.ok += 1
            backend = self._backend(result.body)
            self.by_backend[backend] += 1
            w.by_backend[backend] += 1
        else:
            self.failed += 1
            w.failed += 1
            self.by_cause[result.cause] += 1
            w.by_cause[result.cause] += 1
        if result.latency is not None and result.cause in (OK, "http_error", "wrong_body"):
            # k6's http_req_duration covers every answered request, failed or not.
            self.latency.add(result.latency)
            w.latencies.append(result.latency)
        w.recent.append(result)
        self.outages.add(result)

    def _backend(self, body: str) -> str:
        """The name an answer counts under: its body, cut short; OTHER_BACKENDS once
        MAX_BACKENDS names are taken."""
        name = body if len(body) <= MAX_BACKEND_NAME else body[:MAX_BACKEND_NAME - 1] + "…"
        if name in self.by_backend or len(self.by_backend) < MAX_BACKENDS:
            return name
        return OTHER_BACKENDS

    def answer(self, result: RequestResult) -> ProbeAnswer:
        return ProbeAnswer(
            seq=result.seq,
            scheduled=self.to_epoch(result.scheduled),
            lateness_ms=max(result.lateness, 0.0) * 1000.0,
            latency_ms=result.latency * 1000.0 if result.latency is not None else None,
            status=result.status,
            cause=result.cause,
            body=result.body,
        )

    def take_window(self) -> WindowStats:
        """The current window's counts; a fresh window starts."""
        window, self.window = self.window, WindowStats(self.recent_size)
        return window
