"""Events the probes publish (VIP ownership, keepalived state, HTTP prober batches and summary).

Plain frozen dataclasses subclassing `labguide.events.Event`; no front-end knowledge here.
Their fields are a stable interface: the TUI, `--check` and the benchmarks read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from labguide.events import Event

# --------------------------------------------------------------------------- VIP watcher


@dataclass(frozen=True)
class VipAcquired(Event):
    """The kernel of `host` now holds `vip` (seen by `ip monitor`, or at priming).

    `host_t` is the host's own timestamp of the change (from `ip -ts monitor`), None when
    the address was already there at priming. `t` is when the watcher received it.
    """

    vip: str
    host: str
    interface: str = ""
    host_t: float | None = None

    def transcript(self) -> dict[str, object]:
        """Its record in a run's transcript (for `labguide report`)."""
        return {"event": "vip_acquired", "vip": self.vip, "host": self.host,
                "host_t": self.host_t}


@dataclass(frozen=True)
class VipReleased(Event):
    """`host` no longer holds `vip`.

    reason is "removed" (the kernel deleted the address) or "unreachable" (we lost the
    host, so we no longer know: its holding is dropped from the model). `overlap` is set
    when this release ends a time when two hosts held the VIP that was a handover (shorter
    than VRRP's master-down interval): how long both held it, by the hosts' own stamps.
    """

    vip: str
    host: str
    reason: str = "removed"
    host_t: float | None = None
    overlap: float | None = None

    def transcript(self) -> dict[str, object]:
        return {"event": "vip_released", "vip": self.vip, "host": self.host,
                "reason": self.reason, "host_t": self.host_t}


@dataclass(frozen=True)
class VrrpStateChanged(Event):
    """Keepalived's own view on a host, from its log and its service's state.

    instance "*" is the daemon itself: state "RUNNING", "STOPPED" (a stopped keepalived
    holds every instance stopped) or "ABSENT" (keepalived is not installed). For an
    instance (VI_1 …), state is "MASTER", "BACKUP", "FAULT", "INIT" or "UNKNOWN" (the host
    is out of reach). priority is the effective
    priority when keepalived said it (`Changing effective priority from X to Y`), else None.
    `host_t` is when the host logged it. `primed` marks the state found when the watch
    began (from the log's history and the service's state), not a change seen as it
    happened: `host_t` is then the time it has held since, if known.
    """

    host: str
    instance: str
    state: str
    priority: int | None = None
    host_t: float | None = None
    primed: bool = False


@dataclass(frozen=True)
class SplitBrain(Event):
    """Two or more hosts have held the same VIP longer than VRRP's master-down interval
    (started=True), or no longer do (started=False).

    A shorter overlap is a handover (a preempting master adds the VIP a moment before the
    old one drops it) and raises no SplitBrain (see VipReleased.overlap). `since` is when
    the second holder appeared (the watcher's clock); `window` the master-down interval
    that was waited out (3 × advert_int + skew).
    """

    vip: str
    hosts: tuple[str, ...]
    started: bool
    since: float | None = None
    window: float | None = None


@dataclass(frozen=True)
class HostReachability(Event):
    """The watcher's channel to `host` works (reachable=True) or was lost (with the error).

    `power` says what the hypervisor knows of the host's VM while it is out of reach:
    "stopped" (the machine is not running), "running" (it runs, but we cannot reach it),
    or "" when there is no hypervisor to ask or it did not know the VM. A change of it
    while the host stays out of reach is published as a new event.
    """

    host: str
    reachable: bool
    error: str | None = None
    power: str = ""

    def transcript(self) -> dict[str, object]:
        return {"event": "host_reachability", "host": self.host, "reachable": self.reachable,
                "error": self.error, "power": self.power}


# --------------------------------------------------------------------------- HTTP prober


@dataclass(frozen=True)
class LatencySummary:
    """Latency statistics in milliseconds over some set of successful requests."""

    count: int = 0
    min: float = 0.0
    avg: float = 0.0
    med: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0


@dataclass(frozen=True)
class ProbeAnswer:
    """One request's result, for display (the full record goes to `--out` as JSON Lines).

    cause is "ok" or one of the failure causes (see `labguide.probes.http_result.CAUSES`).
    `scheduled` is the epoch time the request was due; latency_ms is None when it failed
    before an answer.
    """

    seq: int
    scheduled: float
    lateness_ms: float
    latency_ms: float | None
    status: int | None
    cause: str
    body: str = ""


