"""Local HTTP targets for the prober's tests and benchmarks: nginx on loopback, own config.

Every server binds 127.0.0.1 on a free port, keeps its files in its own temp directory
and is stopped by its own pid; nothing here touches another process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, up: bool = True, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            listening = s.connect_ex(("127.0.0.1", port)) == 0
        if listening == up:
            return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} not {'up' if up else 'down'} after {timeout}s")


def wait_port_in(netns: str, address: str, port: int, timeout: float = 10.0) -> None:
    """Wait until address:port accepts connections inside a network namespace."""
    deadline = time.monotonic() + timeout
    probe = f"exec 3<>/dev/tcp/{address}/{port}"
    while time.monotonic() < deadline:
        if subprocess.run(["ip", "netns", "exec", netns, "bash", "-c", probe],
                          capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{address}:{port} in {netns} not up after {timeout}s")


@dataclass
class Nginx:
    """An nginx answering GET /hostname with `name`; start()/stop() can be repeated."""

    name: str = "web-1"
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    #: Extra `location` blocks (nginx syntax) for tests, e.g. a slow or failing path.
    extra: str = ""
    #: Listen on this address inside this network namespace instead of 127.0.0.1.
    address: str = "127.0.0.1"
    netns: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/hostname"

    def _write_conf(self) -> Path:
        assert self.root is not None
        conf = self.root / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.root}/body;
    proxy_temp_path {self.root}/proxy;
    fastcgi_temp_path {self.root}/fastcgi;
    uwsgi_temp_path {self.root}/uwsgi;
    scgi_temp_path {self.root}/scgi;
    keepalive_requests 1000000;
    server {{
        listen {self.address}:{self.port};
        location = /hostname {{ default_type text/plain; return 200 "{self.name}\\n"; }}
        location = /fail {{ return 503 "down\\n"; }}
        {self.extra}
    }}
}}
""")
        return conf

    def start(self) -> Nginx:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="lgt-probe-nginx-"))
        if not self.port:
            self.port = free_port()
        conf = self._write_conf()
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(
            [*inside, NGINX, "-c", str(conf), "-p", str(self.root),
             "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        if self.netns is None:
            wait_port(self.port)
        else:
            wait_port_in(self.netns, self.address, self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # Fast shutdown of this nginx's own process group (master and its worker).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if self.port and self.netns is None:
            wait_port(self.port, up=False)

    def cleanup(self) -> None:
        self.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class HaproxyTcp:
    """HAProxy in TCP mode on loopback, balancing connections round-robin over `backends`
    (as l4lb-1 does in the chapter); its own config and pid, stopped by its own process."""

    backends: list[Nginx]
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hostname"

    def start(self) -> HaproxyTcp:
        self.root = Path(tempfile.mkdtemp(prefix="lgt-probe-haproxy-"))
        self.port = self.port or free_port()
        servers = "\n".join(f"    server {b.name} 127.0.0.1:{b.port}" for b in self.backends)
        conf = self.root / "haproxy.cfg"
        conf.write_text(f"""global
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend l4
    bind 127.0.0.1:{self.port}
    default_backend web
backend web
    balance roundrobin
{servers}
""")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port(self.port)
        return self

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def balanced_pair() -> Iterator[HaproxyTcp]:
    """web-1 and web-2 (nginx) behind HAProxy in TCP mode, all on loopback."""
    webs = [Nginx(name="web-1"), Nginx(name="web-2")]
    lb = HaproxyTcp(webs)
    try:
        for web in webs:
            web.start()
        yield lb.start()
    finally:
        lb.cleanup()
        for web in webs:
            web.cleanup()


@contextlib.contextmanager
def nginx(name: str = "web-1", extra: str = "") -> Iterator[Nginx]:
    server = Nginx(name=name, extra=extra)
    try:
        yield server.start()
    finally:
        server.cleanup()
