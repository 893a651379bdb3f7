"""The chapter's three load tests in the sandbox, with real k6 on the client VM at 1000 req/s
for 30 s: stop keepalived, stop HAProxy, maintenance mode + reboot (each 10 s into the run).

Usage (root): .venv/bin/python bench/lab_k6_failover.py
Brings the lab up if needed, creates l4lb-2 through node1's API (qm clone/set/start),
configures both LBs as the chapter does, runs k6, prints a Markdown table. Traffic stays on
the lab's bridge (198.18.16.0/24). Leaves the lab up (run `labguide lab down` after).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import asyncssh

from labguide.sandbox import lab, node1
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import GATEWAY

LAB = default_lab()
L4LB2_IP, TEMPLATE_VMID, VIP = LAB.created[0].ip, LAB.template_vmid, str(LAB.vars["VIP"])

L4LB1, CLIENT = "198.18.16.133", "198.18.16.10"

KEEPALIVED = """! keepalived for the sandbox's l4lb pair (the chapter's settings)
global_defs {{
    vrrp_garp_master_refresh 60
}}
vrrp_script chk_haproxy {{
    script "/usr/bin/systemctl is-active haproxy"
}}
vrrp_script chk_maintenance_mode {{
    script "/bin/sh -c 'if [ -f /etc/keepalived/maintenance_mode ]; then exit 1; else exit 0; fi'"
    weight 10
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int 1
    virtual_ipaddress {{
        {vip}
    }}
    track_script {{
        chk_haproxy
        chk_maintenance_mode
    }}
}}
"""

K6_SCRIPT = """import http from 'k6/http';
import { check } from 'k6';
export default function () {
  const res = http.get('http://%s/hostname');
  check(res, { 'status is 200': (r) => r.status === 200 });
}
"""


async def connect(paths: LabPaths, ip: str, timeout: float = 60) -> asyncssh.SSHClientConnection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncssh.connect(ip, username="ubuntu",
                                          client_keys=[str(paths.identity_file)],
                                          known_hosts=str(paths.known_hosts), connect_timeout=5)
        except (OSError, asyncssh.Error):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def sh(conn: asyncssh.SSHClientConnection, cmd: str, timeout: float = 300) -> str:
    res = await conn.run(cmd, check=False, timeout=timeout)
    if res.exit_status != 0:
        raise RuntimeError(f"{cmd!r} exited {res.exit_status}: {res.stderr!s}")
    return str(res.stdout)


async def vip_holder(conns: dict[str, asyncssh.SSHClientConnection]) -> list[str]:
    out = []
    for name, c in conns.items():
        r = await c.run("ip -4 -o addr show dev eth0", check=False)
        if f" {VIP}/" in str(r.stdout):
            out.append(name)
    return out


async def wait_vip(paths: LabPaths, name: str, ip: str, timeout: float = 60) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            async with await connect(paths, ip, 10) as c:
                if f" {VIP}/" in await sh(c, "ip -4 -o addr show dev eth0"):
                    return time.monotonic() - t0
        except (OSError, asyncssh.Error, RuntimeError):
            pass
        await asyncio.sleep(0.3)
    raise TimeoutError(f"VIP not on {name} after {timeout} s")


def create_l4lb2(paths: LabPaths) -> None:
    from proxmoxer.tools import Tasks

    prox = node1.api(paths)
    vm = prox.nodes("node1").qemu
    if 501 not in [int(v["vmid"]) for v in vm.get()]:
        upid = vm(TEMPLATE_VMID).clone.post(newid=501, name="l4lb-2", full=1)
        Tasks.blocking_status(prox, upid, timeout=120, polling_interval=0.1)
        vm(501).config.put(ipconfig0=f"ip={L4LB2_IP}/32,gw={GATEWAY}")
    if vm(501).status.current.get()["status"] != "running":
        upid = vm(501).status.start.post()
        st = Tasks.blocking_status(prox, upid, timeout=120, polling_interval=0.1)
        assert st and st.get("exitstatus") == "OK", st


async def configure(paths: LabPaths) -> None:
    async with await connect(paths, L4LB2_IP) as c2:
        await sh(c2, "sudo apt update -q && sudo apt install -y -q --no-install-recommends haproxy")
    async with await connect(paths, CLIENT) as cc:
        await sh(cc, f"scp ubuntu@{L4LB1}:/etc/haproxy/haproxy.cfg ubuntu@{L4LB2_IP}:/tmp")
    async with await connect(paths, L4LB2_IP) as c2:
        await sh(c2, "sudo mv /tmp/haproxy.cfg /etc/haproxy && sudo systemctl restart haproxy")
    for ip, state, prio in ((L4LB1, "MASTER", 100), (L4LB2_IP, "BACKUP", 99)):
        async with await connect(paths, ip) as c:
            await sh(c, "sudo apt update -q && "
                        "sudo apt install -y -q --no-install-recommends keepalived")
            conf = KEEPALIVED.format(state=state, prio=prio, vip=VIP)
            await c.run("sudo tee /etc/keepalived/keepalived.conf >/dev/null", input=conf,
                        check=True)
            await sh(c, "sudo rm -f /etc/keepalived/maintenance_mode; "
                        "sudo systemctl enable keepalived; sudo systemctl restart keepalived")
    await wait_vip(paths, "l4lb-1", L4LB1)


async def scenario(paths: LabPaths, name: str, disrupt: str, after: str) -> dict[str, object]:
    await wait_vip(paths, "l4lb-1", L4LB1)
    await asyncio.sleep(2)
    async with await connect(paths, CLIENT) as cc:
        await sh(cc, "mkdir -p ~/intro-for-high-availability/k6")
        await cc.run("cat > ~/intro-for-high-availability/k6/l4lb-ha-test.js",
                     input=K6_SCRIPT % VIP, check=True)
        k6 = asyncio.create_task(cc.run(
            "cd ~/intro-for-high-availability/k6 && k6 run -q -d 30s --vus 10 --rps 1000 "
            "--summary-export=/tmp/summary.json l4lb-ha-test.js", check=False, timeout=120))
        await asyncio.sleep(10)
        async with await connect(paths, L4LB1) as c1:
            try:
                await c1.run(disrupt, check=False, timeout=20)
            except (asyncssh.Error, OSError, asyncio.TimeoutError):
                pass  # reboot drops the connection
        res = await k6
        summary = json.loads(await sh(cc, "cat /tmp/summary.json"))
    m = summary["metrics"]
    total = int(m["http_reqs"]["count"])
    failed = int(m["http_req_failed"].get("passes", 0))
    moved = await wait_vip(paths, "l4lb-2", L4LB2_IP, 5) if "reboot" not in disrupt else None
    del moved
    async with await connect(paths, L4LB1, 90) as c1:
        await sh(c1, after)
    await wait_vip(paths, "l4lb-1", L4LB1)
    return {"name": name, "total": total, "failed": failed, "rate": m["http_reqs"]["rate"],
            "p50_ms": m["http_req_duration"]["med"], "k6_exit": res.exit_status}


async def main() -> int:
    paths = LabPaths.default()
    if not lab.is_up(paths):
        lab.up(paths, say=print)
    create_l4lb2(paths)
    await configure(paths)
    rows = [
        await scenario(paths, "stop keepalived on l4lb-1", "sudo systemctl stop keepalived",
                       "sudo systemctl start keepalived"),
        await scenario(paths, "stop HAProxy on l4lb-1", "sudo systemctl stop haproxy",
                       "sudo systemctl start haproxy"),
        await scenario(paths, "maintenance mode, then reboot l4lb-1",
                       "sudo touch /etc/keepalived/maintenance_mode && sleep 3 && "
                       "(sleep 0.5; sudo reboot) >/dev/null 2>&1 &",
                       "sudo rm -f /etc/keepalived/maintenance_mode"),
    ]
    print("| scenario (1000 req/s, 30 s, k6 on the client) | requests | failed | "
          "share failed | achieved rate | p50 |\n|---|---|---|---|---|---|")
    for r in rows:
        total, failed = int(str(r["total"])), int(str(r["failed"]))
        print(f"| {r['name']} | {total} | {failed} | {100 * failed / max(total, 1):.2f}% | "
              f"{float(str(r['rate'])):.0f}/s | {float(str(r['p50_ms'])):.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
