"""The VIP watcher for a bound chapter: its VIPs on its candidate hosts (those the lab
reaches over SSH), sharing the run's connections. Used by the TUI and the plain runner."""

from __future__ import annotations

from collections.abc import Callable

from labguide.events import Event
from labguide.plan import Plan
from labguide.probes.vip_watch import VipWatcher
from labguide.transports.pool import TransportPool


def watcher_for(plan: Plan, pool: TransportPool,
                publish: Callable[[Event], None]) -> VipWatcher | None:
    """None when the chapter watches no VIP or there is no lab to watch."""
    inv = plan.inventory
    if inv is None or not plan.vips:
        return None
    hosts = [h for h in plan.chapter.watch.candidates
             if h in inv.hosts and inv.hosts[h].transport != "proxmox"]
    if not hosts:
        return None
    return VipWatcher({h: pool.get(h) for h in hosts}, plan.vips, publish)
