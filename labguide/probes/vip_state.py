"""The pure model of VIP ownership: who holds each VIP now, when two holders are a handover
and when a split brain, reachability, and a bounded timeline of ownership changes; keepalived's
view per host lives in its KeepalivedView (`keepalived`). No I/O, no clock.

Every mutating method takes the time and returns the events that the change produces;
the watcher publishes them, the TUI and `--check` query the model.

The one rule for two holders (used by `labguide watch` and the VIP pane alike): two hosts
holding a VIP for less than VRRP's master-down interval (3 × advert_int + skew, from the
hosts' keepalived.conf, else 3 s + skew for advert_int 1) is a handover, as on every
failback where the preempting master adds the VIP a moment before the old one drops it;
longer is a split brain. `due(t)` raises the alarm once the interval has passed; the
watcher calls it at `next_due()`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labguide.events import Event
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
)
from labguide.probes.keepalived_state import InstanceState, KeepalivedView
from labguide.probes.vip_parse import normalize_ip


@dataclass(frozen=True)
class OwnershipChange:
    """One entry of a VIP's timeline: `host` acquired or released `vip` at `t`.

    For an acquisition, `gap` is the time the VIP was held by nobody just before (from the
    last release to this acquire: the failover's hole), None if someone still held it or
    it was never seen held. For a release that ends a time of two holders, `overlap` is how
    long two held it and `split` whether that was a split brain (longer than the
    master-down interval) rather than a handover. Times use the host's clock when known
    (`ip -ts`).
    """

    vip: str
    t: float
    host: str
    acquired: bool
    holders: tuple[str, ...]
    gap: float | None = None
    reason: str = ""
    overlap: float | None = None
    split: bool = False


@dataclass
class _Overlap:
    """Two or more hold a VIP: since when (the watcher's clock, for the alarm; the hosts'
    stamps, for the measured overlap), and whether the alarm was raised."""

    since: float
    host_since: float
    alarm: bool = False


class VipState:
    """Who holds each VIP, per the kernels of the watched hosts (the truth), and keepalived's
    own view. Hosts are 'reachable' (True), 'lost' (False) or not yet seen (None)."""

    def __init__(self, vips: Sequence[str], hosts: Iterable[str] = (),
                 timeline_size: int = 500) -> None:
        self.vips: tuple[str, ...] = tuple(normalize_ip(v) for v in vips)
        self._holders: dict[str, dict[str, str]] = {v: {} for v in self.vips}  # vip→host→if
        self._empty_since: dict[str, float | None] = {v: None for v in self.vips}
        self._overlap: dict[str, _Overlap | None] = {v: None for v in self.vips}
        self._reachable: dict[str, bool | None] = {h: None for h in hosts}
        self._errors: dict[str, str | None] = {}
        self._power: dict[str, str] = {}
        self.keepalived = KeepalivedView()
        self.timeline: deque[OwnershipChange] = deque(maxlen=timeline_size)

    # ------------------------------------------------------------------ queries

    def holders(self, vip: str) -> tuple[str, ...]:
        """The hosts whose kernel holds vip now, sorted."""
        return tuple(sorted(self._holders[normalize_ip(vip)]))

    def owner(self, vip: str) -> str | None:
        """The one host holding vip, or None if nobody (or several: see split_brain)."""
        holders = self.holders(vip)
        return holders[0] if len(holders) == 1 else None

    def split_brain(self, vip: str) -> bool:
        """Two or more have held vip for longer than the master-down interval: the alarm."""
        overlap = self._overlap[normalize_ip(vip)]
        return overlap is not None and overlap.alarm

    def handover(self, vip: str) -> bool:
        """Two or more hold vip, for less than the master-down interval so far."""
        overlap = self._overlap[normalize_ip(vip)]
        return overlap is not None and not overlap.alarm

    def split_since(self, vip: str) -> float | None:
        """When the VIP got its second holder (event time), None while it has at most one."""
        overlap = self._overlap[normalize_ip(vip)]
        return None if overlap is None else overlap.since

    def window(self, vip: str) -> float:
        """How long two holders of vip are a handover (VRRP's master-down interval)."""
        return self.keepalived.master_down_interval(vip)

    def next_due(self) -> float | None:
        """When the next handover in progress would become a split brain (for `due`)."""
        times = [o.since + self.window(v) for v, o in self._overlap.items()
                 if o is not None and not o.alarm]
        return min(times, default=None)

    def interface(self, vip: str, host: str) -> str | None:
        return self._holders[normalize_ip(vip)].get(host)

    def reachable(self, host: str) -> bool | None:
        return self._reachable.get(host)

    def error(self, host: str) -> str | None:
        return self._errors.get(host)

    def power(self, host: str) -> str:
        """What the hypervisor said of host's VM while out of reach ("" if nothing)."""
        return self._power.get(host, "")

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._reachable)

    def instances(self, host: str) -> tuple[InstanceState, ...]:
        """Keepalived's instances on host (see also `keepalived.daemon(host)`)."""
        return self.keepalived.instances(host)

    def instance(self, host: str, instance: str) -> InstanceState | None:
        return self.keepalived.instance(host, instance)

    def changes(self, vip: str) -> list[OwnershipChange]:
        v = normalize_ip(vip)
        return [c for c in self.timeline if c.vip == v]

    def last_gap(self, vip: str) -> float | None:
        """The hole of the latest failover of vip (release → acquire), if any."""
        for change in reversed(self.changes(vip)):
            if change.acquired and change.gap is not None:
                return change.gap
        return None

    # ------------------------------------------------------------------ ownership

    def _watched(self, address: str) -> str | None:
        try:
            a = normalize_ip(address)
        except ValueError:
            return None
        return a if a in self._holders else None

    def acquire(self, vip: str, host: str, t: float, *, interface: str = "",
                host_t: float | None = None) -> list[Event]:
        v = self._watched(vip)
        if v is None or host in self._holders[v]:
            return []
        holders = self._holders[v]
        when = host_t if host_t is not None else t
        empty_since = self._empty_since[v]
        gap = when - empty_since if not holders and empty_since is not None else None
        holders[host] = interface
        self._empty_since[v] = None
        if len(holders) >= 2 and self._overlap[v] is None:
            self._overlap[v] = _Overlap(t, when)
        self.timeline.append(OwnershipChange(v, when, host, True, self.holders(v), gap))
        return [VipAcquired(v, host, interface, host_t, t=t)]

    def release(self, vip: str, host: str, t: float, *, reason: str = "removed",
                host_t: float | None = None) -> list[Event]:
        v = self._watched(vip)
        if v is None or host not in self._holders[v]:
            return []
        holders = self._holders[v]
        del holders[host]
        when = host_t if host_t is not None else t
        if not holders:
            self._empty_since[v] = when
        overlap, lasted, split = self._overlap[v], None, False
        if overlap is not None and len(holders) < 2:  # the time of two holders ends
            self._overlap[v] = None
            lasted, split = max(when - overlap.host_since, 0.0), overlap.alarm
        self.timeline.append(OwnershipChange(v, when, host, False, self.holders(v),
                                             reason=reason, overlap=lasted, split=split))
        events: list[Event] = [VipReleased(v, host, reason, host_t,
                                           None if split else lasted, t=t)]
        if overlap is not None and split:
            events.append(SplitBrain(v, self.holders(v), False, overlap.since,
                                     self.window(v), t=t))
        return events

    def due(self, t: float) -> list[Event]:
        """Raise the split-brain alarm for every VIP held by two or more for at least its
        master-down interval by t."""
        events: list[Event] = []
        for vip, overlap in self._overlap.items():
            if overlap is None or overlap.alarm:
                continue
            window = self.window(vip)
            if t - overlap.since >= window:
                overlap.alarm = True
                events.append(SplitBrain(vip, self.holders(vip), True, overlap.since, window,
                                         t=t))
        return events

    def alarm(self, vip: str, started: bool) -> None:
        """A watcher's SplitBrain event, for a model folded from events: the watcher's own
        model applied the rule (it knows the configuration), this one follows it."""
        v = self._watched(vip)
        overlap = self._overlap[v] if v is not None else None
        if overlap is not None and started:
            overlap.alarm = True

    def prime(self, host: str, held: Iterable[tuple[str, str]], t: float) -> list[Event]:
        """The full list of (address, interface) on host: set its holdings to exactly that."""
        events = self.set_reachable(host, t)
        now = {v: i for a, i in held if (v := self._watched(a)) is not None}
        for vip in self.vips:
            if vip in now:
                events += self.acquire(vip, host, t, interface=now[vip])
            else:
                events += self.release(vip, host, t)
        return events

    def apply(self, host: str, address: str, interface: str, deleted: bool, t: float,
              host_t: float | None = None) -> list[Event]:
        """An address change seen by `ip monitor` on host."""
        if deleted:
            return self.release(address, host, t, host_t=host_t)
        return self.acquire(address, host, t, interface=interface, host_t=host_t)

    # ------------------------------------------------------------------ hosts

    def set_reachable(self, host: str, t: float) -> list[Event]:
        if self._reachable.get(host) is True:
            return []
        self._reachable[host] = True
        self._errors[host] = None
        self._power.pop(host, None)
        return [HostReachability(host, True, t=t)]

    def lost(self, host: str, t: float, error: str, power: str = "") -> list[Event]:
        """The channel to host is gone: we no longer know what it holds, so it holds nothing.
        Called again while it stays lost, only a change of `power` is news."""
        events: list[Event] = []
        if self._reachable.get(host) is not False or power != self.power(host):
            self._reachable[host] = False
            self._errors[host] = error
            self._power[host] = power
            events.append(HostReachability(host, False, error, power, t=t))
        for vip in self.vips:
            events += self.release(vip, host, t, reason="unreachable")  # i18n: not text
        return events + self.keepalived.unknown(host, t)

    def vrrp(self, host: str, instance: str, t: float, *, state: str | None = None,
             priority: int | None = None, host_t: float | None = None,
             primed: bool = False) -> list[Event]:
        """Keepalived said something about instance on host (state and/or priority);
        instance "*" is the daemon (RUNNING, STOPPED). See KeepalivedView.fact."""
        return self.keepalived.fact(host, instance, t, state=state, priority=priority,
                                    host_t=host_t, primed=primed)
