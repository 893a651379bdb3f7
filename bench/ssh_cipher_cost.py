"""What the SSH cipher costs labguide and the lab: logins with ten commands each (the shape
of one host's part of a chapter check) on the sandbox lab's l4lb-1, with labguide's order
(AES-GCM first, ssh.ENCRYPTION_ALGS) and with asyncssh's own first choice
(chacha20-poly1305), in turns. Per login and its ten commands: this process's CPU (asyncssh
and labguide), the lab VMs' CPU (their cgroups' cpu.stat, found by the lab's own records),
and the wall time.

Usage (root; hold the lab's lock, briefly; the lab must be up):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/ssh_cipher_cost.py [--rounds 3]
Changes nothing in the lab.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from labcgroups import lab_usage  # bench/labcgroups.py (benches run from bench/)

from labguide.inventory import load_inventory
from labguide.sandbox.paths import LabPaths
from labguide.transports import make_transport, ssh

ORDERS = {"labguide (AES-GCM first)": ssh.ENCRYPTION_ALGS,
          "asyncssh's default (chacha20-poly1305 first)": "default"}
LOGINS, COMMANDS = 20, 10


async def logins(paths: LabPaths, order: str) -> tuple[float, float, float]:
    host = load_inventory(paths.inventory).host("l4lb-1")
    ssh.ENCRYPTION_ALGS = order
    lab0, cpu0, t0 = lab_usage(paths), time.process_time(), time.monotonic()
    for _ in range(LOGINS):
        t = make_transport(host)
        try:
            for _ in range(COMMANDS):
                assert (await t.capture("true", timeout=60)).ok
        finally:
            await t.close()
    n = LOGINS / 1000  # milliseconds per login
    return ((time.process_time() - cpu0) / n, (lab_usage(paths) - lab0) / n,
            (time.monotonic() - t0) / n)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths = LabPaths.default()
    seen: dict[str, list[tuple[float, float, float]]] = {k: [] for k in ORDERS}
    for _ in range(args.rounds):
        for name, order in ORDERS.items():
            seen[name].append(await logins(paths, order))
    print(f"| ciphers | labguide CPU per login + {COMMANDS} commands | lab CPU | wall |")
    print("|---|---|---|---|")
    for name, runs in seen.items():
        cols = [statistics.median(r[i] for r in runs) for i in range(3)]
        every = ", ".join(f"{r[0]:.1f}" for r in runs)
        print(f"| {name} | {cols[0]:.1f} ms ({every}) | {cols[1]:.1f} ms | {cols[2]:.1f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
