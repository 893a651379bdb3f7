"""Benchmark of the PVE API emulator and the proxmox transport, on loopback only.

Starts its own emulator (memory backend, 127.0.0.1, ephemeral port, temporary state dir, 401
delay 0, clone time 0), measures, stops it by its own handle and removes the state dir.

    .venv/bin/python bench/pve_api.py [--requests 300] [--steps 15]

Prints a markdown table for docs/benchmarks.md. Bounded in count; no timed assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxmoxer import ProxmoxAPI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labguide.inventory import Host, ProxmoxSettings  # noqa: E402
from labguide.sandbox.pve.store import VmStore, vm_config  # noqa: E402
from labguide.transports.proxmox import ProxmoxTransport  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def access_lines(state: Path) -> int:
    return sum(1 for line in (state / "emulator.log").read_text().splitlines()
               if "labguide.sandbox.pve.access" in line)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--steps", type=int, default=15)
    args = ap.parse_args()
    state = Path(tempfile.mkdtemp(prefix="lgt-pve-bench-"))
    store = VmStore(state)
    store.create(999, vm_config(999, "tmpl", template=True))
    store.create(500, vm_config(500, "l4lb-1", ip_cidr="198.18.16.133/32", gateway="198.18.16.1"))
    log = open(state / "emulator.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "labguide.sandbox.pve", "--state", str(state), "--listen",
         "127.0.0.1:0", "--machines", "memory", "--auth-delay", "0", "--clone-seconds", "0",
         "--boot-delay", "0"], stdout=log, stderr=log)
    rows: list[tuple[str, str]] = []
    try:
        deadline = time.monotonic() + 20
        while not (state / "ready.json").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "emulator did not start"
            time.sleep(0.05)
        ready = json.loads((state / "ready.json").read_text())
        secret = Path(ready["token_secret_file"]).read_text().strip()
        password = Path(ready["password_file"]).read_text().strip()
        port, ca = int(ready["port"]), ready["ca"]
        load = os.getloadavg()
        rows.append(("load average at start (1/5 min)", f"{load[0]:.2f} / {load[1]:.2f}"))

        for label, api in (
            ("token", ProxmoxAPI("127.0.0.1", port=port, user="root@pam", token_name="labguide",
                                 token_value=secret, verify_ssl=ca)),
            ("ticket", ProxmoxAPI("127.0.0.1", port=port, user="root@pam", password=password,
                                  verify_ssl=ca)),
        ):
            vm = api.nodes("node1").qemu(500)
            vm.status.current.get()
            lat: list[float] = []
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            for _ in range(args.requests):
                t = time.perf_counter()
                vm.status.current.get()
                lat.append((time.perf_counter() - t) * 1000)
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
            rows.append((f"GET status/current, proxmoxer, {label}, {args.requests} sequential",
                         f"{args.requests / wall:.0f} req/s; p50 {pct(lat, .5):.2f} ms, p95 "
                         f"{pct(lat, .95):.2f} ms; emulator CPU {cpu / args.requests * 1000:.2f}"
                         " ms/req"))

        host = Host(name="node1", address="127.0.0.1", transport="proxmox", port=port,
                    proxmox=ProxmoxSettings(node="node1", port=port, token_id=ready["token_id"],
                                            token_secret_file=Path(ready["token_secret_file"]),
                                            ca=Path(ca)))

        async def steps(poll: float, first: int) -> tuple[list[float], int]:
            transport = ProxmoxTransport(host, poll_interval=poll)
            await transport.connect()
            times = []
            before = access_lines(state)
            for i in range(args.steps):
                vmid = first + i
                script = (f"qm clone 999 {vmid} --name b{vmid} --full\n"
                          f"qm set {vmid} --ipconfig0 ip=198.18.16.{10 + i}/32,gw=198.18.16.1\n"
                          f"qm start {vmid}")
                t = time.perf_counter()
                result = await transport.run(script, lambda s, line: None, timeout=60)
                times.append((time.perf_counter() - t) * 1000)
                assert result.exit_status == 0
            await transport.close()
            return times, access_lines(state) - before

        for poll, first in ((0.05, 1000), (0.5, 2000)):
            times, requests = asyncio.run(steps(poll, first))
            rows.append((f"chapter step (clone+set+start, clone time 0), poll ≤{poll}s "
                         f"(adaptive from 0.05 s), {args.steps} runs",
                         f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms; "
                         f"{requests / args.steps:.1f} API requests per step"))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)
    print("| measurement | result |\n|---|---|")
    for what, result in rows:
        print(f"| {what} | {result} |")


if __name__ == "__main__":
    main()
