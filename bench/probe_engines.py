"""Which HTTP engine, and why a separate process: the prober's loop against nginx on loopback.

Usage: .venv/bin/python bench/probe_engines.py [--duration 10]
1. Each engine (aiohttp, httpx over httpx-aiohttp, httpx's default transport) at 1000/s
   and 2000/s, in its worker process; k6 at 1000/s on the same nginx for reference.
2. The same loop at 1000/s while a CPU-busy Python thread runs in the parent process:
   once in the worker process (as labguide does), once in the parent's own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_targets import nginx  # noqa: E402

from labguide.probes.http_prober import Prober  # noqa: E402
from labguide.probes.http_protocol import WorkerConfig  # noqa: E402
from labguide.probes.http_worker import Worker  # noqa: E402

K6 = str(Path(sys.executable).parent / "k6")


def row(name: str, rate: float, sent: int, achieved: float, failed: int, p50: float,
        cpu: float, duration: float) -> str:
    return (f"| {name} | {rate:g} | {sent} | {achieved / rate:.3f} | {failed} | {p50:.3f} | "
            f"{100 * cpu / duration:.0f}% | {1e6 * cpu / max(sent, 1):.0f} |")


async def engines(url: str, duration: float) -> list[str]:
    lines = []
    for engine, rate in (("aiohttp", 1000), ("httpx-aiohttp", 1000), ("httpx", 1000),
                         ("aiohttp", 2000), ("httpx-aiohttp", 2000)):
        prober = Prober(url, rate, duration=duration, engine=engine)
        await prober.start()
        s = await prober.wait()
        lines.append(row(engine, rate, s.http_reqs, s.rate, s.http_req_failed + s.dropped,
                         s.http_req_duration.med, s.cpu_seconds, s.duration))
    return lines


def k6_row(url: str, duration: float, work: Path) -> str:
    script = work / "k6.js"
    script.write_text(f"import http from 'k6/http';\n"
                      f"export default function () {{ http.get('{url}'); }}\n")
    export = work / "k6.json"
    proc = subprocess.Popen([K6, "run", "-q", "-d", f"{int(duration)}s", "--vus", "10",
                             "--rps", "1000", "--summary-export", str(export), str(script)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    m = json.loads(export.read_text())["metrics"]
    count = int(m["http_reqs"]["count"])
    return row("k6 (--vus 10 --rps 1000)", 1000, count, m["http_reqs"]["rate"],
               round(m["http_req_failed"]["value"] * count), m["http_req_duration"]["med"],
               usage.ru_utime + usage.ru_stime, duration)


def busy(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(10000):
            x += i * i


async def gil(url: str, duration: float) -> list[str]:
    lines = []
    stop = threading.Event()
    thread = threading.Thread(target=busy, args=(stop,), daemon=True)
    thread.start()
    try:
        prober = Prober(url, 1000, duration=duration)
        await prober.start()
        s = await prober.wait()
        lines.append(f"| worker process (labguide) | {s.rate:.1f} | {s.dropped} | {s.late} |")
        worker = Worker(WorkerConfig(url=url, rate=1000, duration=duration), lambda line: None)
        s = await worker.run()
        lines.append(f"| same process, same loop | {s.rate:.1f} | {s.dropped} | {s.late} |")
    finally:
        stop.set()
        thread.join()
    return lines


async def main(duration: float) -> None:
    load = Path("/proc/loadavg").read_text().split(" ")[0]
    started = time.strftime("%Y-%m-%d %H:%M")
    with nginx() as web, tempfile.TemporaryDirectory(prefix="lgt-probe-k6-") as tmp:
        out = [f"{started}, load average before: {load}, {duration:g} s per line", "",
               "| engine | target/s | sent | achieved ÷ target | failed+dropped | p50 ms | "
               "CPU (one core) | CPU µs/req |", "|---|---|---|---|---|---|---|---|"]
        out += await engines(web.url, duration)
        out.append(await asyncio.to_thread(k6_row, web.url, duration, Path(tmp)))
        out += ["", "With a CPU-busy Python thread in the parent process, 1000/s target:", "",
                "| where the request loop runs | achieved/s | dropped | late (>10 ms) |",
                "|---|---|---|---|"]
        out += await gil(web.url, duration)
    print("\n".join(out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    asyncio.run(main(parser.parse_args().duration))
