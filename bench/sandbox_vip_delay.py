"""The VIP watcher's delay over SSH on the sandbox lab: kernel change → watcher event.

Usage (root, lab up with the chapter done; the lab is shared, so hold its lock):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/sandbox_vip_delay.py [--moves 20]
The watcher runs here over SSH to l4lb-1 and l4lb-2 (the inventory's SshTransport, one
long-lived channel per host). The VIP is moved `--moves` times each way: keepalived
stopped on l4lb-1 (l4lb-2 takes the VIP), then started (it takes it back), over another SSH
connection. Reference: an `ip -o -ts monitor address` inside each LB's network namespace
(`ip netns exec lg-<host>`: same kernel and clock as the container). The kernel's moment is
the earliest in-host stamp of the change (the reference's or the watcher's own `-ts`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labguide.events import Event  # noqa: E402
from labguide.inventory import load_inventory  # noqa: E402
from labguide.probes.vip_watch import VipWatcher  # noqa: E402
from labguide.transports import make_transport  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe_vip_delay import kernel_changes, match_delays  # noqa: E402

INVENTORY = Path("/var/lib/labguide/lab/inventory.toml")
LBS = ("l4lb-1", "l4lb-2")


async def main(moves: int) -> None:
    inv = load_inventory(INVENTORY)
    vip = inv.vars["VIP"]
    refs = {h: subprocess.Popen(["ip", "netns", "exec", f"lg-{h}", "env", "TZ=UTC", "ip", "-o",
                                 "-ts", "monitor", "address"], stdout=subprocess.PIPE, text=True)
            for h in LBS}
    events: list[Event] = []
    watch_t = {h: make_transport(inv.host(h)) for h in LBS}
    mover = make_transport(inv.host("l4lb-1"))
    watcher = VipWatcher(watch_t, [vip], events.append, keepalived_command=None)
    task = asyncio.create_task(watcher.run())
    load_before = Path("/proc/loadavg").read_text().split()[0]

    async def until(holders: tuple[str, ...], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while watcher.state.holders(vip) != holders:
            assert time.monotonic() < deadline, (holders, watcher.state.holders(vip))
            await asyncio.sleep(0.02)

    async def run(script: str) -> None:
        res = await mover.run(script, lambda s, line: None, timeout=60)
        assert res.ok, (script, res)

    try:
        await until(("l4lb-1",))
        await asyncio.sleep(1.0)
        began = time.time()
        for _ in range(moves):
            await run("sudo systemctl stop keepalived")
            await until(("l4lb-2",))
            await asyncio.sleep(0.3)
            await run("sudo systemctl start keepalived")
            await until(("l4lb-1",))
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)
    finally:
        with contextlib.suppress(Exception):
            await run("sudo systemctl start keepalived")  # never leave it stopped
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for transport in (*watch_t.values(), mover):
            await transport.close()
    reference = kernel_changes(refs, vip, began)
    seen, delays, unmatched, pool = match_delays(reference, events, began)
    delays.sort()
    result = {"moves_each_way": moves, "kernel_changes": len(reference),
              "watcher_events": len(seen), "matched": len(delays), "unmatched": unmatched,
              "missed": len(pool), "load_before": load_before,
              "load_after": Path("/proc/loadavg").read_text().split()[0]}
    if delays:
        result.update({
            "median_ms": round(statistics.median(delays), 2),
            "p95_ms": round(delays[max(0, int(0.95 * len(delays)) - 1)], 2),
            "min_ms": round(delays[0], 2), "max_ms": round(delays[-1], 2)})
    print(json.dumps(result, indent=2))
    print(f"\n| changes in the kernels | watcher events | matched | median delay | p95 | max |\n"
          f"|---|---|---|---|---|---|\n| {len(reference)} | {len(seen)} | {len(delays)} | "
          f"**{result.get('median_ms')} ms** | {result.get('p95_ms')} ms | "
          f"{result.get('max_ms')} ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    asyncio.run(main(parser.parse_args().moves))
