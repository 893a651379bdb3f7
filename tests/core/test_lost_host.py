"""A host that stops answering mid-step (its link set down) fails that step after its timeout;
the other host's work goes on. The host lives in a network namespace this test makes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.events import Event, Output, StepStatus
from labguide.inventory import Inventory
from labguide.plan import bind
from tests.conftest import SSHD, Sshd

NS, VETH_HOST, VETH_NS = "lgt-core-lost", "lgt-cl0", "lgt-cl1"
HOST_IP, NS_IP = "198.18.99.1", "198.18.99.2"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture()
def far_sshd(sshd: Sshd, tmp_path: Path) -> Iterator[Sshd]:
    """A second sshd, inside a namespace reached over a veth, with the same keys."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 missing")
    sh("ip", "netns", "add", NS)
    proc = None
    try:
        sh("ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS)
        sh("ip", "link", "set", VETH_NS, "netns", NS)
        sh("ip", "addr", "add", f"{HOST_IP}/30", "dev", VETH_HOST)
        sh("ip", "link", "set", VETH_HOST, "up")
        sh("ip", "-n", NS, "addr", "add", f"{NS_IP}/30", "dev", VETH_NS)
        sh("ip", "-n", NS, "link", "set", VETH_NS, "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        config = (sshd.dir / "sshd_config").read_text()
        config = config.replace("ListenAddress 127.0.0.1", f"ListenAddress {NS_IP}")
        config = config.replace(f"PidFile {sshd.dir / 'sshd.pid'}", f"PidFile {tmp_path}/f.pid")
        (tmp_path / "sshd_config").write_text(config)
        known = tmp_path / "known_hosts"
        key = (sshd.dir / "hostkey.pub").read_text().split()
        known.write_text(f"[{NS_IP}]:{sshd.port} {key[0]} {key[1]}\n")
        proc = subprocess.Popen(["ip", "netns", "exec", NS, SSHD, "-D", "-e", "-f",
                                 str(tmp_path / "sshd_config")], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["ip", "netns", "exec", NS, "ss", "-ltn", f"sport = {sshd.port}"],
                             capture_output=True, text=True).stdout.count("LISTEN") == 0:
            assert time.monotonic() < deadline, "sshd in the namespace did not start"
            time.sleep(0.05)
        yield Sshd(sshd.port, tmp_path, known, sshd.identity, sshd.user, proc.pid)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(5)
        # sshd's per-connection children outlive the listener (the cut connection's one
        # would wait for a TCP timeout): end every process left in our namespace
        pids = subprocess.run(["ip", "netns", "pids", NS], capture_output=True, text=True)
        for pid in pids.stdout.split():
            subprocess.run(["kill", "-9", pid], check=False)
        subprocess.run(["ip", "netns", "del", NS], check=False)
        subprocess.run(["ip", "link", "del", VETH_HOST], check=False, capture_output=True)


CHAPTER = """+++
id = "lost"
title = "Lost host"
hosts = ["near", "far"]
+++

## Only

```sh {on="near, far" id="work" timeout=6}
echo started
sleep 3
echo finished
```
"""


async def test_a_host_that_goes_silent_fails_alone(tmp_path: Path, sshd: Sshd,
                                                   far_sshd: Sshd) -> None:
    inv = Inventory(hosts={"near": sshd.host("near"),
                           "far": far_sshd.host("far", address=NS_IP)}, path=tmp_path / "i")
    plan = bind(parse_chapter(CHAPTER, tmp_path / "lost.md"), inv, {})
    events: list[Event] = []
    engine = Engine(plan)

    def listen(event: Event) -> None:
        events.append(event)
        if isinstance(event, Output) and event.host == "far" and event.line == "started":
            sh("ip", "link", "set", VETH_HOST, "down")

    engine.bus.subscribe(listen)
    try:
        rec = await asyncio.wait_for(engine.run_step("work"), 60)
    finally:
        await engine.close()
    assert rec.status == StepStatus.FAILED
    assert rec.hosts["near"]["exit_status"] == 0
    assert "finished" in rec.hosts["near"]["tail"]
    assert rec.hosts["far"]["reason"] in ("timeout", "connection lost")
    assert "far: timed out after 6 s" in rec.message or "far: no exit status" in rec.message


async def test_the_vip_watcher_marks_a_silent_host_unreachable(sshd: Sshd,
                                                               far_sshd: Sshd) -> None:
    """The watcher streams `ip monitor` from both hosts over SSH; when far's link goes down
    its channel goes silent (no FIN, no RST): SSH keepalives notice, the watcher says far is
    unreachable, and near's watch goes on."""
    from labguide.probes.events import HostReachability
    from labguide.probes.vip_watch import VipWatcher
    from labguide.transports.ssh import SshTransport

    transports = {"near": SshTransport(sshd.host("near")),
                  "far": SshTransport(far_sshd.host("far", address=NS_IP))}
    events: list[Event] = []
    watcher = VipWatcher(transports, ["198.18.99.3"], events.append, keepalived_command=None)
    task = asyncio.create_task(watcher.run())

    async def reach(host: str, up: bool, within: float) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            if any(isinstance(e, HostReachability) and e.host == host and e.reachable == up
                   for e in events):
                return time.monotonic() - t0
            await asyncio.sleep(0.05)
        raise AssertionError(f"{host} never became {'reachable' if up else 'unreachable'}")

    try:
        await reach("near", True, 15)
        await reach("far", True, 15)
        sh("ip", "link", "set", VETH_HOST, "down")
        took = await reach("far", False, 30)
        assert took < 20  # keepalive: 3 probes 3 s apart
        assert not task.done()
        assert watcher.state.reachable("near") and not watcher.state.reachable("far")
        assert not any(isinstance(e, HostReachability) and e.host == "near" and not e.reachable
                       for e in events)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for t in transports.values():
            await t.close()
