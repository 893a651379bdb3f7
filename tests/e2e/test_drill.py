"""`--check --drill` and the read-only promise of `--check`, on the finished sandbox lab.

The sandbox tests need the chapter done: a module fixture runs it with the Engine unless
the finished-lab check already passes (as it does after test_chapter_e2e.py). The first
tests here need no lab: the drill's timing, verdicts, reports and the CLI's refusal.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labguide.check import collect
from labguide.drill import (
    DrillReport,
    ScenarioResult,
    judge,
    move_times,
    unfit_reason,
    url_for,
)
from labguide.engine import Engine
from labguide.events import Event, StepStatus
from labguide.plan import Plan
from labguide.probes.events import OutageWindow, VipAcquired, VipReleased
from labguide.report.data import drill_as_dict
from labguide.report.junit import drill_suite
from labguide.report.table import drill_table
from labguide.sandbox.paths import LabPaths
from labguide.state import RunState, Transcript
from tests.e2e.reader import console_reader

LABGUIDE = [sys.executable, "-m", "labguide"]
VIP, VIP2 = "198.18.16.140", "198.18.16.141"
LBS = ("l4lb-1", "l4lb-2")


# --------------------------------------------------------------- no lab needed


def test_move_times_use_the_kernel_stamps() -> None:
    events: list[Event] = [
        VipReleased(VIP, "l4lb-1", "removed", host_t=99.0, t=99.5),  # before the drill
        VipReleased(VIP, "l4lb-1", "removed", host_t=100.010, t=100.015),
        VipAcquired(VIP, "l4lb-2", "eth0", host_t=100.600, t=100.604),
    ]
    after, gap = move_times(events, VIP, "l4lb-1", "l4lb-2", since=100.0)
    assert after == pytest.approx(0.604) and gap == pytest.approx(0.590)
    # the peer took it before the owner dropped it: a negative gap (both held it)
    events = [VipAcquired(VIP, "l4lb-2", host_t=100.2, t=100.21),
              VipReleased(VIP, "l4lb-1", host_t=100.25, t=100.26)]
    assert move_times(events, VIP, "l4lb-1", "l4lb-2", 100.0)[1] == pytest.approx(-0.05)
    # a release because the host became unreachable has no kernel stamp: no gap
    events = [VipReleased(VIP, "l4lb-1", "unreachable", t=100.1),
              VipAcquired(VIP, "l4lb-2", host_t=100.6, t=100.6)]
    assert move_times(events, VIP, "l4lb-1", "l4lb-2", 100.0)[1] is None
    assert move_times([], VIP, "l4lb-1", "l4lb-2", 100.0) == (None, None)


def test_verdicts() -> None:
    kw = dict(vip=VIP, owner="l4lb-1", peer="l4lb-2", move_timeout=15, back_timeout=30,
              holders_now=["l4lb-1"])
    assert judge(True, True, 0, 0, **kw)[0] == StepStatus.PASSED  # type: ignore[arg-type]
    status, msg = judge(False, False, 0, 0, **kw)  # type: ignore[arg-type]
    assert status == StepStatus.FAILED and "did not move away from l4lb-1 within 15 s" in msg
    status, msg = judge(True, False, 0, 0, **kw)  # type: ignore[arg-type]
    assert status == StepStatus.FAILED and "did not come back to l4lb-1" in msg
    status, msg = judge(True, True, 3, 0, **kw)  # type: ignore[arg-type]
    assert status == StepStatus.WARNED and "3 requests lost" in msg
    assert judge(True, True, 300, None, **kw)[0] == StepStatus.PASSED  # type: ignore[arg-type]


def test_an_unhealthy_lab_is_not_drilled() -> None:
    ok = {"keepalived": "active", "haproxy": "active", "maintenance": "absent"}
    assert unfit_reason({"a": ok, "b": ok}, {VIP: ("a",)}) == ""
    why = unfit_reason({"a": ok, "b": {**ok, "keepalived": "inactive"}}, {VIP: ("a", "b")})
    assert "b: keepalived is inactive, not active" in why
    assert f"{VIP} is held by a, b, not by one host" in why
    assert "nothing was changed" in why


def _report() -> DrillReport:
    outage = OutageWindow(start=10.0, end=10.25, lost=7, first_failure=10.01,
                          causes={"reset": 7})
    results = (
        ScenarioResult("stop-keepalived", "keepalived stopped", VIP, "l4lb-1", "l4lb-2",
                       StepStatus.PASSED, "moved", True, True, 0.61, 0.004, 3.6, -0.002,
                       sent=9000, chapter="0 of 29,984 lost"),
        ScenarioResult("maintenance", "maintenance", VIP, "l4lb-1", "l4lb-2",
                       StepStatus.WARNED, "7 requests lost; the chapter expects 0", True, True,
                       1.1, 0.0, 1.2, 0.0, sent=9100, lost=7, lost_moving=7,
                       outages=(outage,), chapter="none lost", restore_at=20.0),
        ScenarioResult("stop-keepalived", "keepalived stopped", VIP2, "l4lb-2", None,
                       StepStatus.FAILED, f"{VIP2} did not move away", sent=30000),
    )
    return DrillReport("l4lb-ha", 1000, results, 60.0, True)


def test_reports_table_json_junit() -> None:
    report = _report()
    assert report.exit_code == 1
    out = io.StringIO()
    drill_table(report, out)
    text = out.getvalue()
    assert "stop-keepalived" in text and "l4lb-1→l4lb-2" in text and "0 of 29,984 lost" in text
    assert "outage (moving): 0.250 s, 7 lost (reset 7)" in text
    assert "FAIL" in text and "did not move away" in text
    data = json.loads(json.dumps(drill_as_dict(report)))
    assert [s["status"] for s in data["scenarios"]] == ["passed", "warned", "failed"]
    assert data["scenarios"][1]["outages"][0]["duration"] == pytest.approx(0.25)
    suite = drill_suite(report)
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1
    ET.tostring(suite)


def test_url_for_points_the_watch_url_at_each_vip(tmp_path: Path) -> None:
    from labguide.chapter import find_chapter, load_chapter
    from labguide.plan import bind

    plan = bind(load_chapter(find_chapter("l4lb-ha")), None,
                {"VIP": VIP, "VIP2": VIP2})
    assert url_for(plan, VIP) == f"http://{VIP}/hostname"
    assert url_for(plan, VIP2) == f"http://{VIP2}/hostname"


def _inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inv.toml"
    hosts = "".join(f'[hosts.{h}]\naddress = "127.0.0.1"\nport = 1\n'
                    for h in ("node1", "l4lb-1", "l4lb-2", "client"))
    inv.write_text('[defaults]\nuser = "nobody"\n\n' + hosts)
    return inv


def test_drill_without_a_terminal_or_yes_is_refused(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    for args in (["run", "l4lb-ha", "--check", "--drill"], ["run", "l4lb-ha", "--drill"],
                 ["check", "l4lb-ha", "--drill"]):
        res = subprocess.run([*LABGUIDE, *args, "--inventory", str(inv)], capture_output=True,
                             text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert res.returncode == 2, (args, res.stderr)
        assert "no terminal to ask: pass --yes" in res.stderr
        assert res.stdout == ""  # nothing was checked, nothing was run


# --------------------------------------------------------------- on the sandbox lab


@pytest.fixture(scope="module")
def finished_plan(lab_plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The lab with the whole chapter done (run here unless the finished-lab check passes)."""
    folder = tmp_path_factory.mktemp("drill-chapter")

    async def ensure() -> None:
        if (await collect(lab_plan)).exit_code == 0:
            return
        engine = Engine(lab_plan, state=RunState(folder / "state.json", "l4lb-ha"),
                        transcript=Transcript(folder / "t.jsonl"))
        # l4lb-2's new key, as a reader answers it
        console_reader(LabPaths.default()).attach(engine)
        try:
            status = await engine.run()
        finally:
            await engine.close()
        assert status == StepStatus.PASSED, {k: v.message for k, v in engine.results.items()
                                             if v.status == StepStatus.FAILED}
        assert (await collect(lab_plan)).exit_code == 0

    asyncio.run(ensure())
    return lab_plan


