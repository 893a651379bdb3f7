"""`--check --drill`: a failover drill on a lab that passed its checks. It CHANGES the lab.

Moves each VIP away from its owner (keepalived stopped, then maintenance mode) under a
constant request rate, times the move with the VIP watcher (kernel stamps), counts the
losses with the HTTP prober, restores the original state in `finally` and verifies it.
Not an engine check-mode step, and no front-end code here (no Textual, no prompts).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from labguide.drill.judging import judge, move_times, parse_host_state, unfit_reason, url_for
from labguide.drill.model import (
    COMMAND_TIMEOUT,
    DEFAULT_SCENARIOS,
    DISRUPTIONS,
    HOST_STATE_COMMAND,
    Disruption,
    DrillReport,
    ScenarioResult,
)
from labguide.errors import HostError, LabguideError
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.plan import Plan
from labguide.probes.events import OutageWindow, ProbeBatch, ProbeSummary
from labguide.report.runlog import Sample
from labguide.transports.pool import TransportPool

Say = Callable[[str], None]


class VipWatch:
    """The VIP watcher plus a way to wait for a condition on its state."""

    def __init__(self, pool: TransportPool, hosts: Sequence[str], vips: Sequence[str],
                 publish: Callable[[Event], None]) -> None:
        from labguide.probes.vip_watch import VipWatcher

        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._publish = publish
        self.watcher = VipWatcher({h: pool.get(h) for h in hosts}, vips, self._on,
                                  keepalived_command=None)
        self.hosts = tuple(hosts)

    def _on(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()
        self._publish(event)

    def holders(self, vip: str) -> tuple[str, ...]:
        return self.watcher.state.holders(vip)

    async def until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()


@dataclass
class Attempt:
    """What happened during one scenario, filled as it goes."""

    disruption: Disruption
    vip: str
    owner: str
    peers: list[str]
    moved: bool = False
    back: bool = False
    disrupted: bool = False
    restored: bool = False
    peer: str | None = None
    error: str = ""
    t_start: float = field(default_factory=time.time)
    t_disrupt: float = field(default_factory=time.time)
    t_restore: float = field(default_factory=time.time)
    samples: list[Sample] = field(default_factory=list)

    def window(self, event: Event) -> None:
        """The prober's windows kept as the load's time series (for the report's chart)."""
        if isinstance(event, ProbeBatch):
            self.samples.append(Sample(event.t1, event.rate, event.failed,
                                       event.latency.p95 if event.latency.count else None))


class Drill:
    def __init__(self, plan: Plan, pool: TransportPool, watch: VipWatch, *, rate: float,
                 move_timeout: float, back_timeout: float, settle: float, say: Say) -> None:
        self.plan = plan
        self.pool = pool
        self.watch = watch
        self.rate = rate
        self.move_timeout = move_timeout
        self.back_timeout = back_timeout
        self.settle = settle
        self.say = say

    async def sh(self, host: str, script: str) -> tuple[bool, list[str]]:
        try:
            captured = await self.pool.get(host).capture(script, timeout=COMMAND_TIMEOUT)
        except HostError as exc:
            return False, [exc.message]
        lines = list(captured.lines)
        if not captured.ok:
            lines.append(str(captured.result))
        return captured.ok, lines

    async def host_states(self) -> dict[str, dict[str, str]]:
        async def one(host: str) -> dict[str, str]:
            ok, lines = await self.sh(host, HOST_STATE_COMMAND)
            return parse_host_state(lines) if ok else {"error": " | ".join(lines[-3:])}

        states = await asyncio.gather(*(one(h) for h in self.watch.hosts))
        return dict(zip(self.watch.hosts, states, strict=True))

    async def settled(self, vip: str, held: tuple[str, ...]) -> bool:
        return await self.watch.until(lambda: self.watch.holders(vip) == held,
                                      self.back_timeout)

    # -- one scenario ----------------------------------------------------------------------

    async def disrupt(self, a: Attempt) -> None:
        d, vip = a.disruption, a.vip
        self.say(_("{scenario}: {command} on {host} (holds {vip})").format(
            scenario=d.name, command=d.disrupt, host=a.owner, vip=vip))
        a.t_disrupt, a.disrupted = time.time(), True
        ok, lines = await self.sh(a.owner, d.disrupt)
        if not ok:
            a.error = _("`{command}` on {host} failed: {output}").format(
                command=d.disrupt, host=a.owner, output=" | ".join(lines[-3:]))
            return
        a.moved = await self.watch.until(
            lambda: len(self.watch.holders(vip)) == 1 and self.watch.holders(vip)[0] in a.peers,
            self.move_timeout)
        if a.moved:
            a.peer = self.watch.holders(vip)[0]
            self.say(_("{scenario}: {vip} is on {host}").format(scenario=d.name, vip=vip,
                                                                 host=a.peer))
        await asyncio.sleep(self.settle)

    async def restore(self, a: Attempt) -> None:
        d, vip = a.disruption, a.vip
        self.say(_("{scenario}: {command} on {host}").format(scenario=d.name, command=d.restore,
                                                              host=a.owner))
        a.t_restore = time.time()
        ok, lines = await self.sh(a.owner, d.restore)
        a.restored = ok
        if not ok and not a.error:
            a.error = _("`{command}` on {host} failed: {output}").format(
                command=d.restore, host=a.owner, output=" | ".join(lines[-3:]))
        if a.moved and ok:
            a.back = await self.watch.until(lambda: self.watch.holders(vip) == (a.owner,),
                                            self.back_timeout)
            if a.back:
                self.say(_("{scenario}: {vip} is back on {host}").format(
                    scenario=d.name, vip=vip, host=a.owner))
            await asyncio.sleep(self.settle)

    async def undo(self, a: Attempt) -> None:
        """After a failure or Ctrl-C: undo the disruption before anything else."""
        if a.disrupted and not a.restored:
            d = a.disruption
            with contextlib.suppress(Exception):
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    self.say(_("{scenario}: restoring: {command} on {host}").format(
                        scenario=d.name, command=d.restore, host=a.owner))
                    await self.sh(a.owner, d.restore)

    async def scenario(self, vip: str, key: str) -> ScenarioResult:
        from labguide.probes.http_prober import Prober

        started = time.monotonic()
        owner = self.watch.holders(vip)[0]
        a = Attempt(DISRUPTIONS[key], vip, owner, [h for h in self.watch.hosts if h != owner])
        # bounded by itself even if this process dies: the worker stops after `duration`
        budget = 3 * self.settle + self.move_timeout + self.back_timeout + 15.0
        async with Prober(url_for(self.plan, vip), self.rate, timeout=2.0,
                          duration=budget, publish=a.window) as prober:
            try:
                await asyncio.sleep(self.settle)
                await self.disrupt(a)
                await self.restore(a)
            finally:
                await self.undo(a)
            summary = await prober.stop()
        return self.result(a, summary, time.monotonic() - started)

    def result(self, a: Attempt, summary: ProbeSummary | None, duration: float
               ) -> ScenarioResult:
        d, vip, owner, peer = a.disruption, a.vip, a.owner, a.peer
        events = self.watch.events
        moved_after, move_gap = (move_times(events, vip, owner, peer, a.t_disrupt)
                                 if peer else (None, None))
        back_after, back_gap = (move_times(events, vip, peer, owner, a.t_restore)
                                if peer and a.back else (None, None))
        outages: tuple[OutageWindow, ...] = tuple(summary.outages) if summary else ()
        lost_moving = sum(o.lost for o in outages if o.first_failure < a.t_restore)
        status, message = judge(a.moved, a.back, lost_moving, d.expected_lost, vip=vip,
                                owner=owner, peer=peer, move_timeout=self.move_timeout,
                                back_timeout=self.back_timeout,
                                holders_now=self.watch.holders(vip), error=a.error)
        return ScenarioResult(
            scenario=d.name, title=_(d.title), vip=vip, owner=owner, peer=peer, status=status,
            message=message, moved=a.moved, back=a.back, moved_after=moved_after,
            move_gap=move_gap, back_after=back_after, back_gap=back_gap,
            url=url_for(self.plan, vip), sent=summary.http_reqs if summary else 0,
            lost=summary.http_req_failed if summary else 0,
            dropped=summary.dropped if summary else 0, lost_moving=lost_moving,
            lost_back=sum(o.lost for o in outages) - lost_moving,
            by_cause={k: v for k, v in (summary.by_cause if summary else {}).items()
                      if k != "ok"},
            outages=outages, expected_lost=d.expected_lost, chapter=_(d.chapter),
            duration=duration, restore_at=a.t_restore, started_at=a.t_start,
            disrupt_at=a.t_disrupt, samples=tuple(a.samples))


@dataclass
class Findings:
    """The drill's results and the lab's state around them."""

    results: list[ScenarioResult] = field(default_factory=list)
    before: dict[str, dict[str, str]] = field(default_factory=dict)
    after: dict[str, dict[str, str]] = field(default_factory=dict)
    holders_before: dict[str, tuple[str, ...]] = field(default_factory=dict)
    holders_after: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error: str = ""

    @property
    def restored(self) -> bool:
        return (bool(self.before) and self.before == self.after
                and self.holders_before == self.holders_after)


def _checked(plan: Plan, scenarios: Sequence[str], vips: Sequence[str] | None
             ) -> tuple[str, ...]:
    """The VIPs to drill; a drill that cannot run is an error before anything changes."""
    for key in scenarios:
        if key not in DISRUPTIONS:
            raise LabguideError(_("unknown drill scenario {name!r}").format(name=key),
                                hint=_("one of: {names}").format(names=", ".join(DISRUPTIONS)))
    if len(plan.chapter.watch.candidates) < 2:
        raise LabguideError(_(
            "chapter {chapter} names fewer than two VIP candidates in [watch]: there is "
            "nowhere to move a VIP to").format(chapter=plan.chapter.id))
    targets = tuple(vips) if vips is not None else plan.vips
    if not targets:
        raise LabguideError(_("chapter {chapter} watches no VIP ([watch] vips)").format(
            chapter=plan.chapter.id))
    return targets


async def _prime(drill: Drill, found: Findings, targets: Sequence[str]) -> None:
    """Wait for the watcher, then read the lab as it is; `found.error` says if it is unfit."""
    watch = drill.watch
    state = watch.watcher.state
    if not await watch.until(lambda: all(state.reachable(h) for h in watch.hosts), 20.0):
        down = [h for h in watch.hosts if not state.reachable(h)]
        found.error = _("the VIP watcher could not reach {hosts}").format(hosts=", ".join(down))
        return
    found.before = await drill.host_states()
    found.holders_before = {v: watch.holders(v) for v in targets}
    found.error = unfit_reason(found.before, found.holders_before)


async def _scenarios(drill: Drill, found: Findings, targets: Sequence[str],
                     scenarios: Sequence[str]) -> None:
    for vip in targets:
        for key in scenarios:
            found.results.append(await drill.scenario(vip, key))
            # never go on with a lab that did not come back as it was
            if not await drill.settled(vip, found.holders_before[vip]):
                found.error = _("{vip} is not back on {hosts}: the drill stopped").format(
                    vip=vip, hosts=", ".join(found.holders_before[vip]))
                return


async def _verify(drill: Drill, found: Findings, targets: Sequence[str], say: Say) -> None:
    say(_("checking that the lab is back as it was"))
    with contextlib.suppress(Exception):
        for vip, held in found.holders_before.items():
            await drill.settled(vip, held)
        found.holders_after = {v: drill.watch.holders(v) for v in targets}
        found.after = await drill.host_states()


async def run_drill(
    plan: Plan,
    *,
    rate: float = 1000,
    pool: TransportPool | None = None,
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    vips: Sequence[str] | None = None,
    move_timeout: float = 15.0,
    back_timeout: float = 30.0,
    settle: float = 2.0,
    strict: bool = False,
    accept_new_host_keys: bool = False,
    publish: Callable[[Event], None] | None = None,
    say: Say | None = None,
) -> DrillReport:
    """Run the drill on every VIP of the plan (or `vips`) and every scenario; see the module.

    The lab must be healthy first (one holder per VIP, keepalived and HAProxy active and no
    maintenance file on every candidate): otherwise nothing is changed and the report says
    why. Whatever happens (failure, Ctrl-C), each disruption is undone in `finally`, and
    the hosts' services, maintenance files and VIP holders are compared before and after.
    """
    targets = _checked(plan, scenarios, vips)
    say = say or (lambda line: None)
    own_pool = pool is None
    pool = pool or TransportPool(plan, accept_new_host_keys=accept_new_host_keys)
    watch = VipWatch(pool, plan.chapter.watch.candidates, targets,
                     publish or (lambda event: None))
    drill = Drill(plan, pool, watch, rate=rate, move_timeout=move_timeout,
                  back_timeout=back_timeout, settle=settle, say=say)
    started = time.monotonic()
    found = Findings()
    task = asyncio.create_task(watch.watcher.run(), name="drill:vip-watch")
    try:
        await _prime(drill, found, targets)
        if not found.error:
            await _scenarios(drill, found, targets, scenarios)
    finally:
        if found.holders_before:
            await _verify(drill, found, targets, say)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if own_pool:
            await pool.close()
    if found.before and not found.restored and not found.error:
        found.error = _("the lab did not come back as it was (see before/after)")
    return DrillReport(plan.chapter.id, rate, tuple(found.results), time.monotonic() - started,
                       found.restored or not found.before, found.error, found.before,
                       found.after, found.holders_before, found.holders_after, strict)
