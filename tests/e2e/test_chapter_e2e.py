"""The whole l4lb-ha chapter, for real, on the sandbox lab; then --check on broken states.

Order matters (one lab for the module): --check on the fresh lab, the chapter in plain mode
end to end, --check on the finished lab, then one broken state at a time (each restored).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from labguide.check import collect
from labguide.engine import Engine
from labguide.events import Event, StepFinished, StepStatus
from labguide.plan import Plan
from labguide.report import write_report
from labguide.sandbox.paths import LabPaths
from labguide.state import RunState, Transcript
from tests.e2e.reader import console_reader

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
#: The last run's load-test figures, for docs/benchmarks.md (outside the repository).
RESULTS = Path(os.environ.get("LABGUIDE_E2E_RESULTS", "/tmp/labguide-e2e-last-run.json"))


async def check_report(plan: Plan) -> dict[str, Any]:
    report = await collect(plan)
    out = io.StringIO()
    write_report("json", out, report)
    return json.loads(out.getvalue())


def failing(report: dict[str, Any]) -> dict[str, list[str]]:
    """{step id: [hosts whose check failed]} for failed checks."""
    out: dict[str, list[str]] = {}
    for c in report["checks"]:
        if c["status"] == "failed":
            out[c["id"]] = [h for h, r in c["results"].items() if r["status"] == "failed"]
    return out


async def sh(plan: Plan, host: str, script: str) -> str:
    from labguide.transports import make_transport

    lines: list[str] = []
    t = make_transport(plan.host(host))
    try:
        res = await t.run(script, lambda s, line: lines.append(line), timeout=60)
    finally:
        await t.close()
    assert res.ok, f"{host}: {script!r} → {res} {lines}"
    return "\n".join(lines)


async def holders(plan: Plan, vip: str) -> list[str]:
    got = []
    for h in ("l4lb-1", "l4lb-2"):
        out = await sh(plan, h, "ip -o -4 address show dev eth0")
        if f" {vip}/" in out:
            got.append(h)
    return got


async def until(pred: Any, timeout: float = 30.0) -> None:
    """Wait for pred() to be true; a host that does not answer yet counts as not yet."""
    from labguide.errors import HostError

    deadline = time.monotonic() + timeout
    while True:
        try:
            if await pred():
                return
        except HostError:
            pass
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.5)


async def test_check_fails_on_a_fresh_lab(lab_plan: Plan) -> None:
    report = await check_report(lab_plan)
    assert report["exit_code"] == 1, report["counts"]
    bad = failing(report)
    assert "l4lb2-vm-running" in bad and bad["l4lb2-vm-running"] == ["node1"]
    # l4lb-1's part of every check still runs and names what is missing there
    assert bad.get("keepalived-installed") == ["l4lb-1"], bad
    skipped = {c["id"]: c["message"] for c in report["checks"] if c["status"] == "skipped"}
    assert "needs keepalived-installed" in skipped["final-keepalived-conf-l4lb1"]
    assert "final-vip-on-l4lb1" in skipped
    assert "l4lb-2 does not exist" in skipped["final-vip-only-on-l4lb1"]
    assert report["unreachable"] == []


async def test_the_whole_chapter_runs(lab_plan: Plan, tmp_path: Path) -> None:
    events: list[Event] = []
    engine = Engine(lab_plan, state=RunState(tmp_path / "state.json", "l4lb-ha"),
                    transcript=Transcript(tmp_path / "t.jsonl"))
    engine.bus.subscribe(events.append)
    # the lab is strict: l4lb-2's new key is asked about
    reader = console_reader(LabPaths.default())
    reader.attach(engine)
    try:
        status = await engine.run()
    finally:
        await engine.close()
    done = {e.step_id: e for e in events if isinstance(e, StepFinished)}
    failed = {k: v.message for k, v in done.items() if v.status == StepStatus.FAILED}
    assert status == StepStatus.PASSED, failed
    # as in a real lab: labguide asked about l4lb-2's new key, and so did ssh on client
    # (198.18.16.134 is l4lb-2), and the reader said yes to both after comparing
    assert ("labguide", "198.18.16.134", True) in reader.asked, reader.asked
    assert ("ssh", "198.18.16.134", True) in reader.asked, reader.asked
    for sid in ("create-l4lb-2", "l4lb2-balances", "vip-on-l4lb1", "failover-vip-on-l4lb2",
                "failback-vip-on-l4lb1", "haproxy-test-vip-on-l4lb1",
                "haproxy-down-l4lb1-released", "haproxy-down-vip-on-l4lb2",
                "haproxy-up-vip-on-l4lb1", "maintenance-vip-on-l4lb2",
                "maintenance-off-vip-on-l4lb1", "load-keepalived-l4lb1-released",
                "load-haproxy-vip-on-l4lb1", "load-haproxy-l4lb1-released",
                "load-haproxy-vip-on-l4lb2", "load-reboot-vip-on-l4lb1",
                "load-maintenance-l4lb1-released",
                "load-reboot-l4lb1", "load-reboot-l4lb1-stays-out", "load-reboot-vip-stays",
                "leave-maintenance-vip-on-l4lb1",
                "vip2-on-l4lb2", "vip2-on-l4lb1", "vip2-back-on-l4lb2", "final-vip-on-l4lb1",
                "final-vip2-on-l4lb2"):
        assert done[sid].status == StepStatus.PASSED, (sid, done[sid].message)
    assert_the_books_order(tmp_path / "t.jsonl")
    # the reboot step waited for a new boot of l4lb-1, and said how long it was away
    assert "l4lb-1 was back after" in done["load-reboot-l4lb1"].message
    loads = {sid: done[sid].detail for sid in ("load-stop-keepalived", "load-stop-haproxy",
                                               "load-maintenance-reboot")}
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "loads": loads,
        "steps": {k: [v.status.value, round(v.duration, 2), v.message] for k, v in done.items()},
    }, indent=1, default=str) + "\n")
    for sid, detail in loads.items():
        assert detail.get("http_reqs", 0) > 20000, (sid, detail)
    # each load is judged against the chapter's expectation, beside the book's figure
    assert "— the book: 0 of 29,984 (0.00%)" in done["load-stop-keepalived"].message
    assert "— the book: 483 of 29,346 (1.65%)" in done["load-stop-haproxy"].message
    assert "— the book: no failures reported" in done["load-maintenance-reboot"].message
    assert loads["load-stop-haproxy"]["expected"] == "at most 5% failed"
    # the chapter's pattern: stopping keepalived and maintenance+reboot lose (almost) nothing,
    # stopping haproxy loses a small share
    assert loads["load-stop-keepalived"]["http_req_failed"] <= 0.002 * loads[
        "load-stop-keepalived"]["http_reqs"]
    assert loads["load-maintenance-reboot"]["http_req_failed"] <= 0.002 * loads[
        "load-maintenance-reboot"]["http_reqs"]
    # node1's API token secret appears nowhere: not in events, transcript or state
    host = lab_plan.host("node1")
    assert host.proxmox is not None and host.proxmox.token_secret_file is not None
    secret = host.proxmox.token_secret_file.read_text().strip()
    assert len(secret) >= 16
    assert not [e for e in events if secret in repr(e)]
    for f in (tmp_path / "t.jsonl", tmp_path / "state.json"):
        assert secret not in f.read_text()
    # outcomes in the lab itself
    assert await holders(lab_plan, "198.18.16.140") == ["l4lb-1"]
    assert await holders(lab_plan, "198.18.16.141") == ["l4lb-2"]


#: The book's order: each load test runs while these steps run on l4lb-1, in this order
#: (Keepalived started again and HAProxy stopped during the HAProxy run; HAProxy started
#: again, maintenance and the reboot during the maintenance run).
DURING_LOAD = {
    "load-stop-keepalived": ["load-stop-keepalived-now", "load-keepalived-l4lb1-released"],
    "load-stop-haproxy": ["load-haproxy-prepare", "load-haproxy-vip-on-l4lb1",
                          "load-stop-haproxy-now", "load-haproxy-l4lb1-released"],
    "load-maintenance-reboot": ["load-reboot-prepare", "load-reboot-vip-on-l4lb1",
                                "load-maintenance-on", "load-maintenance-l4lb1-released",
                                "load-reboot-l4lb1"],
}


def assert_the_books_order(transcript: Path) -> None:
    """From the transcript: each step of DURING_LOAD finished after its load test's k6 had
    started (its first line of output) and before k6 ended, in the chapter's order, the
    first one some seconds into the load (its `delay=`: steady state first)."""
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    first_output: dict[str, float] = {}
    ran: dict[str, str] = {}
    for line in transcript.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        sid = rec.get("step")
        if rec["event"] == "step_started":
            started[sid], ran[sid] = rec["t"], rec["script"]
        elif rec["event"] == "step_finished":
            finished[sid] = rec["t"]
        elif rec["event"] == "output" and rec["stream"] != "info":
            first_output.setdefault(sid, rec["t"])
    for load, during in DURING_LOAD.items():
        order = [started[s] for s in during]
        assert order == sorted(order), (load, during)
        for sid in during:
            assert first_output[load] < finished[sid] < finished[load], (
                f"{sid} did not run while {load} ran: k6 {first_output[load]}–"
                f"{finished[load]}, {sid} {started[sid]}–{finished[sid]}")
        assert finished[during[0]] - first_output[load] >= 4, (load, during[0])
    assert "sudo systemctl start keepalived" in ran["load-haproxy-prepare"]
    assert "sudo systemctl stop haproxy" in ran["load-stop-haproxy-now"]
    assert "sudo systemctl start haproxy" in ran["load-reboot-prepare"]
    # the HAProxy test outside the load starts by leaving maintenance mode, as in the book
    assert "sudo rm -f /etc/keepalived/maintenance_mode" in ran["haproxy-test-no-maintenance"]
    assert started["haproxy-test-no-maintenance"] < started["stop-haproxy-l4lb1"]


async def test_check_passes_on_the_finished_lab(lab_plan: Plan) -> None:

    raw = await collect(lab_plan)
    texts = []
    for render in (lambda out: write_report("json", out, raw),
                   lambda out: write_report("junit", out, raw),
                   lambda out: write_report("table", out, raw)):
        out = io.StringIO()
        render(out)
        texts.append(out.getvalue())
    report = json.loads(texts[0])
    assert report["exit_code"] == 0, failing(report)
    host = lab_plan.host("node1")
    assert host.proxmox is not None and host.proxmox.token_secret_file is not None
    secret = host.proxmox.token_secret_file.read_text().strip()
    assert not [t for t in texts if secret in t], "the token secret leaked into a report"


async def test_check_names_each_broken_state(lab_plan: Plan) -> None:
    p = lab_plan
    # keepalived stopped on l4lb-2
    await sh(p, "l4lb-2", "sudo systemctl stop keepalived")
    try:
        bad = failing(await check_report(p))
        assert bad.get("keepalived-active") == ["l4lb-2"], bad
    finally:
        await sh(p, "l4lb-2", "sudo systemctl start keepalived")
    await until(lambda: _holds(p, "198.18.16.141", ["l4lb-2"]))

    # haproxy stopped on l4lb-1 (the VIP moves away from it)
    await sh(p, "l4lb-1", "sudo systemctl stop haproxy")
    try:
        await until(lambda: _holds(p, "198.18.16.140", ["l4lb-2"]))
        bad = failing(await check_report(p))
        assert bad.get("haproxy-active") == ["l4lb-1"], bad
        assert "final-vip-on-l4lb1" in bad
    finally:
        await sh(p, "l4lb-1", "sudo systemctl start haproxy")
    await until(lambda: _holds(p, "198.18.16.140", ["l4lb-1"]))

    # wrong virtual_router_id on one host (the file only; keepalived not restarted)
    conf = "/etc/keepalived/keepalived.conf"
    await sh(p, "l4lb-2", f"sudo cp {conf} /tmp/ka.bak && "
                          f"sudo sed -i 's/virtual_router_id 52/virtual_router_id 53/' {conf}")
    try:
        report = await check_report(p)
        bad = failing(report)
        assert bad.get("final-keepalived-conf-l4lb2") == ["l4lb-2"], bad
        msg = next(c["message"] for c in report["checks"]
                   if c["id"] == "final-keepalived-conf-l4lb2")
        assert "VI_2.virtual_router_id: expected 52, found 53" in msg
    finally:
        await sh(p, "l4lb-2", f"sudo cp /tmp/ka.bak {conf}")

    # maintenance file left on l4lb-1
    await sh(p, "l4lb-1", "sudo touch /etc/keepalived/maintenance_mode")
    try:
        bad = failing(await check_report(p))
        assert bad.get("final-no-maintenance") == ["l4lb-1"], bad
    finally:
        await sh(p, "l4lb-1", "sudo rm -f /etc/keepalived/maintenance_mode")
    await until(lambda: _holds(p, "198.18.16.140", ["l4lb-1"]))

    # split brain: VRRP dropped on the way into l4lb-1 (a rule in its network namespace,
    # set from the host), so both nodes believe they are alone and take both VIPs
    rule = ["INPUT", "-p", "vrrp", "-j", "DROP"]
    await host_cmd("ip", "netns", "exec", "lg-l4lb-1", "iptables", "-I", *rule)
    try:
        await until(lambda: _holds(p, "198.18.16.141", ["l4lb-1", "l4lb-2"]), 20)
        bad = failing(await check_report(p))
        assert bad.get("final-vip2-only-on-l4lb2") == ["l4lb-1"], bad
    finally:
        await host_cmd("ip", "netns", "exec", "lg-l4lb-1", "iptables", "-D", *rule)
    await until(lambda: _holds(p, "198.18.16.141", ["l4lb-2"]))


async def host_cmd(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(*argv)
    assert await proc.wait() == 0, argv


async def _holds(plan: Plan, vip: str, hosts: list[str]) -> bool:
    return await holders(plan, vip) == hosts


async def test_check_on_a_stopped_or_unreachable_l4lb2(lab_plan: Plan) -> None:
    p = lab_plan
    # VM 501 stopped through node1's API: the VM check fails, l4lb-2's checks are skipped
    await sh_node1(p, "qm stop 501")
    try:
        report = await check_report(p)
        assert report["exit_code"] == 1
        assert failing(report).get("l4lb2-vm-running") == ["node1"]
    finally:
        await sh_node1(p, "qm start 501")
    from labguide.transports.sshwait import wait_for_ssh

    await wait_for_ssh("198.18.16.134", 22, 120)
    # l4lb-2 unreachable (its cable pulled: the bridge side of its veth down; inside the
    # VM nothing changes, as with a real cable): exit 2, l4lb-2 named
    from labguide.sandbox.topology import veth_name

    cable = veth_name(501)
    await host_cmd("ip", "link", "set", cable, "down")
    try:
        report = await check_report(p)
        assert report["exit_code"] == 2 and report["unreachable"] == ["l4lb-2"]
    finally:
        await host_cmd("ip", "link", "set", cable, "up")
    await until(lambda: _holds(p, "198.18.16.141", ["l4lb-2"]), 30)
    # HAProxy on l4lb-2 marked its backends down while the cable was out; its health
    # checks bring them back within seconds, and then the whole check passes again

    async def check_passes() -> bool:
        return bool((await check_report(p))["exit_code"] == 0)

    await until(check_passes, 60)


async def sh_node1(plan: Plan, script: str) -> None:
    from labguide.transports import make_transport

    t = make_transport(plan.host("node1"))
    try:
        res = await t.run(script, lambda s, line: None, timeout=120)
    finally:
        await t.close()
    assert res.ok, res
