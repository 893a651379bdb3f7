"""What one run of each of the l4lb-ha chapter's check commands costs the sandbox lab's VM it
runs on: each command ten times on one kept connection (labguide's SSH transport), the VM's
cgroup CPU before and after (bench/labcgroups.py), less what ten runs of `true` cost (sshd's
channel and labguide's bash wrapper). Among them the commands the chapter's checks used to
run: a login from the client to a load balancer (`ssh … cat haproxy.cfg | sha256sum`) and
the five-process pipeline the balance checks ran after every request.

Usage (root; hold the lab's lock, briefly; the lab must be up and the chapter finished, so
that l4lb-2 exists and the client knows the load balancers' host keys):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/lab_command_cost.py [--runs 10]
Changes nothing in the lab.
"""

from __future__ import annotations

import argparse
import asyncio

from labcgroups import unit_usage

from labguide.inventory import load_inventory
from labguide.sandbox.paths import LabPaths
from labguide.transports import make_transport

L4LB1, VIP = "198.18.16.133", "198.18.16.140"
COMMANDS = (
    ("client", "true"),
    ("client", f"curl -fsS --max-time 3 http://{VIP}/hostname"),
    ("client", "k6 version"),
    ("client", f"ssh -o BatchMode=yes ubuntu@{L4LB1} cat /etc/haproxy/haproxy.cfg | sha256sum"),
    ("client", "names=' web-1 web-2'; echo $names | tr ' ' '\\n' | sort -u | wc -l"),
    ("l4lb-1", "true"),
    ("l4lb-1", "systemctl is-active haproxy"),
    ("l4lb-1", "sha256sum /etc/haproxy/haproxy.cfg"),
    ("l4lb-1", f"ip -o -4 address show dev eth0 | grep -Fw -- {VIP}"),
    ("l4lb-1", "sudo cat /etc/keepalived/keepalived.conf"),
)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    paths = LabPaths.default()
    inv = load_inventory(paths.inventory)
    transports = {h: make_transport(inv.host(h)) for h in ("client", "l4lb-1")}
    base: dict[str, float] = {}
    print("| host | command | lab CPU per run | beyond `true` |\n|---|---|---|---|")
    try:
        for host, command in COMMANDS:
            t = transports[host]
            await t.connect()
            before = unit_usage(paths)[host]
            for _ in range(args.runs):
                assert (await t.capture(command, timeout=60)).ok, (host, command)
            ms = (unit_usage(paths)[host] - before) / args.runs * 1000
            base.setdefault(host, ms)
            shown = command.replace("|", "\\|")  # a Markdown table's cell
            print(f"| {host} | `{shown}` | {ms:.1f} ms | {ms - base[host]:.1f} ms |")
    finally:
        for t in transports.values():
            await t.close()


if __name__ == "__main__":
    asyncio.run(main())
