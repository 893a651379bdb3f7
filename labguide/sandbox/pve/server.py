"""Run the emulated node: TLS listener, state directory, ready file. No API logic here.

`serve()` is used by `python -m labguide.sandbox.pve` and by tests that run it in a thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from labguide.sandbox.pve.app import make_app
from labguide.sandbox.pve.auth import Authenticator, ensure_password, ensure_token
from labguide.sandbox.pve.backend import Machines
from labguide.sandbox.pve.node import Node, Timings
from labguide.sandbox.pve.store import VmStore
from labguide.sandbox.pve.tls import ensure_certs, fingerprint, server_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listening:
    """Where the emulator answers and how to reach it (paths only: never a secret)."""

    host: str
    port: int
    node: str
    ca: Path
    fingerprint: str
    token_id: str
    token_secret_file: Path
    user: str
    password_file: Path
    pid: int

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}/api2/json"

    def as_json(self) -> str:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}
        data["url"] = self.url
        return json.dumps(data, indent=2) + "\n"


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen wants ADDRESS:PORT, not {text!r}")
    ipaddress.ip_address(host.strip("[]"))
    return host.strip("[]"), int(port)


async def serve(state_dir: Path, host: str, port: int, machines: Machines, *,
                node_name: str = "node1", auth_delay: float = 3.0,
                timings: Timings | None = None) -> tuple[web.AppRunner, Listening]:
    """Start listening; return the runner (call .cleanup() to stop) and where it listens."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ca, cert, key = ensure_certs(state_dir, host)
    token_id, token_file = ensure_token(state_dir)
    user, password_file = ensure_password(state_dir)
    node = Node(node_name, VmStore(state_dir), machines, timings)
    app = make_app(node, Authenticator(state_dir), auth_delay)
    runner = web.AppRunner(app, access_log=logging.getLogger("labguide.sandbox.pve.access"))
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=server_context(cert, key),
                       reuse_address=True)
    await site.start()
    bound = runner.addresses  # (host, port, …) of each listening socket
    actual = int(bound[0][1]) if bound else port
    where = Listening(host, actual, node_name, ca, fingerprint(cert), token_id, token_file,
                      user, password_file, os.getpid())
    ready = state_dir / "ready.json"
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(where.as_json())
    os.replace(tmp, ready)
    log.info("node %s answers on %s", node_name, where.url)
    return runner, where


async def run_forever(runner: web.AppRunner, stop: asyncio.Event) -> None:
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
