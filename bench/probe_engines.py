"""Which HTTP engine, and why a separate process: the prober's loop against nginx on loopback.

Usage: .venv/bin/python bench/probe_engines.py [--duration 10]
1. Each engine (aiohttp, httpx over httpx-aiohttp, httpx's default transport) at 1000/s
   and 2000/s, in its worker process; k6 at 1000/s on the same nginx for reference.
2. The same loop at 1000/s while a CPU-busy Python thread runs in the parent process:
   once in the worker process (as labguide does), once in the parent's own event loop.
3. The connection modes (probes/http_engines.py) at interactive and load rates: a new
   connection per request (as curl) against keep-alive over 10 connections (as k6's VUs),
   then the backends seen through HAProxy in TCP mode in front of two nginx.
   `--only modes` runs this part alone.
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

from probe_targets import balanced_pair, nginx  # noqa: E402

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


async def modes(url: str, lb_url: str, duration: float) -> list[str]:
    lines = ["| rate/s | connections | sent | achieved ÷ target | failed+dropped | p50 ms | "
             "CPU (one core) | CPU µs/req |", "|---|---|---|---|---|---|---|---|"]
    for rate, mode in ((10, "new"), (10, "keepalive"), (100, "new"), (100, "keepalive"),
                       (1000, "new"), (1000, "keepalive"), (2000, "keepalive")):
        prober = Prober(url, rate, duration=duration, connections=mode)
        await prober.start()
        s = await prober.wait()
        lines.append(row(str(rate), rate, s.http_reqs, s.rate, s.http_req_failed + s.dropped,
                         s.http_req_duration.med, s.cpu_seconds, s.duration
                         ).replace(f"| {rate} | {rate} |", f"| {rate} | {mode} |", 1))
    lines += ["", "Through HAProxy (TCP mode, roundrobin) to web-1 and web-2, auto mode:", "",
              "| rate/s | connections | first ten answers | web-1 | web-2 |",
              "|---|---|---|---|---|"]
    for rate in (10, 1000):
        out = Path(tempfile.mkstemp(prefix="lgt-probe-modes-")[1])
        try:
            prober = Prober(lb_url, rate, duration=min(duration, 3.0), out=str(out))
            await prober.start()
            s = await prober.wait()
            records = sorted((json.loads(x) for x in out.read_text().splitlines()),
                             key=lambda r: r["seq"])
        finally:
            out.unlink(missing_ok=True)
        first = " ".join(r["body"].removeprefix("web-") for r in records[:10])
        lines.append(f"| {rate} | {', '.join(s.connections)} | {first} | "
                     f"{s.by_backend.get('web-1', 0)} | {s.by_backend.get('web-2', 0)} |")
    return lines


async def main(duration: float, only: str | None = None) -> None:
    load = Path("/proc/loadavg").read_text().split(" ")[0]
    started = time.strftime("%Y-%m-%d %H:%M")
    if only == "modes":
        with nginx() as web, balanced_pair() as lb:
            out = [f"{started}, load average before: {load}, {duration:g} s per line", ""]
            out += await modes(web.url, lb.url, duration)
        print("\n".join(out))
        return
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
        with balanced_pair() as lb:
            out += ["", "Connection modes, against the same nginx:", ""]
            out += await modes(web.url, lb.url, duration)
    print("\n".join(out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--only", choices=["modes"])
    args = parser.parse_args()
    asyncio.run(main(args.duration, args.only))
