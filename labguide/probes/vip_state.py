"""The pure model of VIP ownership: who holds each VIP now, keepalived's view per host and
instance, reachability, and a bounded timeline of ownership changes. No I/O, no clock.

Every mutating method takes the time and returns the events that the change produces;
the watcher publishes them, the TUI and `--check` query the model.
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
    VrrpStateChanged,
)
from labguide.probes.vip_parse import normalize_ip


@dataclass(frozen=True)
class OwnershipChange:
    """One entry of a VIP's timeline: `host` acquired or released `vip` at `t`.

    For an acquisition, `gap` is the time the VIP was held by nobody just before (from the
    last release to this acquire: the failover's hole), None if someone still held it or
    it was never seen held. Times use the host's clock when known (`ip -ts`).
    """

    vip: str
    t: float
    host: str
    acquired: bool
    holders: tuple[str, ...]
    gap: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class InstanceState:
    """Keepalived's view of one VRRP instance on one host."""

    host: str
    instance: str
    state: str
    priority: int | None
    since: float


class VipState:
    """Who holds each VIP, per the kernels of the watched hosts (the truth), and keepalived's
    own view. Hosts are 'reachable' (True), 'lost' (False) or not yet seen (None)."""

    def __init__(self, vips: Sequence[str], hosts: Iterable[str] = (),
                 timeline_size: int = 500) -> None:
        self.vips: tuple[str, ...] = tuple(normalize_ip(v) for v in vips)
        self._holders: dict[str, dict[str, str]] = {v: {} for v in self.vips}  # vip→host→if
        self._empty_since: dict[str, float | None] = {v: None for v in self.vips}
        self._split: dict[str, bool] = {v: False for v in self.vips}
        self._split_since: dict[str, float | None] = {v: None for v in self.vips}
        self._reachable: dict[str, bool | None] = {h: None for h in hosts}
        self._errors: dict[str, str | None] = {}
        self._instances: dict[str, dict[str, InstanceState]] = {}
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
        return len(self._holders[normalize_ip(vip)]) >= 2

    def split_since(self, vip: str) -> float | None:
        """When the VIP got its second holder (event time), None while it has at most one."""
        return self._split_since[normalize_ip(vip)]

    def interface(self, vip: str, host: str) -> str | None:
        return self._holders[normalize_ip(vip)].get(host)

    def reachable(self, host: str) -> bool | None:
        return self._reachable.get(host)

    def error(self, host: str) -> str | None:
        return self._errors.get(host)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._reachable)

    def instances(self, host: str) -> tuple[InstanceState, ...]:
        """Keepalived's instances on host (instance "*" = the daemon: STOPPED/UNKNOWN)."""
        return tuple(self._instances.get(host, {}).values())

    def instance(self, host: str, instance: str) -> InstanceState | None:
        return self._instances.get(host, {}).get(instance)

    def changes(self, vip: str) -> list[OwnershipChange]:
        v = normalize_ip(vip)
        return [c for c in self.timeline if c.vip == v]

    def last_gap(self, vip: str) -> float | None:
        """The hole of the latest failover of vip (release → acquire), if any."""
        for change in reversed(self.changes(vip)):
            if change.acquired and change.gap is not None:
                return change.gap
        return None

    # ------------------------------------------------------------------ changes

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
        self.timeline.append(OwnershipChange(v, when, host, True, self.holders(v), gap))
        events: list[Event] = [VipAcquired(v, host, interface, host_t, t=t)]
        return events + self._split_check(v, t)

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
        self.timeline.append(
            OwnershipChange(v, when, host, False, self.holders(v), reason=reason))
        events: list[Event] = [VipReleased(v, host, reason, host_t, t=t)]
        return events + self._split_check(v, t)

    def _split_check(self, vip: str, t: float) -> list[Event]:
        now = len(self._holders[vip]) >= 2
        if now == self._split[vip]:
            return []
        self._split[vip] = now
        self._split_since[vip] = t if now else None
        return [SplitBrain(vip, self.holders(vip), now, t=t)]

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

    def set_reachable(self, host: str, t: float) -> list[Event]:
        if self._reachable.get(host) is True:
            return []
        self._reachable[host] = True
        self._errors[host] = None
        return [HostReachability(host, True, t=t)]

    def lost(self, host: str, t: float, error: str) -> list[Event]:
        """The channel to host is gone: we no longer know what it holds, so it holds nothing."""
        events: list[Event] = []
        if self._reachable.get(host) is not False:
            self._reachable[host] = False
            self._errors[host] = error
            events.append(HostReachability(host, False, error, t=t))
        for vip in self.vips:
            events += self.release(vip, host, t, reason="unreachable")
        for name, old in list(self._instances.get(host, {}).items()):
            if old.state != "UNKNOWN":
                self._instances[host][name] = InstanceState(host, name, "UNKNOWN", None, t)
                events.append(VrrpStateChanged(host, name, "UNKNOWN", None, t=t))
        return events

    def vrrp(self, host: str, instance: str, t: float, *, state: str | None = None,
             priority: int | None = None, host_t: float | None = None) -> list[Event]:
        """Keepalived said something about instance on host (state and/or priority).

        instance "*" with state "STOPPED" means the daemon is not running: every known
        instance of the host becomes STOPPED. "*" RUNNING only clears that mark.
        """
        known = self._instances.setdefault(host, {})
        when = host_t if host_t is not None else t
        if instance == "*":
            if state == "RUNNING":
                star = known.pop("*", None)
                if star is None or star.state == "RUNNING":
                    return []
                known["*"] = InstanceState(host, "*", "RUNNING", None, when)
                return [VrrpStateChanged(host, "*", "RUNNING", None, host_t, t=t)]
            events: list[Event] = []
            targets = [n for n in known if n != "*"] or ["*"]
            for name in targets:
                old = known.get(name)
                if old is not None and old.state == state:
                    continue
                known[name] = InstanceState(host, name, state or "UNKNOWN", None, when)
                events.append(VrrpStateChanged(host, name, state or "UNKNOWN", None, host_t,
                                               t=t))
            return events
        known.pop("*", None)
        old = known.get(instance)
        new_state = state or (old.state if old is not None else "UNKNOWN")
        new_priority = priority if priority is not None else (
            old.priority if old is not None else None)
        if old is not None and (old.state, old.priority) == (new_state, new_priority):
            return []
        since = when if old is None or old.state != new_state else old.since
        known[instance] = InstanceState(host, instance, new_state, new_priority, since)
        return [VrrpStateChanged(host, instance, new_state, new_priority, host_t, t=t)]
