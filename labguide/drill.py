"""`--check --drill`: a failover drill on a lab that passed its checks. It CHANGES the lab.

Moves each VIP away from its owner (keepalived stopped, then maintenance mode) under a
constant request rate, times the move with the VIP watcher (kernel stamps), counts the
losses with the HTTP prober, restores the original state in `finally` and verifies it.
Not an engine check-mode step, and no front-end code here (no Textual, no prompts).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from labguide.errors import HostError, LabguideError
from labguide.events import Event, StepStatus
from labguide.plan import Plan
from labguide.probes.events import OutageWindow, VipAcquired, VipReleased
from labguide.probes.vip_parse import normalize_ip

if TYPE_CHECKING:
    from labguide.engine import TransportPool

MAINTENANCE_FILE = "/etc/keepalived/maintenance_mode"
#: Read on every candidate host before and after the drill: it must come back unchanged.
HOST_STATE_COMMAND = (
    "for u in keepalived haproxy; do printf '%s=%s\\n' \"$u\" "
    "\"$(systemctl is-active \"$u\" 2>/dev/null || true)\"; done; "
    f"if [ -e {MAINTENANCE_FILE} ]; then echo maintenance=present; "
    "else echo maintenance=absent; fi"
)
HEALTHY = {"keepalived": "active", "haproxy": "active", "maintenance": "absent"}
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Disruption:
    """One way of taking a VIP away from its owner, and how to undo it.

    `expected_lost` is what the chapter leads one to expect (None: some loss is expected);
    `chapter` is the chapter's own measured figure, shown next to ours.
    """

    name: str
    title: str
    disrupt: str
    restore: str
    expected_lost: int | None
    chapter: str


DISRUPTIONS: Mapping[str, Disruption] = {
    "keepalived": Disruption(
        "stop-keepalived", "keepalived stopped on the owner",
        "sudo systemctl stop keepalived", "sudo systemctl start keepalived", 0,
        "0 of 29,984 lost"),
    "maintenance": Disruption(
        "maintenance", "maintenance file created on the owner",
        f"sudo touch {MAINTENANCE_FILE}", f"sudo rm -f {MAINTENANCE_FILE}", 0,
        "none lost (then a reboot)"),
    "haproxy": Disruption(
        "stop-haproxy", "HAProxy stopped on the owner",
        "sudo systemctl stop haproxy", "sudo systemctl start haproxy", None,
        "483 of 29,346 lost (1.64%)"),
}
DEFAULT_SCENARIOS = ("keepalived", "maintenance")


@dataclass(frozen=True)
class ScenarioResult:
    """One disruption of one VIP. Times in seconds.

    moved_after / back_after: from the disrupting (restoring) command to the watcher's event
    that the peer (the owner) holds the VIP alone, on this machine's clock. move_gap /
    back_gap: from the kernel's removal of the VIP on the host that held it to its addition
    on the other, from the hosts' own `ip -ts monitor` stamps (negative: both held it for
    that long). lost: requests that failed, split by when their outage began: lost_moving
    before the restoring command (the move away: what the chapter measured under load),
    lost_back after it (the failback, which the chapter did not put under load). The
    verdict compares lost_moving with the chapter. dropped: requests the prober could not
    start (its own shortfall, not the lab's).
    """

    scenario: str
    title: str
    vip: str
    owner: str
    peer: str | None
    status: StepStatus
    message: str
    moved: bool = False
    back: bool = False
    moved_after: float | None = None
    move_gap: float | None = None
    back_after: float | None = None
    back_gap: float | None = None
    url: str = ""
    sent: int = 0
    lost: int = 0
    dropped: int = 0
    lost_moving: int = 0
    lost_back: int = 0
    by_cause: Mapping[str, int] = field(default_factory=dict)
    outages: tuple[OutageWindow, ...] = ()
    expected_lost: int | None = 0
    chapter: str = ""
    duration: float = 0.0
    #: When the restoring command was sent (epoch): outages that began before it are the move's.
    restore_at: float = 0.0


@dataclass(frozen=True)
class DrillReport:
    chapter: str
    rate: float
    results: tuple[ScenarioResult, ...]
    duration: float
    restored: bool
    error: str = ""
    before: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    after: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    holders_before: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    holders_after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    strict: bool = False

    @property
    def exit_code(self) -> int:
        bad = {StepStatus.FAILED} | ({StepStatus.WARNED} if self.strict else set())
        if self.error or not self.restored or any(r.status in bad for r in self.results):
            return 1
        return 0


# ------------------------------------------------------------------------ pure helpers


def url_for(plan: Plan, vip: str) -> str:
    """The chapter's watch URL pointed at `vip` (http://VIP/hostname when it has none)."""
    if plan.url:
        parts = urllib.parse.urlsplit(plan.url)
        if parts.hostname and parts.hostname in plan.vips:
            host = f"[{vip}]" if ":" in vip else vip
            netloc = host if parts.port is None else f"{host}:{parts.port}"
            return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return f"http://{f'[{vip}]' if ':' in vip else vip}/hostname"


def parse_host_state(lines: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep:
            out[key] = value
    return out


def move_times(events: Sequence[Event], vip: str, source: str, target: str, since: float
               ) -> tuple[float | None, float | None]:
    """(after, gap) of `vip` moving from `source` to `target`, from events seen after `since`.

    after: `since` to the watcher's receipt of target's acquisition (this machine's clock).
    gap: target's kernel stamp of acquiring minus source's kernel stamp of releasing, when
    both came from the monitor (a release because the host went unreachable has no stamp).
    """
    v = normalize_ip(vip)
    acquired = next((e for e in events if isinstance(e, VipAcquired) and e.vip == v
                     and e.host == target and e.t >= since), None)
    released = next((e for e in events if isinstance(e, VipReleased) and e.vip == v
                     and e.host == source and e.t >= since), None)
    if acquired is None:
        return None, None
    after = acquired.t - since
    if released is None or released.reason != "removed":
        return after, None
    a = acquired.host_t if acquired.host_t is not None else acquired.t
    r = released.host_t if released.host_t is not None else released.t
    return after, a - r


def judge(moved: bool, back: bool, lost: int, expected: int | None, *, vip: str, owner: str,
          peer: str | None, move_timeout: float, back_timeout: float,
          holders_now: Sequence[str], error: str = "") -> tuple[StepStatus, str]:
    """A scenario's verdict: failed if the VIP did not move or did not come back."""
    held = ", ".join(holders_now) or "nobody"
    if error:
        return StepStatus.FAILED, error
    if not moved:
        return StepStatus.FAILED, (f"{vip} did not move away from {owner} within "
                                   f"{move_timeout:g} s (held by {held})")
    if not back:
        return StepStatus.FAILED, (f"{vip} did not come back to {owner} within "
                                   f"{back_timeout:g} s (held by {held})")
    if expected is not None and lost > expected:
        return StepStatus.WARNED, (f"{lost} requests lost while {vip} moved away; the chapter "
                                   f"lost {expected or 'none'}")
    return StepStatus.PASSED, f"{vip} moved {owner} → {peer} and came back"


def drill_question(plan: Plan, *, rate: float,
                   scenarios: Sequence[str] = DEFAULT_SCENARIOS) -> str:
    """What the drill will do, for the confirmation question."""
    what = "; then ".join(DISRUPTIONS[s].disrupt.replace("sudo ", "") for s in scenarios)
    return (f"The drill CHANGES the lab. For each VIP ({', '.join(plan.vips)}), on the host "
            f"that holds it: {what}; each time it waits for the VIP to move and come back and "
            f"restores the original state, while this machine sends {rate:g} requests/s to "
            f"{url_for(plan, plan.vips[0]) if plan.vips else 'the VIP'}. It runs only if "
            "every check passes. Run the drill?")


# ------------------------------------------------------------------------ the drill


class _Watch:
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


class _Drill:
    def __init__(self, plan: Plan, pool: TransportPool, watch: _Watch, *, rate: float,
                 move_timeout: float, back_timeout: float, settle: float,
                 say: Callable[[str], None]) -> None:
        self.plan = plan
        self.pool = pool
        self.watch = watch
        self.rate = rate
        self.move_timeout = move_timeout
        self.back_timeout = back_timeout
        self.settle = settle
        self.say = say

    async def sh(self, host: str, script: str) -> tuple[bool, list[str]]:
        lines: list[str] = []
        try:
            result = await self.pool.get(host).run(
                script, lambda stream, line: lines.append(line), timeout=COMMAND_TIMEOUT)
        except HostError as exc:
            return False, [exc.message]
        if not result.ok:
            lines.append(f"exit status {result.exit_status}" if result.reason is None
                         else f"no exit status ({result.reason})")
        return result.ok, lines

    async def host_states(self) -> dict[str, dict[str, str]]:
        async def one(host: str) -> dict[str, str]:
            ok, lines = await self.sh(host, HOST_STATE_COMMAND)
            return parse_host_state(lines) if ok else {"error": " | ".join(lines[-3:])}

        states = await asyncio.gather(*(one(h) for h in self.watch.hosts))
        return dict(zip(self.watch.hosts, states, strict=True))

    async def scenario(self, vip: str, key: str) -> ScenarioResult:
        from labguide.probes.http_prober import Prober

        d = DISRUPTIONS[key]
        started = time.monotonic()
        owner = self.watch.holders(vip)[0]
        peers = [h for h in self.watch.hosts if h != owner]
        url = url_for(self.plan, vip)
        # bounded by itself even if this process dies: the worker stops after `duration`
        budget = 3 * self.settle + self.move_timeout + self.back_timeout + 15.0
        moved = back = disrupted = restored = False
        peer: str | None = None
        error = ""
        t_disrupt = t_restore = time.time()
        async with Prober(url, self.rate, timeout=2.0, duration=budget) as prober:
            try:
                await asyncio.sleep(self.settle)
                self.say(f"{d.name}: {d.disrupt} on {owner} (holds {vip})")
                t_disrupt = time.time()
                disrupted = True
                ok, lines = await self.sh(owner, d.disrupt)
                if not ok:
                    error = f"`{d.disrupt}` on {owner} failed: {' | '.join(lines[-3:])}"
                else:
                    moved = await self.watch.until(
                        lambda: len(self.watch.holders(vip)) == 1
                        and self.watch.holders(vip)[0] in peers, self.move_timeout)
                    if moved:
                        peer = self.watch.holders(vip)[0]
                        self.say(f"{d.name}: {vip} is on {peer}")
                    await asyncio.sleep(self.settle)
                self.say(f"{d.name}: {d.restore} on {owner}")
                t_restore = time.time()
                ok, lines = await self.sh(owner, d.restore)
                restored = ok
                if not ok and not error:
                    error = f"`{d.restore}` on {owner} failed: {' | '.join(lines[-3:])}"
                if moved and ok:
                    back = await self.watch.until(
                        lambda: self.watch.holders(vip) == (owner,), self.back_timeout)
                    if back:
                        self.say(f"{d.name}: {vip} is back on {owner}")
                    await asyncio.sleep(self.settle)
            finally:
                if disrupted and not restored:  # failure or Ctrl-C: undo before anything else
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(COMMAND_TIMEOUT):
                            self.say(f"{d.name}: restoring: {d.restore} on {owner}")
                            await self.sh(owner, d.restore)
            summary = await prober.stop()
        moved_after, move_gap = (move_times(self.watch.events, vip, owner, peer, t_disrupt)
                                 if peer else (None, None))
        back_after, back_gap = (move_times(self.watch.events, vip, peer, owner, t_restore)
                                if peer and back else (None, None))
        lost = summary.http_req_failed if summary else 0
        outages = tuple(summary.outages) if summary else ()
        lost_moving = sum(o.lost for o in outages if o.first_failure < t_restore)
        status, message = judge(moved, back, lost_moving, d.expected_lost, vip=vip, owner=owner,
                                peer=peer, move_timeout=self.move_timeout,
                                back_timeout=self.back_timeout,
                                holders_now=self.watch.holders(vip), error=error)
        return ScenarioResult(
            scenario=d.name, title=d.title, vip=vip, owner=owner, peer=peer, status=status,
            message=message, moved=moved, back=back, moved_after=moved_after,
            move_gap=move_gap, back_after=back_after, back_gap=back_gap, url=url,
            sent=summary.http_reqs if summary else 0, lost=lost,
            dropped=summary.dropped if summary else 0, lost_moving=lost_moving,
            lost_back=sum(o.lost for o in outages) - lost_moving,
            by_cause={k: v for k, v in (summary.by_cause if summary else {}).items()
                      if k != "ok"},
            outages=outages, expected_lost=d.expected_lost, chapter=d.chapter,
            duration=time.monotonic() - started, restore_at=t_restore)


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
    say: Callable[[str], None] | None = None,
) -> DrillReport:
    """Run the drill on every VIP of the plan (or `vips`) and every scenario; see the module.

    The lab must be healthy first (one holder per VIP, keepalived and HAProxy active and no
    maintenance file on every candidate): otherwise nothing is changed and the report says
    why. Whatever happens (failure, Ctrl-C), each disruption is undone in `finally`, and
    the hosts' services, maintenance files and VIP holders are compared before and after.
    """
    from labguide.engine import TransportPool

    for key in scenarios:
        if key not in DISRUPTIONS:
            raise LabguideError(f"unknown drill scenario {key!r}",
                                hint=f"one of: {', '.join(DISRUPTIONS)}")
    candidates = plan.chapter.watch.candidates
    if len(candidates) < 2:
        raise LabguideError(
            f"chapter {plan.chapter.id} names fewer than two VIP candidates in [watch]: "
            "there is nowhere to move a VIP to")
    targets = tuple(vips) if vips is not None else plan.vips
    if not targets:
        raise LabguideError(f"chapter {plan.chapter.id} watches no VIP ([watch] vips)")
    say = say or (lambda line: None)
    own_pool = pool is None
    pool = pool or TransportPool(plan, accept_new_host_keys=accept_new_host_keys)
    watch = _Watch(pool, candidates, targets, publish or (lambda event: None))
    drill = _Drill(plan, pool, watch, rate=rate, move_timeout=move_timeout,
                   back_timeout=back_timeout, settle=settle, say=say)
    started = time.monotonic()
    results: list[ScenarioResult] = []
    before: dict[str, dict[str, str]] = {}
    after: dict[str, dict[str, str]] = {}
    holders_before: dict[str, tuple[str, ...]] = {}
    holders_after: dict[str, tuple[str, ...]] = {}
    error = ""
    task = asyncio.create_task(watch.watcher.run(), name="drill:vip-watch")
    try:
        primed = await watch.until(
            lambda: all(watch.watcher.state.reachable(h) for h in candidates), 20.0)
        if not primed:
            down = [h for h in candidates if not watch.watcher.state.reachable(h)]
            error = f"the VIP watcher could not reach {', '.join(down)}"
        else:
            before = await drill.host_states()
            holders_before = {v: watch.holders(v) for v in targets}
            error = _unfit(before, holders_before)
        if not error:
            for vip in targets:
                for key in scenarios:
                    result = await drill.scenario(vip, key)
                    results.append(result)
                    # never go on with a lab that did not come back as it was
                    if not await _settled(drill, vip, holders_before[vip]):
                        error = (f"{vip} is not back on {', '.join(holders_before[vip])}: "
                                 "the drill stopped")
                        break
                if error:
                    break
    finally:
        if holders_before:
            say("checking that the lab is back as it was")
            with contextlib.suppress(Exception):
                for vip, held in holders_before.items():
                    await _settled(drill, vip, held)
                holders_after = {v: watch.holders(v) for v in targets}
                after = await drill.host_states()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if own_pool:
            await pool.close()
    restored = bool(before) and before == after and holders_before == holders_after
    if before and not restored and not error:
        error = "the lab did not come back as it was (see before/after)"
    return DrillReport(plan.chapter.id, rate, tuple(results), time.monotonic() - started,
                       restored or not before, error, before, after, holders_before,
                       holders_after, strict)


async def _settled(drill: _Drill, vip: str, held: tuple[str, ...]) -> bool:
    return await drill.watch.until(lambda: drill.watch.holders(vip) == held,
                                   drill.back_timeout)


def _unfit(states: Mapping[str, Mapping[str, str]],
           holders: Mapping[str, tuple[str, ...]]) -> str:
    """Why the lab is not fit for a drill (empty when it is)."""
    problems = []
    for host, state in states.items():
        if "error" in state:
            problems.append(f"{host}: {state['error']}")
            continue
        for key, want in HEALTHY.items():
            if state.get(key) != want:
                problems.append(f"{host}: {key} is {state.get(key, 'unknown')}, not {want}")
    for vip, held in holders.items():
        if len(held) != 1:
            problems.append(f"{vip} is held by {', '.join(held) or 'nobody'}, not by one host")
    return ("the lab is not fit for a drill (nothing was changed): " + "; ".join(problems)
            if problems else "")


# ------------------------------------------------------------------------ reports


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_drill_table(report: DrillReport, out: TextIO) -> None:
    out.write(f"\nFailover drill ({report.rate:g} requests/s from this machine)\n")
    if report.results:
        out.write(f"  {'':<5} {'scenario':<16} {'VIP':<15} {'move':<16} {'moved s':>8} "
                  f"{'gap s':>7} {'back s':>7} {'gap s':>7} {'lost move':>9} {'lost back':>9} "
                  f"{'sent':>7}  chapter (move under load)\n")
    for r in report.results:
        mark = {StepStatus.PASSED: "ok", StepStatus.FAILED: "FAIL",
                StepStatus.WARNED: "warn"}.get(r.status, r.status.value)
        move = f"{r.owner}→{r.peer or '?'}"
        out.write(f"  {mark:<5} {r.scenario:<16} {r.vip:<15} {move:<16} "
                  f"{_s(r.moved_after):>8} {_s(r.move_gap):>7} {_s(r.back_after):>7} "
                  f"{_s(r.back_gap):>7} {r.lost_moving:>9,} {r.lost_back:>9,} {r.sent:>7,}  "
                  f"{r.chapter}\n")
        if r.status != StepStatus.PASSED:
            out.write(f"        {r.message}\n")
        for o in r.outages:
            causes = ", ".join(f"{k} {v}" for k, v in o.causes.items())
            length = f"{o.duration:.3f} s" if o.duration is not None else "open-ended"
            phase = "moving" if o.first_failure < r.restore_at else "coming back"
            out.write(f"        outage ({phase}): {length}, {o.lost} lost ({causes})\n")
        if r.dropped:
            out.write(f"        the prober could not start {r.dropped} requests (its own "
                      "shortfall, not counted as lost)\n")
    out.write("  moved/back: command → the other host holds the VIP alone (this machine's "
              "clock); gap: kernel stamps, release → acquire (negative: both held it)\n")
    if report.error:
        out.write(f"  drill: {report.error}\n")
    passed = sum(1 for r in report.results if r.status == StepStatus.PASSED)
    out.write(f"{passed} of {len(report.results)} drill scenarios passed in "
              f"{report.duration:.1f} s; lab restored: {'yes' if report.restored else 'NO'}\n")


def drill_as_dict(report: DrillReport) -> dict[str, Any]:
    def outage(o: OutageWindow) -> dict[str, Any]:
        return {"start": o.start, "end": o.end, "duration": o.duration, "lost": o.lost,
                "causes": dict(o.causes), "first_failure": o.first_failure}

    return {
        "exit_code": report.exit_code, "rate": report.rate,
        "duration": round(report.duration, 3), "restored": report.restored,
        "error": report.error,
        "before": {h: dict(s) for h, s in report.before.items()},
        "after": {h: dict(s) for h, s in report.after.items()},
        "holders_before": {v: list(h) for v, h in report.holders_before.items()},
        "holders_after": {v: list(h) for v, h in report.holders_after.items()},
        "scenarios": [{
            "scenario": r.scenario, "title": r.title, "vip": r.vip, "owner": r.owner,
            "peer": r.peer, "status": r.status.value, "message": r.message,
            "moved": r.moved, "back": r.back, "moved_after": r.moved_after,
            "move_gap": r.move_gap, "back_after": r.back_after, "back_gap": r.back_gap,
            "url": r.url, "sent": r.sent, "lost": r.lost, "dropped": r.dropped,
            "lost_moving": r.lost_moving, "lost_back": r.lost_back,
            "by_cause": dict(r.by_cause), "outages": [outage(o) for o in r.outages],
            "expected_lost": r.expected_lost, "chapter": r.chapter,
            "duration": round(r.duration, 3), "restore_at": r.restore_at,
        } for r in report.results],
    }


def drill_junit_suite(report: DrillReport) -> ET.Element:
    fails = sum(1 for r in report.results if r.status == StepStatus.FAILED)
    suite = ET.Element("testsuite", name="failover drill", id="drill",
                       tests=str(len(report.results) + 1),
                       failures=str(fails + (0 if report.restored and not report.error
                                             else 1)),
                       time=f"{report.duration:.3f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.drill",
                             name=f"{r.scenario} [{r.vip}]", time=f"{r.duration:.3f}")
        text = (f"moved {r.owner}→{r.peer} after {_s(r.moved_after)} s (gap "
                f"{_s(r.move_gap)} s), back after {_s(r.back_after)} s; lost {r.lost_moving} "
                f"moving and {r.lost_back} coming back, of {r.sent}; chapter: {r.chapter}")
        if r.status == StepStatus.FAILED:
            ET.SubElement(case, "failure", message=r.message).text = text
        else:
            ET.SubElement(case, "system-out").text = (
                f"warning: {r.message}\n{text}" if r.status == StepStatus.WARNED else text)
    case = ET.SubElement(suite, "testcase", classname=f"{report.chapter}.drill",
                         name="lab restored")
    if report.error or not report.restored:
        ET.SubElement(case, "failure",
                      message=report.error or "the lab did not come back as it was")
    return suite


# ------------------------------------------------------------------------ --check --drill


async def run_check_and_drill(plan: Plan, *, fmt: str = "table", strict: bool = False,
                              accept_new_host_keys: bool = False, rate: float = 1000,
                              out: TextIO = sys.stdout,
                              say: Callable[[str], None] | None = None) -> int:
    """The read-only checks, then (only if they all pass) the drill; one report."""
    from labguide.check import collect, render_json, render_junit, render_table
    from labguide.engine import Engine

    say = say or (lambda line: print(f"drill: {line}", file=sys.stderr, flush=True))
    engine = Engine(plan, mode="check", accept_new_host_keys=accept_new_host_keys)
    drill: DrillReport | None = None
    skipped = ""
    try:
        report = await collect(plan, engine=engine, strict=strict)
        if report.exit_code != 0:
            skipped = "not run: the checks did not all pass"
            say(skipped)
        else:
            drill = await run_drill(plan, rate=rate, pool=engine.pool, strict=strict, say=say)
    finally:
        await engine.close()
    if fmt == "json":
        buf = io.StringIO()
        render_json(report, buf)
        data = json.loads(buf.getvalue())
        data["drill"] = drill_as_dict(drill) if drill else {"skipped": skipped}
        json.dump(data, out, indent=2)
        out.write("\n")
    elif fmt == "junit":
        buf = io.StringIO()
        render_junit(report, plan, buf)
        root = ET.fromstring(buf.getvalue())
        if drill is None:
            suite = ET.SubElement(root, "testsuite", name="failover drill", id="drill",
                                  tests="1", failures="0", skipped="1")
            case = ET.SubElement(suite, "testcase", classname=f"{plan.chapter.id}.drill",
                                 name="drill")
            ET.SubElement(case, "skipped", message=skipped)
        else:
            suite = drill_junit_suite(drill)
            root.append(suite)
        for count in ("tests", "failures", "skipped"):
            root.set(count, str(int(root.get(count, "0")) + int(suite.get(count, "0"))))
        ET.indent(root)
        out.write(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
    else:
        render_table(report, plan, out)
        if drill is not None:
            render_drill_table(drill, out)
        else:
            out.write(f"\nfailover drill {skipped}\n")
    if report.exit_code != 0:
        return report.exit_code
    assert drill is not None
    return drill.exit_code
