"""Whether a lost host's VM runs, from the hypervisor: `qm list` on a Proxmox host (through
its Transport), the VM found by the host's name. So the VIP watcher can tell "host not
running" (its VM is stopped) from "unreachable" (it runs, or nobody knows).

Reads only; stays out of the watcher's loop and of any front-end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from labguide.transports.base import Transport

#: seconds for one `qm list` (the watcher bounds it too)
TIMEOUT = 3.0


def power_in(listing: tuple[str, ...] | list[str], name: str) -> str:
    """The status of the VM called `name` in `qm list` output: "running", "stopped" (or
    another word qm uses), "" when no VM has that name."""
    for line in listing[1:]:  # after the header
        words = line.split()
        if len(words) >= 3 and words[0].isdigit() and words[1] == name:
            return words[2]
    return ""


async def vm_power(hypervisor: Transport, name: str) -> str:
    """The status of the VM named `name` on the hypervisor, "" if not known."""
    captured = await hypervisor.capture("qm list", timeout=TIMEOUT)
    return power_in(captured.stdout, name) if captured.ok else ""


def hypervisor_power(hypervisor: Transport) -> Callable[[str], Awaitable[str]]:
    """A VipWatcher `power` function: each host's VM is the one with the host's name (the
    chapter names its VMs after their hosts)."""

    async def power(host: str) -> str:
        return await vm_power(hypervisor, host)

    return power
