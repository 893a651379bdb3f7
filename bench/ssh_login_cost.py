"""What an SSH login costs the whole machine next to a command on a kept connection, on the
sandbox lab: 90 logins (30 × the l4lb-ha chapter's three SSH hosts: connect, `true`,
close), twice, then 270 commands on three kept connections (`true`, `sudo true`,
`systemctl is-active haproxy`). Machine CPU: /proc/stat's busy time over the run (both
sides: labguide's asyncssh and the VMs' sshd, with whatever else the machine ran).

Usage (root; hold the lab's lock, briefly; the lab must be up):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/ssh_login_cost.py
Changes nothing in the lab.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from labguide.inventory import Inventory, load_inventory
from labguide.sandbox.paths import LabPaths
from labguide.transports import make_transport

HOSTS = ("client", "l4lb-1", "l4lb-2")
TICK = os.sysconf("SC_CLK_TCK")


def busy() -> float:
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(f) - f[3] - f[4]) / TICK


async def login(inv: Inventory, name: str) -> None:
    t = make_transport(inv.host(name))
    try:
        assert (await t.capture("true", timeout=60)).ok
    finally:
        await t.close()


def line(what: str, b0: float, c0: float, t0: float) -> None:
    print(f"| {what} | {time.monotonic() - t0:.2f} s | {busy() - b0:.2f} CPU-s | "
          f"{time.process_time() - c0:.2f} s |")


async def main() -> None:
    inv = load_inventory(LabPaths.default().inventory)
    print("| what | wall | machine busy | this process |\n|---|---|---|---|")
    for _ in range(2):
        b0, c0, t0 = busy(), time.process_time(), time.monotonic()
        await asyncio.gather(*(login(inv, h) for _ in range(30) for h in HOSTS))
        line("90 logins", b0, c0, t0)
    kept = [make_transport(inv.host(h)) for h in HOSTS]
    try:
        for t in kept:
            await t.connect()
        for cmd in ("true", "sudo true", "systemctl is-active haproxy"):
            b0, c0, t0 = busy(), time.process_time(), time.monotonic()
            for _ in range(9):
                await asyncio.gather(*(t.capture(cmd, timeout=60) for t in kept * 10))
            line(f"270 × `{cmd}` on 3 kept connections", b0, c0, t0)
    finally:
        for t in kept:
            await t.close()


if __name__ == "__main__":
    asyncio.run(main())