#: Everything --check must leave as it was: config bytes, the files' metadata, whether
#: the services run and since when (a restart changes the monotonic start stamp), VIPs.
SNAPSHOT = (
    "sudo sha256sum /etc/keepalived/keepalived.conf /etc/haproxy/haproxy.cfg; "
    "sudo find /etc/keepalived /etc/haproxy -printf '%p %s %T@ %m %u\\n' | sort; "
    "systemctl is-active keepalived haproxy || true; "
    "systemctl show -p ActiveEnterTimestampMonotonic -p NRestarts -p MainPID "
    "keepalived haproxy; "
    "ip -o -4 address show dev eth0 | awk '{print $4}' | sort"
)


def _collect(into: list[str], stream: str, line: str) -> None:
    into.append(f"{stream}: {line}")


async def snapshot(plan: Plan) -> dict[str, list[str]]:
    from labguide.transports import make_transport

    out: dict[str, list[str]] = {}
    for host in LBS:
        lines: list[str] = []
        sink = functools.partial(_collect, lines)
        t = make_transport(plan.host(host))
        try:
            res = await t.run(SNAPSHOT, sink, timeout=60)
        finally:
            await t.close()
        assert res.ok, (host, lines)
        out[host] = lines
    return out


def cli(plan: Plan, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert plan.inventory is not None
    return subprocess.run([*LABGUIDE, *args, "--inventory", str(plan.inventory.path)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)


@pytest.mark.sandbox
@pytest.mark.slow
async def test_check_leaves_the_lab_byte_for_byte_unchanged(finished_plan: Plan) -> None:
    before = await snapshot(finished_plan)
    assert any(f"{VIP}/32" in line for line in before["l4lb-1"]), before
    assert any("keepalived.conf" in line for line in before["l4lb-2"])
    for _ in range(3):
        res = cli(finished_plan, "run", "l4lb-ha", "--check")
        assert res.returncode == 0, res.stdout + res.stderr
    after = await snapshot(finished_plan)
    assert after == before


@pytest.mark.sandbox
@pytest.mark.slow
async def test_drill_moves_each_vip_loses_nothing_and_restores(finished_plan: Plan,
                                                              tmp_path: Path) -> None:
    html = tmp_path / "drill.html"
    res = cli(finished_plan, "check", "l4lb-ha", "--drill", "--yes", "--format", "json",
              "--report", str(html))
    (tmp_path / "drill-test.json").write_text(res.stdout)  # kept by pytest for a post-mortem
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    data = json.loads(res.stdout)
    assert data["exit_code"] == 0
    drill = data["drill"]
    assert drill["restored"] and not drill["error"], drill
    got = {(s["scenario"], s["vip"]): s for s in drill["scenarios"]}
    assert set(got) == {(s, v) for s in ("stop-keepalived", "maintenance") for v in (VIP, VIP2)}
    for (scenario, vip), s in got.items():
        owner, peer = ("l4lb-1", "l4lb-2") if vip == VIP else ("l4lb-2", "l4lb-1")
        assert (s["owner"], s["peer"]) == (owner, peer), s
        assert s["moved"] and s["back"] and s["move_gap"] is not None, s
        assert s["sent"] > 5000 and s["dropped"] == 0, s
        assert s["status"] in ("passed", "warned"), s  # warned: some lost while moving
        if scenario == "stop-keepalived":
            # The chapter's figure is 0 lost. Measured here: 0 in 5 of 6 moves, 21 in one.
            # Nobody holds the VIP for the backup's skew time (≈ 0.575 s); the open-model
            # prober starts ≈ 575 requests into that hole and their SYN retransmissions
            # arrive together a second later, where a few can time out. k6's 10 VUs (the
            # chapter) stall instead, so they cannot lose them.
            assert s["lost_moving"] <= 0.005 * s["sent"], s
        else:
            # maintenance: the keep-alive connections open to the old owner are reset at the
            # instant the VIP moves (measured 2-8, once 23 on a busy machine; k6 saw 0-4 in
            # the sandbox). A SYN sent in that same instant, before the new owner's
            # gratuitous ARP lands, goes to the old owner, which no longer has the address:
            # it is retried after 1 s and can time out (2 of 11 failures once, in CI). What
            # must hold is that it is that and not an outage: a handful of failures, in
            # windows of well under 0.1 s (an outage of 0.1 s would lose 100).
            assert s["lost_moving"] <= 0.005 * s["sent"], s
            assert set(s["by_cause"]) <= {"reset", "timeout"}, s
            assert s["by_cause"].get("timeout", 0) <= 5, s
            assert all((o["duration"] or 0) < 0.1 for o in s["outages"]), s
    assert drill["before"] == drill["after"]
    assert drill["holders_after"] == {VIP: ["l4lb-1"], VIP2: ["l4lb-2"]}
    drill_page(html.read_text(), drill["scenarios"])
    # and a --check right after passes
    res = cli(finished_plan, "run", "l4lb-ha", "--check")
    assert res.returncode == 0, res.stdout


def drill_page(page: str, scenarios: list[dict[str, object]]) -> None:
    """The --report of a real drill: a chart per scenario from the prober's windows, with
    the disruption marked where it ran (seconds after that scenario's load began)."""
    for s in scenarios:
        name = f"{s['scenario']}@{s['vip']}"
        assert f'<svg class="load-chart" data-step="{name}"' in page, name
        chart = page[page.index(f'data-step="{name}"'):]
        chart = chart[:chart.index("</svg>")]
        assert "rate-line" in chart and "p95-line" in chart, name
        samples = s["samples"]
        assert isinstance(samples, list) and len(samples) > 50, name
        at = float(s["disrupt_at"]) - min(float(s["started_at"]),  # type: ignore[arg-type]
                                          samples[0]["t"])
        assert f"{s['scenario']} on {s['owner']} at {at:.1f} s" in chart, name


@pytest.mark.sandbox
@pytest.mark.slow
async def test_ctrl_c_during_the_drill_restores_the_lab(finished_plan: Plan) -> None:
    assert finished_plan.inventory is not None
    proc = subprocess.Popen(
        [*LABGUIDE, "run", "l4lb-ha", "--drill", "--yes", "--inventory",
         str(finished_plan.inventory.path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        start_new_session=True)
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stderr:  # progress lines; the VIP has moved once this one shows
            seen.append(line)
            if f"{VIP} is on l4lb-2" in line or time.monotonic() > deadline:
                break
        assert any(f"{VIP} is on l4lb-2" in line for line in seen), seen
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "restoring: sudo systemctl start keepalived on l4lb-1" in err
    res = cli(finished_plan, "run", "l4lb-ha", "--check")
    deadline = time.monotonic() + 30  # failback with preempt takes a few seconds
    while res.returncode != 0 and time.monotonic() < deadline:
        await asyncio.sleep(1)
        res = cli(finished_plan, "run", "l4lb-ha", "--check")
    assert res.returncode == 0, res.stdout

