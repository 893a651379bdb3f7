"""The VIP watcher against real keepalived in network namespaces (LocalTransport + netns)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable

from probe_netns_lab import VIP, KeepalivedPair

from labguide.events import Event
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.probes.keepalived_source import file_log_command
from labguide.probes.netns import NetnsTransport, netns_host
from labguide.probes.vip_watch import VipWatcher

WAIT = 20.0  # generous bound for VRRP timings (3 × advert + skew) on a loaded machine


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    async def wait_for(self, match: Callable[[Event], bool], timeout: float = WAIT) -> Event:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching event in {timeout}s; got {self.events}")


@contextlib.asynccontextmanager
async def watching(pair: KeepalivedPair, names: dict[str, str] | None = None,
                   keepalived: bool = True) -> AsyncIterator[tuple[VipWatcher, Recorder]]:
    names = names or {"l4lb-1": pair.ns("a"), "l4lb-2": pair.ns("b")}
    transports = {name: NetnsTransport(netns_host(name, ns), ns) for name, ns in names.items()}
    logs = {name: keepalived_of(pair, ns.rsplit("-", 1)[1]) for name, ns in names.items()}
    recorder = Recorder()
    watcher = VipWatcher(transports, [VIP], recorder,
                         keepalived_command=logs if keepalived else None,
                         backoff=(0.2, 1.0))
    task = asyncio.create_task(watcher.run())
    try:
        yield watcher, recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def keepalived_of(pair: KeepalivedPair, host: str) -> str:
    """What the watcher runs for keepalived in the pair's namespace `host`: its log file,
    its pid file (running or not), its configuration."""
    return file_log_command(str(pair.log(host)), str(pair.pidfile(host)), str(pair.conf(host)))


def acquired(host: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, VipAcquired) and e.host == host and e.vip == VIP


def released(host: str, reason: str = "removed") -> Callable[[Event], bool]:
    return lambda e: isinstance(e, VipReleased) and e.host == host and e.reason == reason


def vrrp(host: str, state: str) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, VrrpStateChanged) and e.host == host and e.state == state


async def test_primes_then_follows_a_failover(pair: KeepalivedPair) -> None:
    pair.start_keepalived("a")
    pair.start_keepalived("b")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair) as (watcher, rec):
        first = await rec.wait_for(acquired("l4lb-1"))
        assert isinstance(first, VipAcquired) and first.host_t is None  # from the listing
        assert first.interface == "eth0"
        await rec.wait_for(lambda e: isinstance(e, HostReachability) and e.host == "l4lb-2")
        await rec.wait_for(vrrp("l4lb-1", "MASTER"))
        await rec.wait_for(vrrp("l4lb-2", "BACKUP"))
        assert watcher.state.owner(VIP) == "l4lb-1"

        pair.stop_keepalived("a")  # SIGTERM: priority 0, the backup takes over at once
        gone = await rec.wait_for(released("l4lb-1"))
        got = await rec.wait_for(acquired("l4lb-2"))
        await rec.wait_for(vrrp("l4lb-1", "STOPPED"))
        await rec.wait_for(vrrp("l4lb-2", "MASTER"))
        assert isinstance(gone, VipReleased) and isinstance(got, VipAcquired)
        assert gone.host_t is not None and got.host_t is not None  # `ip -ts` stamps
        assert watcher.state.owner(VIP) == "l4lb-2"
        gap = watcher.state.last_gap(VIP)
        assert gap is not None and 0 <= gap < 5
        assert [(c.host, c.acquired) for c in watcher.state.changes(VIP)] == [
            ("l4lb-1", True), ("l4lb-1", False), ("l4lb-2", True)]
        assert not any(isinstance(e, SplitBrain) for e in rec.events)


async def test_split_brain_when_the_hosts_cannot_hear_each_other(pair: KeepalivedPair) -> None:
    pair.start_keepalived("a")
    pair.start_keepalived("b")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair, keepalived=False) as (watcher, rec):
        await rec.wait_for(acquired("l4lb-1"))
        pair.partition("b")
        started = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and e.started)
        assert isinstance(started, SplitBrain)
        assert started.hosts == ("l4lb-1", "l4lb-2") and started.vip == VIP
        assert watcher.state.split_brain(VIP) and watcher.state.owner(VIP) is None
        pair.heal("b")  # b hears a's higher priority again and steps down
        ended = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and not e.started)
        assert isinstance(ended, SplitBrain) and ended.hosts == ("l4lb-1",)
        assert watcher.state.owner(VIP) == "l4lb-1"


async def test_reconnects_by_itself_after_a_host_reboot(pair: KeepalivedPair) -> None:
    pair.start_keepalived("a")
    pair.start_keepalived("b")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair) as (watcher, rec):
        await rec.wait_for(acquired("l4lb-1"))
        await rec.wait_for(vrrp("l4lb-1", "MASTER"))
        reboot = asyncio.create_task(asyncio.to_thread(pair.reboot, "a", 2.0))
        lost = await rec.wait_for(
            lambda e: isinstance(e, HostReachability) and e.host == "l4lb-1" and not e.reachable)
        await rec.wait_for(released("l4lb-1", "unreachable"))
        await rec.wait_for(vrrp("l4lb-1", "UNKNOWN"))
        await rec.wait_for(acquired("l4lb-2"))
        await reboot
        back = await rec.wait_for(
            lambda e: isinstance(e, HostReachability) and e.host == "l4lb-1" and e.reachable
            and e.t > lost.t)
        # keepalived on the rebooted host comes back and takes the VIP again (preempt)
        await rec.wait_for(lambda e: acquired("l4lb-1")(e) and e.t > back.t)
        await rec.wait_for(released("l4lb-2"))
        assert watcher.state.owner(VIP) == "l4lb-1"
        assert watcher.state.reachable("l4lb-1") is True


async def test_a_host_that_does_not_exist_yet_is_an_event(pair: KeepalivedPair) -> None:
    names = {"l4lb-1": pair.ns("a"), "l4lb-9": pair.ns("c")}  # -c is created later
    async with watching(pair, names, keepalived=False) as (watcher, rec):
        down = await rec.wait_for(
            lambda e: isinstance(e, HostReachability) and e.host == "l4lb-9")
        assert isinstance(down, HostReachability) and not down.reachable
        assert down.error and "ended" in down.error
        await rec.wait_for(
            lambda e: isinstance(e, HostReachability) and e.host == "l4lb-1" and e.reachable)
        assert watcher.state.holders(VIP) == ()
        await asyncio.sleep(1.5)  # several retries, still no crash and one event only
        assert sum(1 for e in rec.events if isinstance(e, HostReachability)
                   and e.host == "l4lb-9") == 1


async def test_a_killed_master_keeps_a_stale_vip_and_that_is_split_brain(
        pair: KeepalivedPair) -> None:
    pair.start_keepalived("a")
    pair.start_keepalived("b")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair) as (watcher, rec):
        await rec.wait_for(vrrp("l4lb-2", "BACKUP"))
        pair.stop_keepalived("a", sig=signal.SIGKILL)
        await rec.wait_for(lambda e: isinstance(e, SplitBrain) and e.started)
        await rec.wait_for(vrrp("l4lb-2", "MASTER"))
        assert watcher.state.holders(VIP) == ("l4lb-1", "l4lb-2")


# ------------------------------------------------------------------------- issue 14


def instance_events(rec: Recorder, host: str) -> list[VrrpStateChanged]:
    return [e for e in rec.events if isinstance(e, VrrpStateChanged) and e.host == host]


async def test_the_state_found_at_the_start_is_not_history_replayed(
        pair: KeepalivedPair) -> None:
    """Two runs of keepalived in its log (BACKUP, MASTER, stopped, BACKUP, MASTER): the
    watcher says once what holds now, each with the time it has held since, instead of
    replaying every old change stamped with the moment it started."""
    pair.start_keepalived("a")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    pair.stop_keepalived("a")
    await asyncio.to_thread(pair.wait_holders, [])
    pair.start_keepalived("a")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    await asyncio.sleep(1.2)  # the last change is now seconds old
    began = time.time()
    async with watching(pair, {"l4lb-1": pair.ns("a")}) as (watcher, rec):
        await rec.wait_for(vrrp("l4lb-1", "MASTER"))
        await asyncio.sleep(1.0)  # anything else would have come by now
    said = instance_events(rec, "l4lb-1")
    assert [(e.instance, e.state) for e in said] == [("*", "RUNNING"), ("VI_1", "MASTER")]
    assert all(e.primed and e.t >= began for e in said)
    master = said[-1]
    assert master.host_t is not None and master.host_t < began - 1  # its own time
    instance = watcher.state.instance("l4lb-1", "VI_1")
    assert instance is not None and instance.since == master.host_t


async def test_a_stop_and_a_kill_of_keepalived_show_within_two_seconds(
        pair: KeepalivedPair) -> None:
    """`systemctl stop keepalived` and a crash (SIGKILL: nothing in the log) both show as
    "keepalived not running" within the service poll, while the host stays reachable."""
    pair.start_keepalived("a")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair, {"l4lb-1": pair.ns("a")}) as (watcher, rec):
        await rec.wait_for(vrrp("l4lb-1", "MASTER"))
        stopped_at = time.time()
        pair.stop_keepalived("a")  # SIGTERM, as systemctl stop
        stop = await rec.wait_for(lambda e: vrrp("l4lb-1", "STOPPED")(e)
                                  and e.instance == "*", timeout=5)
        assert stop.t - stopped_at < 2.0
        assert watcher.state.keepalived.daemon("l4lb-1") == "STOPPED"
        inst = watcher.state.instance("l4lb-1", "VI_1")
        assert inst is not None and inst.state == "STOPPED"
        pair.start_keepalived("a")
        running = await rec.wait_for(lambda e: vrrp("l4lb-1", "RUNNING")(e) and e.t > stop.t)
        await rec.wait_for(lambda e: vrrp("l4lb-1", "MASTER")(e) and e.t > running.t)
        killed_at = time.time()
        pair.stop_keepalived("a", sig=signal.SIGKILL)  # the log says nothing
        kill = await rec.wait_for(lambda e: vrrp("l4lb-1", "STOPPED")(e) and e.t > killed_at,
                                  timeout=5)
        assert kill.t - killed_at < 2.0
        assert watcher.state.reachable("l4lb-1") is True  # the host runs: not "unreachable"
        assert watcher.state.holders(VIP) == ("l4lb-1",)  # a SIGKILL leaves the VIP behind


async def test_a_failback_is_a_handover_and_a_vrrp_block_a_split_brain(
        pair: KeepalivedPair) -> None:
    """Preemption: l4lb-1 comes back and adds the VIP a moment before l4lb-2 drops it: a
    handover, with its measured overlap, and no alarm. With VRRP (IP protocol 112) dropped
    on l4lb-2, both hold it: the alarm comes once the master-down interval (read from
    the hosts' keepalived.conf: 3 × 1 s + (256 - 99) / 256 s) has passed, not before."""
    pair.start_keepalived("a")
    pair.start_keepalived("b")
    await asyncio.to_thread(pair.wait_holders, ["a"])
    async with watching(pair) as (watcher, rec):
        await rec.wait_for(vrrp("l4lb-2", "BACKUP"))
        window = 3 + (256 - 99) / 256
        assert abs(watcher.state.window(VIP) - window) < 1e-6
        overlaps = []
        for _ in range(8):  # which side moves first is VRRP's race: until one overlaps
            since = time.time()
            pair.stop_keepalived("a")
            await rec.wait_for(lambda e, s=since: acquired("l4lb-2")(e) and e.t > s)
            pair.start_keepalived("a")  # preempts: priority 100 over 99
            handed = await rec.wait_for(lambda e, s=since: released("l4lb-2")(e) and e.t > s)
            await rec.wait_for(lambda e, s=since: acquired("l4lb-1")(e) and e.t > s)
            assert isinstance(handed, VipReleased)
            if handed.overlap is not None:
                overlaps.append(handed.overlap)
                assert [c.overlap for c in watcher.state.changes(VIP)
                        if c.host == "l4lb-2" and not c.acquired][-1] == handed.overlap
                break
        assert overlaps and 0 <= overlaps[0] < window
        await asyncio.sleep(window + 0.5)
        assert not any(isinstance(e, SplitBrain) for e in rec.events)

        await asyncio.to_thread(pair.drop_vrrp, "b")
        try:
            both = await rec.wait_for(acquired("l4lb-2"))
            alarm = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and e.started)
            assert isinstance(alarm, SplitBrain) and alarm.hosts == ("l4lb-1", "l4lb-2")
            assert alarm.window is not None and abs(alarm.window - window) < 1e-6
            assert alarm.t - both.t >= window - 0.01
            assert watcher.state.split_brain(VIP)
        finally:
            await asyncio.to_thread(pair.allow_vrrp, "b")
        over = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and not e.started)
        assert isinstance(over, SplitBrain) and over.hosts == ("l4lb-1",)
        ended = watcher.state.changes(VIP)[-1]
        assert ended.split and ended.overlap is not None and ended.overlap >= window - 0.5


async def test_a_keepalived_channel_that_ends_leaves_no_stale_state(
        pair: KeepalivedPair) -> None:
    """What keepalived said is no longer known once its channel ends (it used to be kept,
    silently, while the channel was retried for up to 30 s): UNKNOWN, then the state
    found again."""
    said = ("printf '%s\\n' 'Wed Dec  2 02:52:08 2026: (VI_1) Entering MASTER STATE' "
            "'@active active' '@history-end'; sleep 0.5")
    transports = {"l4lb-1": NetnsTransport(netns_host("l4lb-1", pair.ns("a")), pair.ns("a"))}
    rec = Recorder()
    watcher = VipWatcher(transports, [VIP], rec, keepalived_command=said)
    task = asyncio.create_task(watcher.run())
    try:
        first = await rec.wait_for(vrrp("l4lb-1", "MASTER"))
        assert isinstance(first, VrrpStateChanged) and first.primed
        gone = await rec.wait_for(vrrp("l4lb-1", "UNKNOWN"))
        assert watcher.state.reachable("l4lb-1") is True  # the host itself is fine
        await rec.wait_for(lambda e: vrrp("l4lb-1", "MASTER")(e) and e.t > gone.t)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
