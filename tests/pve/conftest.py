"""Fixtures for the PVE emulator and the proxmox transport: a real emulator process over HTTPS.

The emulator runs as `python -m labguide.sandbox.pve` on 127.0.0.1 (ephemeral port) with a
temporary state dir and the in-memory machines backend; it is stopped by its own Popen handle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

from labguide.inventory import Host, ProxmoxSettings
from labguide.sandbox.pve.store import VmStore, vm_config

GATEWAY = "198.18.16.1"
#: The lab's start state, as the sandbox seeds it (vmid, name, address).
LAB_VMS = [(100, "client", "198.18.16.10"), (301, "web-1", "198.18.16.151"),
           (302, "web-2", "198.18.16.152"), (500, "l4lb-1", "198.18.16.133")]


def seed_lab(state: Path) -> None:
    store = VmStore(state)
    store.create(999, vm_config(999, "debian12-cloud", template=True))
    for vmid, name, ip in LAB_VMS:
        store.create(vmid, vm_config(vmid, name, ip_cidr=f"{ip}/32", gateway=GATEWAY,
                                     onboot=True))


@dataclass
class Emulator:
    state: Path
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    ready: dict[str, Any] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.state / "emulator.log"

    def start(self) -> None:
        ready = self.state / "ready.json"
        ready.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "labguide.sandbox.pve", "--state", str(self.state),
                 "--listen", "127.0.0.1:0", "--machines", "memory", *self.args],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ready.exists():
                data = json.loads(ready.read_text())
                if data["pid"] == self.proc.pid:
                    self.ready = data
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"emulator did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    @property
    def ca(self) -> Path:
        return Path(self.ready["ca"])

    @property
    def token_secret(self) -> str:
        return Path(self.ready["token_secret_file"]).read_text().strip()

    @property
    def password(self) -> str:
        return Path(self.ready["password_file"]).read_text().strip()

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def api(self, **kw: Any) -> ProxmoxAPI:
        """proxmoxer with the node's API token, verifying TLS against the lab CA."""
        args: dict[str, Any] = dict(user="root@pam", token_name="labguide",
                                    token_value=self.token_secret)
        args.update(kw)
        return ProxmoxAPI("127.0.0.1", port=self.port, verify_ssl=str(self.ca), timeout=10,
                          **args)

    def ticket_api(self) -> ProxmoxAPI:
        return ProxmoxAPI("127.0.0.1", port=self.port, user="root@pam",
                          password=self.password, verify_ssl=str(self.ca), timeout=10)

    def host(self, **proxmox: Any) -> Host:
        settings: dict[str, Any] = dict(node="node1", port=self.port, token_id="root@pam!labguide",
                                        token_secret_file=Path(self.ready["token_secret_file"]),
                                        ca=self.ca)
        settings.update(proxmox)
        return Host(name="node1", address="127.0.0.1", transport="proxmox", port=self.port,
                    proxmox=ProxmoxSettings(**settings))


def wait_task(api: ProxmoxAPI, upid: str) -> dict[str, Any]:
    status = Tasks.blocking_status(api, upid, timeout=30, polling_interval=0.05)
    assert status is not None, f"task {upid} did not end"
    return dict(status)


def make_emulator(state: Path, *extra: str) -> Emulator:
    seed_lab(state)
    emu = Emulator(state, ["--auth-delay", "0.05", "--clone-seconds", "0.4",
                           "--lock-timeout", "1", "--boot-delay", "1.0", *extra])
    emu.start()
    return emu


@pytest.fixture(scope="session")
def pve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the session, seeded like the lab, its onboot VMs started."""
    emu = make_emulator(tmp_path_factory.mktemp("lgt-pve"))
    try:
        api = emu.api()
        upid = api.nodes("node1").startall.post()
        assert wait_task(api, upid)["exitstatus"] == "OK"
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def slow_pve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulator whose clones take 30 s: for stopping tasks while they surely run."""
    emu = make_emulator(tmp_path_factory.mktemp("lgt-pve-slow"), "--clone-seconds", "30")
    try:
        yield emu
    finally:
        emu.stop()
