"""Host not running vs unreachable (issue 14): when the watcher loses a host it asks the
hypervisor whether the host's VM runs. Against the real Proxmox emulator over HTTPS (the
sandbox's node1, in-memory machines) and a namespace that is not there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.events import Event
from labguide.probes.events import HostReachability
from labguide.probes.netns import NetnsTransport, netns_host
from labguide.probes.vip_watch import VipWatcher
from labguide.probes.vm_power import hypervisor_power, power_in, vm_power
from labguide.transports.proxmox import ProxmoxTransport
from tests.pve.conftest import Emulator, make_emulator, wait_task

VIP = "10.213.9.140"


@pytest.fixture
def node1(tmp_path: Path) -> Iterator[Emulator]:
    emu = make_emulator(tmp_path / "pve")  # seeded like the lab, every VM stopped
    try:
        yield emu
    finally:
        emu.stop()


def test_power_is_read_from_qm_list_by_name() -> None:
    listing = ["      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID",
               "       500 l4lb-1               stopped    2048              10.00 0",
               "       501 l4lb-2               running    2048              10.00 4242"]
    assert power_in(listing, "l4lb-1") == "stopped"
    assert power_in(listing, "l4lb-2") == "running"
    assert power_in(listing, "client") == "" and power_in([], "l4lb-1") == ""


async def test_a_lost_host_whose_vm_is_stopped_is_not_running(node1: Emulator) -> None:
    pve = ProxmoxTransport(node1.host(), poll_interval=0.05)
    events: list[Event] = []
    ghost = "lgt-probe-power-none"  # no such namespace: the channel fails at once
    watcher = VipWatcher({"l4lb-1": NetnsTransport(netns_host("l4lb-1", ghost), ghost),
                          "stranger": NetnsTransport(netns_host("stranger", ghost), ghost)},
                         [VIP], events.append, keepalived_command=None, backoff=(0.2, 0.4),
                         power=hypervisor_power(pve))
    task = asyncio.create_task(watcher.run())
    try:
        assert await vm_power(pve, "l4lb-1") == "stopped"
        for _ in range(100):
            if {e.host for e in events if isinstance(e, HostReachability)} >= {
                    "l4lb-1", "stranger"}:
                break
            await asyncio.sleep(0.05)
        lost = {e.host: e for e in events if isinstance(e, HostReachability)}
        assert lost["l4lb-1"].power == "stopped" and not lost["l4lb-1"].reachable
        assert lost["stranger"].power == ""  # no VM of that name: just unreachable
        assert watcher.state.power("l4lb-1") == "stopped"
        # the VM starts (its network is still not there): news, as a second event
        api = node1.api()
        wait_task(api, api.nodes("node1").qemu(500).status.start.post())
        for _ in range(100):
            if watcher.state.power("l4lb-1") == "running":
                break
            await asyncio.sleep(0.05)
        again = [e for e in events if isinstance(e, HostReachability) and e.host == "l4lb-1"]
        assert [e.power for e in again] == ["stopped", "running"]
        assert sum(1 for e in events if isinstance(e, HostReachability)
                   and e.host == "stranger") == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pve.close()
