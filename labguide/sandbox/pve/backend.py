"""What the emulator's VMs run on: the Machines protocol, and MemoryMachines for tests.

The real backend (systemd-nspawn hosts) is labguide.sandbox.machines.NspawnMachines.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Machines(Protocol):
    """Disks and power of the emulated VMs. Start/stop may take seconds; the rest is quick."""

    def create_disk(self, vmid: int, source_vmid: int | None) -> None: ...

    def destroy_disk(self, vmid: int) -> None: ...

    async def start(self, vmid: int, name: str, ip_cidr: str, gateway: str | None) -> None: ...

    async def shutdown(self, vmid: int, timeout: float) -> None: ...

    async def stop(self, vmid: int) -> None: ...

    def is_running(self, vmid: int) -> bool: ...

    def guest_interfaces(self, vmid: int) -> list[dict[str, Any]] | None: ...


@dataclass
class _Running:
    name: str
    ip_cidr: str
    mac: str
    up_at: float


class MemoryMachines:
    """VMs that exist only in memory: a start takes start_delay, the guest agent answers
    boot_delay after that. For conformance tests of the API; no host is created."""

    def __init__(self, start_delay: float = 0.05, boot_delay: float = 0.3) -> None:
        self.start_delay = start_delay
        self.boot_delay = boot_delay
        self.disks: dict[int, int | None] = {}
        self.running: dict[int, _Running] = {}

    def create_disk(self, vmid: int, source_vmid: int | None) -> None:
        self.disks[vmid] = source_vmid

    def destroy_disk(self, vmid: int) -> None:
        self.disks.pop(vmid, None)

    async def start(self, vmid: int, name: str, ip_cidr: str, gateway: str | None) -> None:
        ipaddress.ip_interface(ip_cidr)  # a bad address fails the start, as a real boot would
        await asyncio.sleep(self.start_delay)
        mac = "BC:24:11:%02X:%02X:%02X" % ((vmid >> 16) & 255, (vmid >> 8) & 255, vmid & 255)
        self.running[vmid] = _Running(name, ip_cidr, mac, time.monotonic() + self.boot_delay)

    async def shutdown(self, vmid: int, timeout: float) -> None:
        await asyncio.sleep(min(self.start_delay, timeout))
        self.running.pop(vmid, None)

    async def stop(self, vmid: int) -> None:
        self.running.pop(vmid, None)

    def is_running(self, vmid: int) -> bool:
        return vmid in self.running

    def guest_interfaces(self, vmid: int) -> list[dict[str, Any]] | None:
        vm = self.running.get(vmid)
        if vm is None or time.monotonic() < vm.up_at:
            return None
        return guest_interfaces_answer(vm.ip_cidr, vm.mac)


def guest_interfaces_answer(ip_cidr: str, mac: str) -> list[dict[str, Any]]:
    """The shape of QGA's network-get-interfaces result for lo + eth0."""
    iface = ipaddress.ip_interface(ip_cidr)
    family = "ipv4" if iface.version == 4 else "ipv6"
    return [
        {
            "name": "lo", "hardware-address": "00:00:00:00:00:00",
            "ip-addresses": [
                {"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128},
            ],
            "statistics": {"rx-bytes": 0, "rx-packets": 0, "rx-errs": 0, "rx-dropped": 0,
                           "tx-bytes": 0, "tx-packets": 0, "tx-errs": 0, "tx-dropped": 0},
        },
        {
            "name": "eth0", "hardware-address": mac.lower(),
            "ip-addresses": [
                {"ip-address-type": family, "ip-address": str(iface.ip),
                 "prefix": iface.network.prefixlen},
            ],
            "statistics": {"rx-bytes": 0, "rx-packets": 0, "rx-errs": 0, "rx-dropped": 0,
                           "tx-bytes": 0, "tx-packets": 0, "tx-errs": 0, "tx-dropped": 0},
        },
    ]


def load_machines(kind: str, state_dir: Path, boot_delay: float = 0.3) -> Machines:
    """The backend named on the command line: "memory" or "nspawn" (the sandbox lab's hosts).

    nspawn keeps its records under the sandbox's own paths, not under state_dir."""
    if kind == "memory":
        return MemoryMachines(boot_delay=boot_delay)
    if kind == "nspawn":
        from labguide.sandbox.machines import NspawnMachines  # written by the sandbox lab

        machines: Machines = NspawnMachines()
        return machines
    raise ValueError(f"unknown machines backend {kind!r} (memory or nspawn)")
