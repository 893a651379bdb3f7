"""The VIP watcher's delay: from a VIP change in a host's kernel to the watcher's event.

Usage (root): .venv/bin/python bench/probe_vip_delay.py [--moves 20]
Two namespaces with real keepalived (bench/probe_netns_lab.py); the VIP is moved back and
forth by stopping (SIGTERM) and starting keepalived on the master. A separate
`ip -o -ts monitor address` inside each host is the reference clock (same machine clock);
the watcher runs in this process over NetnsTransport (one channel per host, as over SSH).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_netns_lab import VIP, keepalived_pair  # noqa: E402

from labguide.events import Event  # noqa: E402
from labguide.probes.events import VipAcquired, VipReleased  # noqa: E402
from labguide.probes.netns import NetnsTransport, netns_host  # noqa: E402
from labguide.probes.vip_parse import parse_address_line  # noqa: E402
from labguide.probes.vip_watch import VipWatcher  # noqa: E402


def kernel_changes(refs: dict[str, subprocess.Popen[str]], vip: str, began: float
                   ) -> list[tuple[str, bool, float]]:
    """Stop each host's reference `ip -ts monitor` and list its changes of vip after began:
    (host, deleted, the host's own timestamp)."""
    reference: list[tuple[str, bool, float]] = []
    for host, proc in refs.items():
        proc.terminate()
        out, _ = proc.communicate(timeout=5)
        for line in out.splitlines():
            change = parse_address_line(line)
            if change and change.address == vip and change.host_t and change.host_t > began:
                reference.append((host, change.deleted, change.host_t))
    return reference


def match_delays(reference: list[tuple[str, bool, float]], events: list[Event], began: float
                 ) -> tuple[list[tuple[str, bool, float, float | None]], list[float], int,
                            list[tuple[str, bool, float]]]:
    """Pair each watcher event with the kernel change it reports (same host, same direction,
    nearest in time); returns (events seen, delays in ms, unmatched events, missed changes)."""
    seen = [(e.host, isinstance(e, VipReleased), e.t, e.host_t) for e in events
            if isinstance(e, VipAcquired | VipReleased) and e.t > began]
    delays: list[float] = []
    unmatched = 0
    pool = list(reference)
    for host, deleted, t, host_t in seen:
        near = [r for r in pool if r[0] == host and r[1] == deleted and abs(r[2] - t) < 2.0]
        if not near:
            unmatched += 1
            continue
        match = min(near, key=lambda r: abs(r[2] - t))
        pool.remove(match)
        # The kernel's moment is estimated by the earliest in-host stamp of the change: the
        # reference monitor's, or the watcher's own `ip -ts` (both read the host's clock).
        kernel_t = min(match[2], host_t if host_t is not None else match[2])
        delays.append((t - kernel_t) * 1000)
    return seen, delays, unmatched, pool


async def main(moves: int) -> None:
    with keepalived_pair() as lab:
        names = {"a": lab.ns("a"), "b": lab.ns("b")}
        refs = {
            h: subprocess.Popen(["ip", "netns", "exec", ns, "env", "TZ=UTC", "ip", "-o", "-ts",
                                 "monitor", "address"], stdout=subprocess.PIPE, text=True)
            for h, ns in names.items()
        }
        events: list[Event] = []
        transports = {h: NetnsTransport(netns_host(h, ns), ns) for h, ns in names.items()}
        watcher = VipWatcher(transports, [VIP], events.append, keepalived_command=None)
        task = asyncio.create_task(watcher.run())
        await asyncio.to_thread(lab.start_keepalived, "a")
        await asyncio.to_thread(lab.start_keepalived, "b")
        await asyncio.to_thread(lab.wait_holders, ["a"])
        await asyncio.sleep(1.0)
        began = time.time()
        for _ in range(moves):  # in threads: this event loop must stay free for the watcher
            await asyncio.to_thread(lab.stop_keepalived, "a")
            await asyncio.to_thread(lab.wait_holders, ["b"])
            await asyncio.sleep(0.3)
            await asyncio.to_thread(lab.start_keepalived, "a")
            await asyncio.to_thread(lab.wait_holders, ["a"], 30.0)
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        reference = kernel_changes(refs, VIP, began)
    seen, delays, unmatched, pool = match_delays(reference, events, began)
    delays.sort()
    print(f"VIP changes in the kernels: {len(reference)}, watcher events: {len(seen)}, "
          f"matched: {len(delays)}, unmatched: {unmatched}, missed: {len(pool)}")
    if delays:
        p95 = delays[max(0, int(0.95 * len(delays)) - 1)]
        print(f"delay ms: median {statistics.median(delays):.1f}, p95 {p95:.1f}, "
              f"min {delays[0]:.1f}, max {delays[-1]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=20)
    asyncio.run(main(parser.parse_args().moves))
