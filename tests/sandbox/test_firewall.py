"""The lab's nftables table keeps a guest in even when the host forwards: a guest (root) adds
a route via the gateway, the host's `ip_forward` is 1 (which also resets the bridge's own
`forwarding=0`), and still nothing reaches an address outside the lab. The outside is a
namespace of this test's own (198.18.17.0/30); `lab down` removing the table is checked by
test_crash (leftovers)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import connect, sh

from labguide.sandbox import firewall
from labguide.sandbox import lab as lab_mod
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import BRIDGE

pytestmark = pytest.mark.sandbox

NS, VETH = "lgt-fwout", "lgtfw0"
HOST_OUT, NS_OUT, OUT_NET = "198.18.17.1", "198.18.17.2", "198.18.17.0/30"
START_VMS = default_lab().vms
CLIENT = next(vm for vm in START_VMS if vm.name == "client")
SYSCTL = Path("/proc/sys/net/ipv4")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Listener:
    """A TCP listener that records who connected (in the test's namespace or on the host)."""

    def __init__(self, address: str, port: int, netns: str | None = None) -> None:
        self.hits: list[str] = []
        code = ("import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
                f"socket.SO_REUSEADDR,1);s.bind(('{address}',{port}));s.listen()\n"
                "print('ready',flush=True)\nwhile True:\n c,a=s.accept();"
                "print(a[0],flush=True);c.close()\n")
        argv = [sys.executable, "-c", code]
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.hits.append(line.strip())

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def outside(lab: LabPaths) -> Iterator[tuple[Listener, Listener]]:
    """The test's own outside: a namespace behind a veth (host end 198.18.17.1), listeners
    there and on the host's end, and the host forwarding; all undone afterwards."""
    saved = {p: p.read_text() for p in [SYSCTL / "ip_forward",
                                         *SYSCTL.glob("conf/*/forwarding")]}
    _ip("netns", "add", NS)
    listeners: list[Listener] = []
    try:
        _ip("link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NS)
        _ip("addr", "add", f"{HOST_OUT}/30", "dev", VETH)
        _ip("link", "set", VETH, "up")
        _ip("-n", NS, "addr", "add", f"{NS_OUT}/30", "dev", "eth0")
        _ip("-n", NS, "link", "set", "eth0", "up")
        _ip("-n", NS, "route", "add", "198.18.16.0/24", "via", HOST_OUT)
        listeners += [Listener(NS_OUT, 8081, NS), Listener(HOST_OUT, 8082)]
        (SYSCTL / "ip_forward").write_text("1")
        yield listeners[0], listeners[1]
    finally:
        for listener in listeners:
            listener.stop()
        subprocess.run(["ip", "link", "del", VETH], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        (SYSCTL / "ip_forward").write_text(saved.pop(SYSCTL / "ip_forward"))
        for path, value in saved.items():  # writing ip_forward reset these: put them back
            if path.exists():
                path.write_text(value)


def _reach(address: str, port: int) -> str:
    return (f"timeout 3 bash -c 'exec 3<>/dev/tcp/{address}/{port}' 2>/dev/null "
            "&& echo open || echo closed")


async def test_a_guest_cannot_leave_the_lab_even_when_the_host_forwards(
        lab: LabPaths, outside: tuple[Listener, Listener]) -> None:
    in_ns, on_host = outside
    assert (SYSCTL / f"conf/{BRIDGE}/forwarding").read_text().strip() == "1"  # reset by the write
    assert firewall.table_is_ours() is True
    assert lab_mod.status(lab)["firewall"] == "inet labguide_sandbox"
    async with await connect(lab, CLIENT.ip) as conn:
        await sh(conn, f"sudo ip route replace {OUT_NET} via 198.18.16.1")
        try:
            async def attempts() -> list[str]:
                return [(await sh(conn, _reach(a, p))).strip()
                        for a, p in ((NS_OUT, 8081), (HOST_OUT, 8082))]

            assert await attempts() == ["closed", "closed"]
            assert in_ns.hits == [] and on_host.hits == []
            assert firewall.drops().get("forward", 0) > 0 and firewall.drops()["input"] > 0
            # what the lab needs still works: node1's API from a guest
            api = await sh(conn, "curl -sk -m 5 -o /dev/null -w '%{http_code}' "
                                 "https://198.18.16.2:8006/api2/json/version")
            assert api == "401"
            # the control: without the table the very same packets get out
            firewall.remove(lab.firewall_record)
            try:
                assert await attempts() == ["open", "open"]
                assert in_ns.hits == [CLIENT.ip] and on_host.hits == [CLIENT.ip]
            finally:
                firewall.install(lab.firewall_record)
            assert await attempts() == ["closed", "closed"]
            assert len(in_ns.hits) == 1 and len(on_host.hits) == 1
        finally:
            await sh(conn, f"sudo ip route del {OUT_NET}")


def test_a_table_of_that_name_that_is_not_the_labs_is_refused(lab: LabPaths,
                                                              tmp_path: Path) -> None:
    """Like the bridge: `up` never takes over or deletes a table it did not make."""
    firewall.remove(lab.firewall_record)
    subprocess.run(["nft", "add", "table", "inet", firewall.TABLE], check=True)
    try:
        record = tmp_path / "firewall.json"
        with pytest.raises(Exception, match="was not made by labguide"):
            firewall.install(record)
        record.write_text('{"family": "inet", "table": "labguide_sandbox"}\n')
        assert firewall.remove(record) is False  # not ours: left alone
        assert firewall.table_is_ours() is False
    finally:
        subprocess.run(["nft", "delete", "table", "inet", firewall.TABLE], check=True)
        firewall.install(lab.firewall_record)
    assert firewall.table_is_ours() is True
    with socket.socket() as s:  # the API still answers from the host
        s.settimeout(5)
        s.connect(("198.18.16.2", 8006))
