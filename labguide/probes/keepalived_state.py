"""Keepalived's view on each watched host, as a pure model: whether the daemon runs, each
VRRP instance's state and priority (and since when), and what its configuration says about
timing (for VRRP's master-down interval). No I/O, no clock: every change takes the time and
returns the events it produces, so the watcher and a pane folding those events agree.

Stays out of VIP ownership (vip_state.py) and of reading hosts (vip_watch.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from labguide import keepalived_conf
from labguide.errors import LabguideError
from labguide.events import Event
from labguide.probes.events import VrrpStateChanged
from labguide.probes.vip_parse import normalize_ip

RUNNING, STOPPED, ABSENT, UNKNOWN = "RUNNING", "STOPPED", "ABSENT", "UNKNOWN"
DAEMON = "*"
#: VRRP's advertisement interval when the configuration does not say (keepalived's default)
DEFAULT_ADVERT = 1.0


@dataclass(frozen=True)
class InstanceState:
    """Keepalived's view of one VRRP instance on one host (since: when it entered state)."""

    host: str
    instance: str
    state: str
    priority: int | None
    since: float | None


@dataclass(frozen=True)
class InstanceConfig:
    """What a host's keepalived.conf says of one instance, for the master-down interval."""

    name: str
    vips: tuple[str, ...]
    priority: int | None
    advert_int: float | None


def master_down_interval(advert_int: float, priority: int | None) -> float:
    """RFC 3768/5798: 3 × advert_int + skew, skew = (256 - priority) / 256 × advert_int.
    An unknown priority takes the largest skew (one advert_int)."""
    skew = advert_int if priority is None else (256 - priority) / 256 * advert_int
    return 3 * advert_int + skew


def parse_config(text: str) -> dict[str, InstanceConfig]:
    """The instances of a keepalived.conf; {} if it cannot be read (the default applies)."""
    try:
        found = keepalived_conf.summary(keepalived_conf.parse(text))
    except LabguideError:
        return {}
    out: dict[str, InstanceConfig] = {}
    for name, inst in found.items():
        if not isinstance(inst, dict) or "virtual_ipaddress" not in inst:
            continue  # global settings and vrrp_script blocks
        vips = []
        for address in inst["virtual_ipaddress"]:
            try:
                vips.append(normalize_ip(str(address)))
            except ValueError:
                continue
        prio = inst.get("priority")
        try:
            advert = float(inst["advert_int"]) if "advert_int" in inst else None
        except ValueError:
            advert = None
        out[name] = InstanceConfig(name, tuple(vips), prio if isinstance(prio, int) else None,
                                   advert)
    return out