@dataclass(frozen=True)
class CurrentOutage:
    """An outage still going on: since the last success (`start`), `lost` requests failed."""

    start: float
    first_failure: float
    lost: int


@dataclass(frozen=True)
class OutageWindow(Event):
    """A finished outage: from the last success before the first failure (`start`) to the
    first success after it (`end`), with the requests lost in between and why they failed.

    `start` is None when no request had succeeded yet; `end` is None when the run ended
    during the outage. Times are epoch seconds of the requests' starts.
    """

    start: float | None
    end: float | None
    lost: int
    first_failure: float = 0.0
    last_failure: float = 0.0
    causes: Mapping[str, int] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass(frozen=True)
class ProbeBatch(Event):
    """What the prober saw in one window of 50-100 ms, plus running totals.

    Window fields (counted over requests that *finished* in [t0, t1)): ok, failed,
    by_cause, by_status, by_backend, latency. `started` and `dropped` count starts in the
    window. Totals are since the prober started; at any time
    total_scheduled = total_sent + total_dropped and total_sent = total_ok + total_failed
    + in_flight.
    """

    t0: float
    t1: float
    target_rate: float
    started: int
    ok: int
    failed: int
    dropped: int
    late: int
    in_flight: int
    by_cause: Mapping[str, int]
    by_status: Mapping[str, int]
    by_backend: Mapping[str, int]
    latency: LatencySummary
    recent: tuple[ProbeAnswer, ...]
    outage: CurrentOutage | None
    total_scheduled: int
    total_sent: int
    total_ok: int
    total_failed: int
    total_dropped: int
    #: how requests connect at this rate: "new" (one connection each, like curl) or
    #: "keepalive" (a few kept-alive connections, like k6's VUs); see probes/http_engines.py
    connections: str = ""

    def transcript(self) -> dict[str, object]:
        """The window's counts and p95 (not its answers): the load's time series."""
        return {"event": "probe_window", "t0": round(self.t0, 4), "t1": round(self.t1, 4),
                "started": self.started, "ok": self.ok, "failed": self.failed,
                "p95": self.latency.p95, "count": self.latency.count}

    @property
    def rate(self) -> float:
        """Requests started per second in this window."""
        span = self.t1 - self.t0
        return self.started / span if span > 0 else 0.0


@dataclass(frozen=True)
class ProbeSummary(Event):
    """The whole run, in k6's vocabulary plus what k6 does not give.

    http_reqs: requests sent; rate: http_reqs / duration; http_req_failed: requests that
    failed (any cause, k6 counts non-2xx/3xx and connection errors the same way);
    checks_passed: requests that passed every check (status 2xx/3xx and body as expected).
    dropped: starts not made (in-flight cap reached, or later than `max_lateness`), like
    k6's dropped_iterations; late: starts made more than `late_ms` after schedule.
    cpu_seconds: CPU time (user+sys) of the prober's process, for CPU per request.
    duration: the sending period (start to the last scheduled start, or the stop), so that
    rate = http_reqs / duration is not lowered by waiting for the last answers.
    """

    url: str
    engine: str
    target_rate: float
    duration: float
    scheduled: int
    http_reqs: int
    rate: float
    http_req_failed: int
    checks_passed: int
    dropped: int
    late: int
    http_req_duration: LatencySummary
    lateness_ms: LatencySummary
    by_cause: Mapping[str, int]
    by_status: Mapping[str, int]
    by_backend: Mapping[str, int]
    outages: tuple[OutageWindow, ...]
    cpu_seconds: float
    max_in_flight: int
    #: the connection modes the run used, in order ("new", "keepalive")
    connections: tuple[str, ...] = ()

    @property
    def ok(self) -> int:
        return self.http_reqs - self.http_req_failed

    @property
    def success_ratio(self) -> float:
        """ok / sent (1.0 when nothing was sent: nothing failed)."""
        return self.ok / self.http_reqs if self.http_reqs else 1.0

    @property
    def failed_ratio(self) -> float:
        return self.http_req_failed / self.http_reqs if self.http_reqs else 0.0

    @property
    def achieved_ratio(self) -> float:
        """Achieved rate divided by the target rate (goal: >= 0.99)."""
        return self.rate / self.target_rate if self.target_rate else 0.0
