"""Read-only checks against the sandbox lab when it is up (`labguide lab up`): the watcher
over real SSH to the LBs, and a light HTTP probe of the VIP. Nothing here changes the lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_vip_watch import Recorder

from labguide.events import Event
from labguide.inventory import Inventory, load_inventory
from labguide.probes.events import (
    HostReachability,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.probes.http_prober import Prober
from labguide.probes.vip_watch import VipWatcher
from labguide.probes.vm_power import hypervisor_power
from labguide.transports import make_transport

pytestmark = pytest.mark.sandbox
INVENTORY = Path("/var/lib/labguide/lab/inventory.toml")
LBS = ("l4lb-1", "l4lb-2")


@pytest.fixture
def inventory(sandbox_lab: Path) -> Inventory:
    return load_inventory(sandbox_lab)


def kernel_holders(vip: str, names: list[str]) -> list[str]:
    """Who holds vip, read directly from the VMs' namespaces (lg-<name>) on this machine."""
    held = []
    for name in names:
        out = subprocess.run(["ip", "-n", f"lg-{name}", "-o", "addr", "show"],
                             capture_output=True, text=True).stdout
        if f" {vip}/" in out:
            held.append(name)
    return held


async def test_watcher_over_ssh_agrees_with_the_kernels(inventory: Inventory) -> None:
    names = [n for n in LBS if n in inventory.hosts]
    vip = inventory.vars["VIP"]
    transports = {n: make_transport(inventory.host(n)) for n in names}
    events: list[Event] = []
    watcher = VipWatcher(transports, [vip], events.append)
    task = asyncio.create_task(watcher.run())
    try:
        for _ in range(200):  # until every host answered (or was found unreachable)
            done = {e.host for e in events if isinstance(e, HostReachability)}
            if done >= set(names):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for t in transports.values():
            await t.close()
    reachable = [n for n in names if watcher.state.reachable(n)]
    assert "l4lb-1" in reachable, events
    expected = kernel_holders(vip, reachable)
    assert list(watcher.state.holders(vip)) == expected
    for host in expected:
        assert any(isinstance(e, VipAcquired) and e.host == host for e in events)


async def test_light_probe_of_the_vip(inventory: Inventory) -> None:
    vip = inventory.vars["VIP"]
    if not kernel_holders(vip, [n for n in LBS if n in inventory.hosts]):
        pytest.skip("nobody holds the VIP yet (the chapter has not set keepalived up)")
    prober = Prober(f"http://{vip}/hostname", rate=20, duration=1.0)
    await prober.start()
    summary = await prober.wait()
    assert summary.http_reqs == 20
    assert set(summary.by_backend) <= {"web-1", "web-2"}


# ------------------------------------------------------------------------- issue 14


def finished(inventory: Inventory) -> bool:
    """The chapter's end state: l4lb-1 holds VIP and l4lb-2 VIP2 (keepalived on both)."""
    if not set(LBS) <= set(inventory.hosts) or "VIP2" not in inventory.vars:
        return False
    return (kernel_holders(inventory.vars["VIP"], list(LBS)) == ["l4lb-1"]
            and kernel_holders(inventory.vars["VIP2"], list(LBS)) == ["l4lb-2"])


async def test_interactive_stream_shows_both_backends(inventory: Inventory,
                                                      tmp_path: Path) -> None:
    """The book's repeated curl alternates web-1/web-2 through l4lb-1's HAProxy (TCP mode);
    the stream at an interactive rate must too: both within ten answers."""
    vip = inventory.vars["VIP"]
    if not kernel_holders(vip, [n for n in LBS if n in inventory.hosts]):
        pytest.skip("nobody holds the VIP yet (the chapter has not set keepalived up)")
    out = tmp_path / "answers.jsonl"
    prober = Prober(f"http://{vip}/hostname", rate=10, duration=1.2, out=str(out))
    await prober.start()
    summary = await prober.wait()
    records = sorted((json.loads(line) for line in out.read_text().splitlines()),
                     key=lambda r: r["seq"])
    first_ten = [r["body"] for r in records[:10]]
    assert set(first_ten) == {"web-1", "web-2"}, first_ten
    assert summary.connections == ("new",)