class KeepalivedView:
    """Keepalived on each host: the daemon (RUNNING, STOPPED, ABSENT: not installed, or None
    if not known), its instances, and its configured instances."""

    def __init__(self) -> None:
        self._daemon: dict[str, tuple[str, float | None]] = {}
        self._instances: dict[str, dict[str, InstanceState]] = {}
        self._config: dict[str, dict[str, InstanceConfig]] = {}

    # ------------------------------------------------------------------ queries

    def daemon(self, host: str) -> str | None:
        entry = self._daemon.get(host)
        return entry[0] if entry else None

    def daemon_since(self, host: str) -> tuple[str, float | None] | None:
        """The daemon's state and since when (None if not known)."""
        return self._daemon.get(host)

    def instances(self, host: str) -> tuple[InstanceState, ...]:
        return tuple(self._instances.get(host, {}).values())

    def instance(self, host: str, name: str) -> InstanceState | None:
        return self._instances.get(host, {}).get(name)

    def configured(self, host: str) -> dict[str, InstanceConfig]:
        return dict(self._config.get(host, {}))

    def master_down_interval(self, vip: str) -> float:
        """The longest master-down interval among the instances configured with vip on
        any host (the slowest backup to take over); advert_int 1 and the largest skew when
        no configuration names it."""
        v = normalize_ip(vip)
        found = [c for conf in self._config.values() for c in conf.values() if v in c.vips]
        if not found:
            return master_down_interval(DEFAULT_ADVERT, None)
        return max(master_down_interval(c.advert_int or DEFAULT_ADVERT, c.priority)
                   for c in found)

    # ------------------------------------------------------------------ changes

    def configure(self, host: str, text: str) -> None:
        """host's keepalived.conf as read now (kept in memory only: it may hold auth_pass)."""
        self._config[host] = parse_config(text)

    def fact(self, host: str, instance: str, t: float, *, state: str | None = None,
             priority: int | None = None, host_t: float | None = None,
             primed: bool = False) -> list[Event]:
        """Keepalived said something about `instance` (DAEMON: the daemon) on host. A
        `primed` fact (found at the start) without its own time has an unknown `since`."""
        when = host_t if host_t is not None else (None if primed else t)
        if instance == DAEMON:
            return self._daemon_fact(host, state, t, host_t, when, primed)
        known = self._instances.setdefault(host, {})
        if self.daemon(host) != RUNNING:  # an instance speaks: keepalived runs
            self._daemon[host] = (RUNNING, when)
            self._drop_stale(host)
        old = known.get(instance)
        new_state = state or (old.state if old is not None else UNKNOWN)
        new_priority = priority if priority is not None else (
            old.priority if old is not None else None)
        if old is not None and (old.state, old.priority) == (new_state, new_priority):
            return []
        since = when if old is None or old.state != new_state else old.since
        known[instance] = InstanceState(host, instance, new_state, new_priority, since)
        return [VrrpStateChanged(host, instance, new_state, new_priority, host_t,
                                 primed=primed, t=t)]

    def _daemon_fact(self, host: str, state: str | None, t: float, host_t: float | None,
                     when: float | None, primed: bool) -> list[Event]:
        if state not in (RUNNING, STOPPED, ABSENT) or self.daemon(host) == state:
            return []
        self._daemon[host] = (state, when)
        if state in (STOPPED, ABSENT):  # every instance stops with it
            known = self._instances.setdefault(host, {})
            for name in list(known):
                known[name] = InstanceState(host, name, STOPPED, None, when)
        else:
            self._drop_stale(host)
        return [VrrpStateChanged(host, DAEMON, state, None, host_t, primed=primed, t=t)]

    def _drop_stale(self, host: str) -> None:
        """Instances of a keepalived that stopped are not this one's: they will say."""
        known = self._instances.setdefault(host, {})
        for name in [n for n, i in known.items() if i.state in (STOPPED, UNKNOWN)]:
            del known[name]

    def unknown(self, host: str, t: float) -> list[Event]:
        """The host is out of reach: we no longer know what its keepalived does."""
        self._daemon.pop(host, None)
        events: list[Event] = []
        known = self._instances.get(host, {})
        for name, old in list(known.items()):
            if old.state != UNKNOWN:
                known[name] = InstanceState(host, name, UNKNOWN, None, t)
                events.append(VrrpStateChanged(host, name, UNKNOWN, None, t=t))
        return events

    def adopt(self, host: str, found: KeepalivedView, t: float) -> list[Event]:
        """Take host's state as found at the start of a watch (its log's history folded into
        `found`, plus the service's state): one `primed` event per thing that differs from
        what is known, each with the time it has held since. History is not replayed."""
        events: list[Event] = []
        daemon = found.daemon_since(host)
        if daemon is not None and daemon[0] != self.daemon(host):
            events += self._daemon_fact(host, daemon[0], t, daemon[1], daemon[1], True)
        if found.daemon(host) in (STOPPED, ABSENT):
            return events
        for inst in found.instances(host):
            old = self.instance(host, inst.instance)
            if old is not None and (old.state, old.priority) == (inst.state, inst.priority):
                continue
            self._instances.setdefault(host, {})[inst.instance] = inst
            events.append(VrrpStateChanged(host, inst.instance, inst.state, inst.priority,
                                           inst.since, primed=True, t=t))
        return events
