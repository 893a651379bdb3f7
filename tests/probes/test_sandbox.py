"""Read-only checks against the sandbox lab when it is up (`labguide lab up`): the watcher
over real SSH to the LBs, and a light HTTP probe of the VIP. Nothing here changes the lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import pytest

from labguide.events import Event
from labguide.inventory import Inventory, load_inventory
from labguide.probes.events import HostReachability, VipAcquired
from labguide.probes.http_prober import Prober
from labguide.probes.vip_watch import VipWatcher
from labguide.transports import make_transport

pytestmark = pytest.mark.sandbox
INVENTORY = Path("/var/lib/labguide/lab/inventory.toml")
LBS = ("l4lb-1", "l4lb-2")


@pytest.fixture
def inventory(sandbox_lab: Path) -> Inventory:
    return load_inventory(sandbox_lab)


def kernel_holders(vip: str, names: list[str]) -> list[str]:
    """Who holds vip, read directly from the VMs' namespaces (lg-<name>) on this machine."""
    held = []
    for name in names:
        out = subprocess.run(["ip", "-n", f"lg-{name}", "-o", "addr", "show"],
                             capture_output=True, text=True).stdout
        if f" {vip}/" in out:
            held.append(name)
    return held


async def test_watcher_over_ssh_agrees_with_the_kernels(inventory: Inventory) -> None:
    names = [n for n in LBS if n in inventory.hosts]
    vip = inventory.vars["VIP"]
    transports = {n: make_transport(inventory.host(n)) for n in names}
    events: list[Event] = []
    watcher = VipWatcher(transports, [vip], events.append)
    task = asyncio.create_task(watcher.run())
    try:
        for _ in range(200):  # until every host answered (or was found unreachable)
            done = {e.host for e in events if isinstance(e, HostReachability)}
            if done >= set(names):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for t in transports.values():
            await t.close()
    reachable = [n for n in names if watcher.state.reachable(n)]
    assert "l4lb-1" in reachable, events
    expected = kernel_holders(vip, reachable)
    assert list(watcher.state.holders(vip)) == expected
    for host in expected:
        assert any(isinstance(e, VipAcquired) and e.host == host for e in events)


async def test_light_probe_of_the_vip(inventory: Inventory) -> None:
    vip = inventory.vars["VIP"]
    if not kernel_holders(vip, [n for n in LBS if n in inventory.hosts]):
        pytest.skip("nobody holds the VIP yet (the chapter has not set keepalived up)")
    prober = Prober(f"http://{vip}/hostname", rate=20, duration=1.0)
    await prober.start()
    summary = await prober.wait()
    assert summary.http_reqs == 20
    assert set(summary.by_backend) <= {"web-1", "web-2"}
