"""`labguide watch`'s words: one plain line (or one JSON object) per watcher event, each
stamped with the moment it describes; the lines in the run's language, JSON as data. Pure
text; the command itself is in probes/cli.py."""

from __future__ import annotations

import dataclasses
import json

from labguide.clock import clock_ms, stamp_ms
from labguide.events import Event
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)


def seconds(value: float) -> str:
    """A short duration: 1 ms, 620 ms, 3.6 s."""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


#: Why a host released a VIP, said ("removed" is the usual case: nothing is said).
REASONS = {"unreachable": N_("unreachable")}


def _vip_line(event: VipAcquired | VipReleased | SplitBrain) -> str:
    if isinstance(event, VipAcquired):
        text = (_("acquired by {host} on {interface}") if event.interface
                else _("acquired by {host}")).format(host=event.host, interface=event.interface)
        return text + ("" if event.host_t is not None else " " + _("(already held)"))
    if isinstance(event, VipReleased):
        text = _("released by {host}").format(host=event.host)
        if event.reason != "removed":
            text += f" ({_(REASONS.get(event.reason, event.reason))})"
        if event.overlap is not None:
            text += " " + _("(handover: both held it {duration})").format(
                duration=seconds(event.overlap))
        return text
    held = seconds(event.t - event.since) if event.since is not None else _("too long")
    if event.started:
        text = _("SPLIT BRAIN: held by {hosts} for {duration}").format(
            hosts=_(" and ").join(event.hosts), duration=held)
        if event.window:
            text += " " + _("(VRRP's master-down interval: {duration})").format(
                duration=seconds(event.window))
        return text
    return _("split brain over after {duration}, held by {hosts}").format(
        duration=held, hosts=", ".join(event.hosts) or _("nobody"))


DAEMON_WORDS = {"RUNNING": N_("keepalived running"), "STOPPED": N_("keepalived not running"),
                "ABSENT": N_("keepalived not installed")}


def _keepalived_line(event: VrrpStateChanged) -> str | None:
    if event.instance == "*" and event.state == "ABSENT" and event.primed:
        return None  # a host without keepalived (a web server): nothing to say at the start
    if event.instance == "*":
        what = (_(DAEMON_WORDS[event.state]) if event.state in DAEMON_WORDS
                else f"keepalived {event.state.lower()}")
    else:
        what = f"keepalived {event.instance} {event.state}"
        if event.priority is not None:
            what += " " + _("priority {priority}").format(priority=event.priority)
    if event.primed:  # the state found at the start, with its own time when the log said
        what += " " + (_("(since {time})").format(time=clock_ms(event.host_t))
                       if event.host_t is not None else _("(as found)"))
    return what


def _reach_line(event: HostReachability) -> str:
    if event.reachable:
        return _("reachable")
    error = event.error or _("unknown error")
    if event.power == "stopped":
        return _("NOT RUNNING (its VM is stopped): {error}").format(error=error)
    if event.power == "running":
        return _("UNREACHABLE (its VM runs): {error}").format(error=error)
    return _("UNREACHABLE: {error}").format(error=error)


def format_event(event: Event) -> str | None:
    """One plain line for a watcher event, with a millisecond timestamp; None to skip."""
    t = stamp_ms(event.t)
    if isinstance(event, VipAcquired | VipReleased | SplitBrain):
        return f"{t}  {event.vip}  {_vip_line(event)}"
    if isinstance(event, VrrpStateChanged):
        what = _keepalived_line(event)
        return None if what is None else f"{t}  {event.host}  {what}"
    if isinstance(event, HostReachability):
        return f"{t}  {event.host}  {_reach_line(event)}"
    return None


def event_json(event: Event) -> str:
    data = dataclasses.asdict(event)
    data["event"] = type(event).__name__
    return json.dumps(data, separators=(",", ":"))
