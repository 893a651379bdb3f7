"""The VIP watcher for a bound chapter: its VIPs on its candidate hosts (those the lab
reaches over SSH), sharing the run's connections, and the lab's Proxmox host to tell a
stopped VM from an unreachable one. Used by the TUI and the plain runner."""

from __future__ import annotations

from collections.abc import Callable

from labguide.events import Event
from labguide.plan import Plan
from labguide.probes.vip_watch import VipWatcher
from labguide.probes.vm_power import hypervisor_power
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
    # a lost host: the hypervisor says whether its VM still runs (host not running vs
    # unreachable), when the lab has a Proxmox host
    pve = next((h for h, host in inv.hosts.items() if host.transport == "proxmox"), None)
    return VipWatcher({h: pool.get(h) for h in hosts}, plan.vips, publish,
                      power=hypervisor_power(pool.get(pve)) if pve else None)
