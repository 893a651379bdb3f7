"""States of the main screen for the snapshot tests, set up by publishing on the engine's bus
exactly what the engine, the VIP watcher and the prober publish. Fixed times (T0, TZ=UTC)."""

from __future__ import annotations

from labguide.events import HostFinished, Output, StepFinished, StepStarted, StepStatus
from labguide.i18n import gettext as _
from labguide.probes.events import (
    CurrentOutage,
    HostReachability,
    LatencySummary,
    OutageWindow,
    ProbeAnswer,
    ProbeBatch,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.tui.app import LabguideApp
from tests.tui.conftest import T0

VIP = "198.18.16.140"


def step_running(app: LabguideApp) -> None:
    sid = "install-haproxy"
    app.set_current(sid)
    bus = app.engine.bus
    bus.publish(StepStarted(sid, ("l4lb-2",), t=T0))
    for n, line in enumerate(["Hit:1 http://198.18.16.1/debian bookworm InRelease",
                              "Reading package lists...", "Building dependency tree...",
                              "The following NEW packages will be installed:",
                              "  haproxy liblua5.3-0", "Setting up haproxy (2.6.12-1) ..."]):
        bus.publish(Output(sid, "l4lb-2", "stdout", line, t=T0 + n * 0.1))
    app.relay.flush()


def step_failed(app: LabguideApp) -> None:
    sid = "l4lb1-haproxy-ready"
    app.set_current(sid)
    bus = app.engine.bus
    bus.publish(StepStarted(sid, ("l4lb-1",), t=T0))
    bus.publish(Output(sid, "l4lb-1", "stdout", "inactive", t=T0))
    # what the engine says, in the run's language
    bus.publish(HostFinished(sid, "l4lb-1", 3, 0.21, _("exit status {status}").format(status=3),
                             t=T0))
    bus.publish(StepFinished(sid, StepStatus.FAILED, 0.21, "l4lb-1: inactive", t=T0))


def _vips_before(app: LabguideApp) -> None:
    bus = app.engine.bus
    app.infos["create-l4lb-2"].status = StepStatus.PASSED
    for host, state, prio in (("l4lb-1", "MASTER", 110), ("l4lb-2", "BACKUP", 109)):
        bus.publish(HostReachability(host, True, t=T0))
        bus.publish(VrrpStateChanged(host, "VI_1", state, prio, t=T0))
    bus.publish(VipAcquired(VIP, "l4lb-1", "eth0", t=T0 + 1))


def vip_moved(app: LabguideApp) -> None:
    app.set_current("failover-vip-on-l4lb2")
    _vips_before(app)
    bus = app.engine.bus
    bus.publish(VrrpStateChanged("l4lb-1", "*", "STOPPED", t=T0 + 30))
    bus.publish(VipReleased(VIP, "l4lb-1", t=T0 + 30.0))
    bus.publish(VrrpStateChanged("l4lb-2", "VI_1", "MASTER", 109, t=T0 + 30.6))
    bus.publish(VipAcquired(VIP, "l4lb-2", "eth0", t=T0 + 30.62))


def split_brain(app: LabguideApp) -> None:
    _vips_before(app)
    bus = app.engine.bus
    bus.publish(VrrpStateChanged("l4lb-2", "VI_1", "MASTER", 109, t=T0 + 40))
    bus.publish(VipAcquired(VIP, "l4lb-2", "eth0", t=T0 + 40.1))
    # the watcher's alarm, once both have held it past the master-down interval
    window = 3 + (256 - 99) / 256
    bus.publish(SplitBrain(VIP, ("l4lb-1", "l4lb-2"), True, T0 + 40.1, window,
                           t=T0 + 40.1 + window))


def _batch(i: int, ok: int, failed: int, outage: CurrentOutage | None,
           totals: tuple[int, int]) -> ProbeBatch:
    t0 = T0 + 50 + i * 0.1
    answers = tuple(
        ProbeAnswer(seq=i * 100 + k, scheduled=t0 + k * 0.001, lateness_ms=0.1,
                    latency_ms=None if failed else 0.4 + 0.01 * k,
                    status=None if failed else 200,
                    cause="refused" if failed else "ok",
                    body="" if failed else f"web-{1 + k % 2}")
        for k in range(3))
    return ProbeBatch(
        t0=t0, t1=t0 + 0.1, target_rate=1000, started=100, ok=ok, failed=failed, dropped=0,
        late=0, in_flight=2, by_cause={"ok": ok, **({"refused": failed} if failed else {})},
        by_status={"200": ok} if ok else {},
        by_backend={"web-1": ok // 2, "web-2": ok - ok // 2} if ok else {},
        latency=LatencySummary(count=ok, min=0.2, avg=0.4, med=0.41, p90=0.6, p95=0.7, p99=1.0,
                               max=2.0) if ok else LatencySummary(),
        recent=answers, outage=outage, total_scheduled=(i + 1) * 100,
        total_sent=(i + 1) * 100, total_ok=totals[0], total_failed=totals[1], total_dropped=0,
        t=t0 + 0.1)


def outage(app: LabguideApp) -> None:
    app.set_current("load-stop-haproxy-now")
    app.query_one("#stream").start(  # type: ignore[attr-defined]
        _("load step {step} (labguide's prober, {origin})").format(
            step="load-stop-haproxy", origin=_("this machine")), 1000)
    bus = app.engine.bus
    ok_total = failed_total = 0
    for i in range(40):
        failing = 12 <= i < 17 or i >= 36
        ok, failed = (0, 100) if failing else (100, 0)
        ok_total += ok
        failed_total += failed
        current = None
        if failing:
            start = T0 + 50 + (12 if i < 17 else 36) * 0.1
            current = CurrentOutage(start=start, first_failure=start + 0.001,
                                    lost=100 * (i - (12 if i < 17 else 36) + 1))
        bus.publish(_batch(i, ok, failed, current, (ok_total, failed_total)))
        if i == 17:
            bus.publish(OutageWindow(start=T0 + 51.2, end=T0 + 51.7, lost=500,
                                     first_failure=T0 + 51.201, last_failure=T0 + 51.699,
                                     causes={"refused": 500}, t=T0 + 51.7))


SCENES = {"start": None, "step_running": step_running, "step_failed": step_failed,
          "vip_moved": vip_moved, "outage": outage, "split_brain": split_brain}
