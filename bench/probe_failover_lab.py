"""A replica of the chapter's HA pair in network namespaces, for the k6 side-by-side benchmark.

client → VIP (keepalived on lb1/lb2, chk_haproxy as in the chapter) → HAProxy (TCP mode)
→ nginx web1/web2 answering /hostname. All namespaces are `lgt-probe-…`, on a private
bridge with no route out; everything is removed from its own records. Needs root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from probe_netns_lab import remove_namespaces, sh
from probe_targets import Nginx, wait_port_in

NET = "10.213.8"
VIP = f"{NET}.140"
NODES = {"client": 10, "lb1": 133, "lb2": 134, "web1": 151, "web2": 152}
PRIORITY = {"lb1": 100, "lb2": 99}


class FailoverLab:
    def __init__(self) -> None:
        self.prefix = f"lgt-probe-{uuid.uuid4().hex[:6]}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.made: list[str] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.webs: list[Nginx] = []

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def up(self) -> FailoverLab:
        sw = self.ns("sw")
        sh("ip", "netns", "add", sw)
        self.made.append(sw)
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for node, octet in NODES.items():
            ns = self.ns(node)
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", sw, "link", "add", f"p-{node}", "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", sw, "link", "set", f"p-{node}", "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{NET}.{octet}/24", "dev", "eth0")
        for i, web in enumerate(("web1", "web2"), start=1):
            server = Nginx(name=f"web-{i}", address=f"{NET}.{NODES[web]}", port=80,
                           netns=self.ns(web))
            self.webs.append(server.start())
        for lb in PRIORITY:
            sh("ip", "netns", "exec", self.ns(lb), "sysctl", "-qw",
               "net.ipv4.ip_nonlocal_bind=1")
            self.start_haproxy(lb)
            self.start_keepalived(lb)
        return self

    # ------------------------------------------------------------------ haproxy

    def _haproxy_pidfile(self, lb: str) -> Path:
        return self.dir / f"haproxy-{lb}.pid"

    def start_haproxy(self, lb: str) -> None:
        conf = self.dir / f"haproxy-{lb}.cfg"
        conf.write_text(f"""global
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend l4
    bind {VIP}:80
    default_backend web
backend web
    balance roundrobin
    server web-1 {NET}.{NODES['web1']}:80 check inter 1s
    server web-2 {NET}.{NODES['web2']}:80 check inter 1s
""")
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(lb), "haproxy", "-db",
                                 "-f", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[f"haproxy-{lb}"] = proc
        self._haproxy_pidfile(lb).write_text(f"{proc.pid}\n")

    def stop_haproxy(self, lb: str) -> None:
        """What `systemctl stop haproxy` does: SIGTERM, haproxy stops at once."""
        self._haproxy_pidfile(lb).unlink(missing_ok=True)
        self._stop(f"haproxy-{lb}", signal.SIGTERM)

    # ------------------------------------------------------------------ keepalived

    def start_keepalived(self, lb: str) -> None:
        conf = self.dir / f"keepalived-{lb}.conf"
        pidfile = self._haproxy_pidfile(lb)
        conf.write_text(f"""global_defs {{
    router_id {self.prefix}_{lb}
    script_user root
}}
vrrp_script chk_haproxy {{
    script "/bin/sh -c 'kill -0 $(cat {pidfile})'"
}}
vrrp_instance VI_1 {{
    state {'MASTER' if lb == 'lb1' else 'BACKUP'}
    interface eth0
    virtual_router_id 51
    priority {PRIORITY[lb]}
    virtual_ipaddress {{
        {VIP}
    }}
    track_script {{
        chk_haproxy
    }}
}}
""")
        log = open(self.dir / f"keepalived-{lb}.log", "ab")  # noqa: SIM115 - the child's
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(lb), "keepalived", "-n", "-l", "-D", "-P",
             "-f", str(conf), "-p", str(self.dir / f"keepalived-{lb}.pid"),
             "-r", str(self.dir / f"keepalived-{lb}-vrrp.pid")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[f"keepalived-{lb}"] = proc

    def holders(self) -> list[str]:
        return [lb for lb in PRIORITY
                if f" {VIP}/" in sh("ip", "-n", self.ns(lb), "-o", "addr", "show")]

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until lb1 holds the VIP and the VIP answers from the client."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.holders() != ["lb1"]:
            time.sleep(0.05)
        wait_port_in(self.ns("client"), VIP, 80, timeout=max(1.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ cleanup

    def _stop(self, name: str, sig: int) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def cleanup(self) -> None:
        for name in list(self.procs):
            self._stop(name, signal.SIGTERM)
        for web in self.webs:
            web.cleanup()
        remove_namespaces(self.made)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def failover_lab() -> Iterator[FailoverLab]:
    lab = FailoverLab()
    try:
        yield lab.up()
    finally:
        lab.cleanup()
