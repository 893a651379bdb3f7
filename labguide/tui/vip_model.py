"""Folds the VIP watcher's events into a VipState (the probes' pure model) for the VIP pane.

The pane's only input is events, so tests and the live watcher feed it the same way. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from labguide.events import Event
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.probes.vip_state import VipState

VIP_EVENTS = (VipAcquired, VipReleased, VrrpStateChanged, SplitBrain, HostReachability)


def new_state(vips: Sequence[str], hosts: Sequence[str]) -> VipState:
    return VipState(vips, hosts)


def fold(state: VipState, event: Event) -> bool:
    """Apply one watcher event to state; True if the pane must redraw."""
    if isinstance(event, VipAcquired):
        state.acquire(event.vip, event.host, event.t, interface=event.interface,
                      host_t=event.host_t)
    elif isinstance(event, VipReleased):
        state.release(event.vip, event.host, event.t, reason=event.reason,
                      host_t=event.host_t)
    elif isinstance(event, VrrpStateChanged):
        state.vrrp(event.host, event.instance, event.t, state=event.state,
                   priority=event.priority, host_t=event.host_t, primed=event.primed)
    elif isinstance(event, HostReachability):
        if event.reachable:
            state.set_reachable(event.host, event.t)
        else:
            state.lost(event.host, event.t, event.error or "unreachable", event.power)
    elif isinstance(event, SplitBrain):  # the watcher applied the rule (probes/vip_state.py)
        state.alarm(event.vip, event.started)
    else:
        return False
    return True