class Lab:
    """The LBs over SSH (the watcher's transports and a command runner) and node1."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.vip = inventory.vars["VIP"]
        self.transports = {n: make_transport(inventory.host(n)) for n in LBS}
        self.node1 = make_transport(inventory.host("node1"))
        self.runner = {n: make_transport(inventory.host(n)) for n in LBS}

    async def sh(self, host: str, command: str) -> str:
        captured = await self.runner[host].capture(command, timeout=30)
        assert captured.ok, (host, command, captured.lines)
        return "\n".join(captured.stdout)

    async def close(self) -> None:
        for t in [*self.transports.values(), *self.runner.values(), self.node1]:
            await t.close()


def vrrp_of(host: str, state: str, instance: str | None = None) -> Callable[[Event], bool]:
    return lambda e: (isinstance(e, VrrpStateChanged) and e.host == host and e.state == state
                      and (instance is None or e.instance == instance))


async def test_keepalived_found_stopped_killed_failback_and_split_brain(
        inventory: Inventory) -> None:
    """Issue 14 on the lab as the chapter leaves it, over SSH as a user's run would:
    the state found at the start (once, with its own time); `systemctl stop keepalived` and
    a SIGKILL of its main process shown within two seconds as "keepalived not running" on a
    reachable host; the failback a handover; VRRP dropped on l4lb-2 a split brain only after
    the master-down interval read from the LBs' keepalived.conf. The lab is put back."""
    if not finished(inventory):
        pytest.skip("the lab is not in the chapter's end state (run the chapter first)")
    lab = Lab(inventory)
    rec = Recorder()
    began = time.time()
    watcher = VipWatcher(lab.transports, [lab.vip, inventory.vars["VIP2"]], rec,
                         power=hypervisor_power(lab.node1))
    task = asyncio.create_task(watcher.run())
    try:
        await found_at_the_start(watcher, rec, began)
        await stop_and_kill(lab, watcher, rec)
        await failback_and_split_brain(lab, watcher, rec)
    finally:
        subprocess.run(["ip", "netns", "exec", "lg-l4lb-2", "nft", "delete", "table", "inet",
                        "lgt_probe"], capture_output=True)
        await lab.sh("l4lb-1", "sudo systemctl start keepalived")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await wait_holders(lab.vip, ["l4lb-1"])
        await lab.close()


