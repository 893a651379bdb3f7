"""`labguide watch`'s words: one plain line (or one JSON object) per watcher event, each
stamped with the moment it describes. Pure text; the command itself is in probes/cli.py."""

from __future__ import annotations

import dataclasses
import json

from labguide.clock import clock_ms, stamp_ms
from labguide.events import Event
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


def _vip_line(event: VipAcquired | VipReleased | SplitBrain) -> str:
    if isinstance(event, VipAcquired):
        on = f" on {event.interface}" if event.interface else ""
        how = "" if event.host_t is not None else " (already held)"
        return f"acquired by {event.host}{on}{how}"
    if isinstance(event, VipReleased):
        why = "" if event.reason == "removed" else f" ({event.reason})"
        handover = (f" (handover: both held it {seconds(event.overlap)})"
                    if event.overlap is not None else "")
        return f"released by {event.host}{why}{handover}"
    held = seconds(event.t - event.since) if event.since is not None else "too long"
    if event.started:
        window = f" (VRRP's master-down interval: {seconds(event.window)})" if event.window else ""
        return f"SPLIT BRAIN: held by {' and '.join(event.hosts)} for {held}{window}"
    return f"split brain over after {held}, held by {', '.join(event.hosts) or 'nobody'}"


DAEMON_WORDS = {"RUNNING": "keepalived running", "STOPPED": "keepalived not running",
                "ABSENT": "keepalived not installed"}


def _keepalived_line(event: VrrpStateChanged) -> str | None:
    if event.instance == "*" and event.state == "ABSENT" and event.primed:
        return None  # a host without keepalived (a web server): nothing to say at the start
    if event.instance == "*":
        what = DAEMON_WORDS.get(event.state, f"keepalived {event.state.lower()}")
    else:
        prio = f" priority {event.priority}" if event.priority is not None else ""
        what = f"keepalived {event.instance} {event.state}{prio}"
    if event.primed:  # the state found at the start, with its own time when the log said
        what += (f" (since {clock_ms(event.host_t)})" if event.host_t is not None
                 else " (as found)")
    return what


def _reach_line(event: HostReachability) -> str:
    if event.reachable:
        return "reachable"
    error = event.error or "unknown error"
    if event.power == "stopped":
        return f"NOT RUNNING (its VM is stopped): {error}"
    if event.power == "running":
        return f"UNREACHABLE (its VM runs): {error}"
    return f"UNREACHABLE: {error}"


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
