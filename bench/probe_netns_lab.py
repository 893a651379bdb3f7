"""A two-host keepalived lab in network namespaces, for the VIP watcher's tests and benchmark.

Namespaces `<prefix>-a` and `<prefix>-b` (hosts) are linked by a bridge in `<prefix>-sw`;
each host runs a real keepalived (VRRP only, log to a file). Everything it creates has the
prefix `lgt-probe-…` and is removed from its own records (names, Popen handles). Needs root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

SUBNET = "10.213.7"
VIP = f"{SUBNET}.140"
HOSTS = {"a": (1, 100), "b": (2, 99)}  # name: (last octet, priority)


def remove_namespaces(made: list[str]) -> None:
    """End every process left in the namespaces we made, newest first, then delete them."""
    for ns in reversed(made):
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", ns, check=False)


def sh(*args: str, check: bool = True) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


class KeepalivedPair:
    def __init__(self, prefix: str | None = None, advert_int: float = 1.0) -> None:
        self.prefix = prefix or f"lgt-probe-{uuid.uuid4().hex[:6]}"
        self.advert_int = advert_int
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.made: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def log(self, host: str) -> Path:
        return self.dir / f"keepalived-{host}.log"

    def conf(self, host: str) -> Path:
        return self.dir / f"keepalived-{host}.conf"

    def pidfile(self, host: str) -> Path:
        """keepalived's main pid (its `-p` file; left behind by a SIGKILL)."""
        return self.dir / f"{host}.pid"

    # ------------------------------------------------------------------ network

    def up(self) -> KeepalivedPair:
        sw = self.ns("sw")
        sh("ip", "netns", "add", sw)
        self.made.append(sw)
        sh("ip", "-n", sw, "link", "set", "lo", "up")
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for host in HOSTS:
            self.make_host(host)
        return self

    def make_host(self, host: str) -> None:
        ns, sw = self.ns(host), self.ns("sw")
        sh("ip", "netns", "add", ns)
        if ns not in self.made:
            self.made.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", sw, "link", "add", f"p{host}", "type", "veth",
           "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", sw, "link", "set", f"p{host}", "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "addr", "add", f"{SUBNET}.{HOSTS[host][0]}/24", "dev", "eth0")

    def partition(self, host: str) -> None:
        """Cut host off the bridge (its link stays up: keepalived hears nobody)."""
        sh("ip", "-n", self.ns("sw"), "link", "set", f"p{host}", "nomaster")

    def heal(self, host: str) -> None:
        sh("ip", "-n", self.ns("sw"), "link", "set", f"p{host}", "master", "br0")

    def drop_vrrp(self, host: str) -> None:
        """Drop VRRP (IP protocol 112) coming into host, as a firewall between the LBs
        would: it hears no adverts and becomes MASTER too (nftables table of our own)."""
        rules = ("table inet lgt_probe {\n chain input {\n"
                 "  type filter hook input priority 0; policy accept;\n"
                 "  ip protocol vrrp drop\n }\n}\n")
        proc = subprocess.run(["ip", "netns", "exec", self.ns(host), "nft", "-f", "-"],
                              input=rules, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"nft in {self.ns(host)}: {proc.stderr.strip()}")

    def allow_vrrp(self, host: str) -> None:
        sh("ip", "netns", "exec", self.ns(host), "nft", "delete", "table", "inet", "lgt_probe")

    def holds_vip(self, host: str) -> bool:
        out = sh("ip", "-n", self.ns(host), "-o", "addr", "show", check=False)
        return f" {VIP}/" in out

    def holders(self) -> list[str]:
        return [h for h in HOSTS if self.holds_vip(h)]

    def wait_holders(self, expected: list[str], timeout: float = 15.0) -> float:
        """Wait until exactly `expected` hold the VIP; returns the time it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.holders() == expected:
                return time.monotonic() - started
            time.sleep(0.02)
        raise TimeoutError(f"VIP holders {self.holders()} != {expected} after {timeout}s")

    def reboot(self, host: str, down_for: float = 1.0, keepalived: bool = True) -> None:
        """Everything in the namespace dies, the namespace goes away, then comes back."""
        self.stop_keepalived(host, sig=signal.SIGKILL)
        ns = self.ns(host)
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", ns)
        time.sleep(down_for)
        self.make_host(host)
        if keepalived:
            self.start_keepalived(host)

    # ------------------------------------------------------------------ keepalived

    def start_keepalived(self, host: str, priority: int | None = None) -> None:
        prio = priority if priority is not None else HOSTS[host][1]
        conf = self.conf(host)
        conf.write_text(f"""global_defs {{
    router_id lgt_probe_{host}
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {self.advert_int}
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
}}
""")
        log = open(self.log(host), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), "keepalived", "-n", "-l", "-D", "-P",
             "-f", str(conf), "-p", str(self.pidfile(host)),
             "-r", str(self.dir / f"{host}-vrrp.pid")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.procs[host] = proc

    def stop_keepalived(self, host: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(host, None)
        if proc is None or proc.poll() is not None:
            return
        target = proc.pid
        if sig == signal.SIGKILL:  # the whole group: parent and VRRP child, no goodbye
            with contextlib.suppress(ProcessLookupError):
                os.killpg(target, signal.SIGKILL)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(target, signal.SIGKILL)
            proc.wait(5)

    def cleanup(self) -> None:
        for host in list(self.procs):
            self.stop_keepalived(host, sig=signal.SIGKILL)
        remove_namespaces(self.made)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def keepalived_pair(advert_int: float = 1.0) -> Iterator[KeepalivedPair]:
    lab = KeepalivedPair(advert_int=advert_int)
    try:
        yield lab.up()
    finally:
        lab.cleanup()
