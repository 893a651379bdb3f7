"""node1 of the sandbox: seeding, starting and stopping the Proxmox API emulator, and asking it
to start VMs (so `lab up` and the chapter's `qm start` take one code path). The emulator itself
lives in labguide.sandbox.pve and belongs to its own module owner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.sandbox.inventory_file import ProxmoxAccess
from labguide.sandbox.labspec import LabSpec
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import GATEWAY, NODE1_IP, PVE_PORT
from labguide.sandbox.vmrecord import pid_alive, read_pid, write_pid

EMULATOR_MODULE = "labguide.sandbox.pve"
NODE = "node1"


def emulator_pid(paths: LabPaths) -> int | None:
    pid = read_pid(paths.pve_pidfile)
    return pid if pid_alive(pid, EMULATOR_MODULE) else None


def seed(paths: LabPaths, lab: LabSpec) -> None:
    """The lab's template and start-state VMs in the emulator's store (only those absent)."""
    from labguide.sandbox.pve.store import VmStore, vm_config

    store = VmStore(paths.pve_state)
    if not store.exists(lab.template_vmid):
        store.create(lab.template_vmid, vm_config(lab.template_vmid, lab.template_name,
                                                  template=True))
    for vm in lab.vms:
        if not store.exists(vm.vmid):
            store.create(vm.vmid, vm_config(vm.vmid, vm.name, ip_cidr=f"{vm.ip}/32",
                                             gateway=GATEWAY))


def access(paths: LabPaths) -> ProxmoxAccess:
    from labguide.sandbox.pve.auth import ensure_token
    from labguide.sandbox.pve.tls import ensure_certs

    ca, _cert, _key = ensure_certs(paths.pve_state, NODE1_IP)
    token_id, secret_file = ensure_token(paths.pve_state)
    return ProxmoxAccess(url=f"https://{NODE1_IP}:{PVE_PORT}/api2/json", ca=Path(ca),
                         token_id=token_id, token_secret_file=Path(secret_file))


def start_emulator(paths: LabPaths, timeout: float = 20.0) -> None:
    """Run the emulator detached on node1's address (pid file recorded); wait for its port.
    An emulator killed by a signal before it listened is started once more (a CI run met
    one that died at once with an empty log; what killed it is not known), and the error
    says how the last one ended."""
    why = ""
    for attempt in (1, 2):
        proc = _spawn_emulator(paths) if emulator_pid(paths) is None else None
        why = _wait_listening(paths, proc, timeout)
        if not why:
            return
        if proc is None or proc.returncode is None or proc.returncode >= 0 or attempt == 2:
            break
        with open(paths.pve_log, "a") as log:
            log.write(f"labguide: the emulator {why} before it listened; starting it again\n")
    try:
        tail = "\n".join(paths.pve_log.read_text(errors="replace").splitlines()[-12:])
    except OSError:
        tail = "(no log)"
    raise LabguideError(f"the Proxmox API emulator (node1) did not start: it {why}",
                        Location(file=paths.pve_log), hint=f"its log ends with:\n{tail}")


def _spawn_emulator(paths: LabPaths) -> subprocess.Popen[bytes]:
    paths.run.mkdir(parents=True, exist_ok=True)
    with open(paths.pve_log, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", EMULATOR_MODULE, "--state", str(paths.pve_state),
             "--listen", f"{NODE1_IP}:{PVE_PORT}", "--machines", "nspawn"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    write_pid(paths.pve_pidfile, proc.pid)
    return proc


def _wait_listening(paths: LabPaths, proc: subprocess.Popen[bytes] | None,
                    timeout: float) -> str:
    """'' once node1's port answers, else how the emulator ended (or that it never listened).
    `proc`: the one just started (its own exit status), else one found running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((NODE1_IP, PVE_PORT), timeout=0.5):
                return ""
        except OSError:
            if proc is not None and proc.poll() is not None:
                rc = proc.returncode
                return (f"was killed by {signal.Signals(-rc).name}" if rc < 0
                        else f"exited with status {rc}")
            if proc is None and emulator_pid(paths) is None:
                return "ended"
            time.sleep(0.05)
    return f"did not listen on {NODE1_IP}:{PVE_PORT} within {timeout:.0f} s"


def stop_emulator(paths: LabPaths, timeout: float = 5.0) -> bool:
    pid = emulator_pid(paths)
    if pid is None:
        paths.pve_pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid, EMULATOR_MODULE):
        time.sleep(0.05)
    if pid_alive(pid, EMULATOR_MODULE):
        os.kill(pid, signal.SIGKILL)
    try:  # reap it if we are its parent (lab up and down in one process, e.g. tests)
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    paths.pve_pidfile.unlink(missing_ok=True)
    return True


def api(paths: LabPaths) -> Any:
    from proxmoxer import ProxmoxAPI

    acc = access(paths)
    user, token_name = acc.token_id.split("!", 1)
    secret = acc.token_secret_file.read_text().strip()
    return ProxmoxAPI(NODE1_IP, port=PVE_PORT, user=user, token_name=token_name,
                      token_value=secret, verify_ssl=str(acc.ca), timeout=60)


def start_vms_via_api(paths: LabPaths, vmids: list[int],
                      say: Callable[[str], None] | None = None) -> None:
    """POST .../status/start for each VM, then wait on every task and check its exit status."""
    prox = api(paths)
    upids = {vmid: prox.nodes(NODE).qemu(vmid).status.start.post() for vmid in vmids}
    wait_tasks(prox, upids)


def wait_tasks(prox: Any, upids: dict[int, str], timeout: float = 120,
               interval: float = 0.05) -> None:
    """Until every task has stopped, polling them all in each round: proxmoxer's
    Tasks.blocking_status waits on one task and sleeps its interval around each answer, so
    waiting on four in turn cost a sleep per VM after the boots were over (0.3 s of a warm
    `lab up`). A task that ended without "OK", or did not end in time, is an error."""
    pending = dict(upids)
    deadline = time.monotonic() + timeout
    while True:
        for vmid, upid in list(pending.items()):
            status = prox.nodes(NODE).tasks(upid).status.get() or {}
            if status.get("status") != "stopped":
                continue
            del pending[vmid]
            if status.get("exitstatus") != "OK":
                raise LabguideError(f"starting VM {vmid} through node1 failed: "
                                    f"{status.get('exitstatus')}", Location(host=NODE))
        if not pending:
            return
        if time.monotonic() > deadline:
            raise LabguideError(f"starting VM(s) {', '.join(map(str, pending))} through node1 "
                                f"did not end within {timeout:.0f} s", Location(host=NODE))
        time.sleep(interval)