async def wait_holders(vip: str, expected: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while kernel_holders(vip, list(LBS)) != expected:
        assert time.monotonic() < deadline, kernel_holders(vip, list(LBS))
        await asyncio.sleep(0.1)


async def found_at_the_start(watcher: VipWatcher, rec: Recorder, began: float) -> None:
    await rec.wait_for(vrrp_of("l4lb-1", "MASTER", "VI_1"))
    await rec.wait_for(vrrp_of("l4lb-2", "MASTER", "VI_2"))
    await asyncio.sleep(1.0)
    said = [e for e in rec.events if isinstance(e, VrrpStateChanged)]
    assert all(e.primed for e in said), said  # no history replayed as news
    for host in LBS:  # the daemon and each instance, once
        mine = [(e.instance, e.state) for e in said if e.host == host]
        assert len(mine) == len(set(mine)) <= 3, mine
    master = next(e for e in said if e.host == "l4lb-1" and e.instance == "VI_1")
    assert master.host_t is not None and master.host_t < began  # its own time
    assert abs(watcher.state.window(watcher.state.vips[0]) - (3 + 157 / 256)) < 1e-6


async def stop_and_kill(lab: Lab, watcher: VipWatcher, rec: Recorder) -> None:
    t0 = time.time()
    await lab.sh("l4lb-1", "sudo systemctl stop keepalived")
    stop = await rec.wait_for(lambda e: vrrp_of("l4lb-1", "STOPPED", "*")(e) and e.t > t0)
    assert stop.t - t0 < 2.0
    assert watcher.state.reachable("l4lb-1") is True
    inst = watcher.state.instance("l4lb-1", "VI_1")
    assert inst is not None and inst.state == "STOPPED"
    await rec.wait_for(lambda e: isinstance(e, VipAcquired) and e.host == "l4lb-2"
                       and e.vip == lab.vip and e.t > t0)
    t1 = time.time()
    await lab.sh("l4lb-1", "sudo systemctl start keepalived")
    await rec.wait_for(lambda e: vrrp_of("l4lb-1", "MASTER", "VI_1")(e) and e.t > t1)
    await wait_holders(lab.vip, ["l4lb-1"])
    t2 = time.time()
    await lab.sh("l4lb-1", "sudo kill -KILL \"$(systemctl show -p MainPID --value "
                           "keepalived)\"")
    kill = await rec.wait_for(lambda e: vrrp_of("l4lb-1", "STOPPED", "*")(e) and e.t > t2)
    assert kill.t - t2 < 2.0
    assert watcher.state.reachable("l4lb-1") is True


async def failback_and_split_brain(lab: Lab, watcher: VipWatcher, rec: Recorder) -> None:
    vip = lab.vip
    window = watcher.state.window(vip)
    for n in range(4):  # which LB moves first is VRRP's race: until a failback overlaps
        if n:
            await lab.sh("l4lb-1", "sudo systemctl stop keepalived")
        await wait_holders(vip, ["l4lb-2"])
        t0 = time.time()
        await lab.sh("l4lb-1", "sudo systemctl start keepalived")
        handed = await rec.wait_for(lambda e, t0=t0: isinstance(e, VipReleased)
                                    and e.host == "l4lb-2" and e.vip == vip and e.t > t0)
        await wait_holders(vip, ["l4lb-1"])
        assert isinstance(handed, VipReleased)
        if handed.overlap is not None:
            assert handed.overlap < window
            break
    else:
        raise AssertionError("four failbacks, none with the two holders of the issue")
    await asyncio.sleep(window + 0.5)
    assert not any(isinstance(e, SplitBrain) for e in rec.events)
    rules = ("table inet lgt_probe {\n chain input {\n"
             "  type filter hook input priority 0; policy accept;\n"
             "  ip protocol vrrp drop\n }\n}\n")
    subprocess.run(["ip", "netns", "exec", "lg-l4lb-2", "nft", "-f", "-"], input=rules,
                   text=True, check=True)
    try:
        both = await rec.wait_for(lambda e: isinstance(e, VipAcquired) and e.host == "l4lb-2"
                                  and e.vip == vip and e.t > t0)
        alarm = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and e.started)
        assert isinstance(alarm, SplitBrain) and alarm.vip == vip
        assert alarm.t - both.t >= window - 0.01
    finally:
        subprocess.run(["ip", "netns", "exec", "lg-l4lb-2", "nft", "delete", "table", "inet",
                        "lgt_probe"], check=True)
    over = await rec.wait_for(lambda e: isinstance(e, SplitBrain) and not e.started)
    assert isinstance(over, SplitBrain) and over.hosts == ("l4lb-1",)


async def test_watch_prints_the_state_found_not_the_journal(inventory: Inventory) -> None:
    """`labguide watch` at start: each host's keepalived as it is now, with its own time;
    it printed ~90 changes of earlier runs, all stamped with the same millisecond."""
    if not finished(inventory):
        pytest.skip("the lab is not in the chapter's end state (run the chapter first)")
    labguide = str(Path(sys.executable).parent / "labguide")
    run = await asyncio.to_thread(subprocess.run, [labguide, "watch", "-d", "4s"],
                                  capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    keepalived = [ln for ln in run.stdout.splitlines() if "  keepalived" in ln]
    for host in LBS:  # the daemon and its two instances, once each
        assert sum(f"  {host}  keepalived" in ln for ln in keepalived) == 3, run.stdout
    assert len(keepalived) == 6, run.stdout  # nothing for hosts without keepalived
    assert all("(since " in ln or "(as found)" in ln for ln in keepalived), run.stdout
    assert any("l4lb-1  keepalived VI_1 MASTER" in ln for ln in keepalived), run.stdout
    assert "SPLIT" not in run.stdout
