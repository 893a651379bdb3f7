"""NspawnMachines: the sandbox's real VMs (systemd-nspawn over an overlay, one netns each).

The Proxmox emulator drives it through the `Machines` protocol; `lab up` and the tests use it
too. It starts and stops supervisors (supervisor.py) and never touches what it did not record.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.sandbox import cgroups, firewall, network, settings, sshkeys
from labguide.sandbox.cloudinit import CLOUDINIT_LAYER
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.labfile import current_lab
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import (
    BRIDGE,
    is_vm_name,
    machine_name,
    netns_name,
    veth_name,
)
from labguide.sandbox.vmrecord import (
    STOP_MARK,
    SUPERVISOR_MODULE,
    VmRecord,
    kill_and_wait,
    pid_alive,
    read_pid,
    supervisor_pid,
)

BOOT_TIMEOUT = 90.0


class NspawnMachines:
    """Implements labguide.sandbox.pve.backend.Machines with systemd-nspawn containers."""

    def __init__(self, paths: LabPaths | None = None) -> None:
        self.paths = paths or LabPaths.default()

    # -- disks ---------------------------------------------------------------------------
    def _disk_meta(self, vmid: int) -> dict[str, Any] | None:
        f = self.paths.disk(vmid) / "disk.json"
        if not f.exists():
            return None
        data: dict[str, Any] = json.loads(f.read_text())
        return data

    def disk_exists(self, vmid: int) -> bool:
        return self._disk_meta(vmid) is not None

    def _new_disk(self, vmid: int, lowers: list[str], copy_upper_from: Path | None) -> None:
        if self.is_running(vmid):
            raise LabguideError(f"VM {vmid} is running: its disk cannot be replaced",
                                Location(key=f"vm {vmid}"))
        disk = self.paths.disk(vmid)
        if disk.exists():
            shutil.rmtree(disk)
        disk.mkdir(parents=True)
        if copy_upper_from is not None and copy_upper_from.exists():
            subprocess.run(["cp", "-a", "--reflink=auto", str(copy_upper_from),
                            str(disk / "upper")], check=True, capture_output=True)
            sshkeys.drop_host_keys(GuestTree(disk / "upper", f"VM {vmid}"))
        else:
            (disk / "upper").mkdir()
        (disk / "work").mkdir()
        if settings.current(self.paths).host_keys == "ca":
            sshkeys.ensure_host_key(disk / "hostkey")
        (disk / "disk.json").write_text(json.dumps({"lowers": lowers}) + "\n")

    def create_disk(self, vmid: int, source_vmid: int | None) -> None:
        """A new disk: an empty upper over the base image, or a copy of the source VM's disk
        when the source is not the template. The host keys are always the new VM's own."""
        template = current_lab(self.paths).template_vmid
        src = self._disk_meta(source_vmid) if source_vmid not in (None, template) else None
        if src is not None and source_vmid is not None:
            self._new_disk(vmid, list(src["lowers"]), self.paths.disk(source_vmid) / "upper")
        else:
            self._new_disk(vmid, [str(self.paths.layer(CLOUDINIT_LAYER)),
                                  str(self.paths.base_image)], None)

    def create_role_disk(self, vmid: int, layer: str) -> None:
        """A disk over a cached role layer (LabSpec.layer_key): the lab's start-state VMs."""
        self._new_disk(vmid, [str(self.paths.layer(CLOUDINIT_LAYER)), str(self.paths.layer(layer)),
                              str(self.paths.base_image)], None)

    def disk_upper(self, vmid: int) -> Path:
        return self.paths.disk(vmid) / "upper"

    def destroy_disk(self, vmid: int) -> None:
        if self.is_running(vmid):
            raise LabguideError(f"VM {vmid} is running: stop it before destroying its disk",
                                Location(key=f"vm {vmid}"))
        shutil.rmtree(self.paths.disk(vmid), ignore_errors=True)

    # -- lifecycle -----------------------------------------------------------------------
    def is_running(self, vmid: int) -> bool:
        return supervisor_pid(self.paths.vm_run(vmid)) is not None

    def running_vmids(self) -> list[int]:
        base = self.paths.run / "vm"
        if not base.exists():
            return []
        return sorted(int(d.name) for d in base.iterdir()
                      if d.name.isdigit() and self.is_running(int(d.name)))

    def recorded_vmids(self) -> list[int]:
        base = self.paths.run / "vm"
        if not base.exists():
            return []
        return sorted(int(d.name) for d in base.iterdir() if d.name.isdigit())

    def _prepare(self, vmid: int, name: str, ip_cidr: str, gateway: str | None) -> Path:
        if network.bridge_is_ours() is not True:
            raise LabguideError(f"the lab's bridge {BRIDGE} is missing",
                                Location(host="localhost"), hint="run `labguide lab up` first")
        if firewall.table_is_ours() is not True:  # no VM runs without what keeps it in
            raise LabguideError(f"the lab's firewall (nftables table {firewall.FAMILY} "
                                f"{firewall.TABLE}) is missing", Location(host="localhost"),
                                hint="run `labguide lab up` first")
        if not self.disk_exists(vmid):
            self.create_disk(vmid, None)
        run_dir = self.paths.vm_run(vmid)
        self.cleanup(vmid)  # leftovers of a crashed supervisor, if any
        run_dir.mkdir(parents=True, exist_ok=True)
        sshkeys.ensure_lab_keys(self.paths)
        disk = self.paths.disk(vmid)
        meta = self._disk_meta(vmid) or {}
        host_keys = settings.current(self.paths).host_keys
        key = cert = ""
        if host_keys == "ca":
            key_path = sshkeys.ensure_host_key(disk / "hostkey")
            key = str(key_path)
            cert = str(sshkeys.sign_host_key(self.paths, key_path, name,
                                             ip_cidr.split("/", 1)[0]))
        VmRecord(
            vmid=vmid, name=name, ip_cidr=ip_cidr, gateway=gateway, netns=netns_name(name),
            veth=veth_name(vmid), machine=machine_name(name), root=str(run_dir / "root"),
            lowers=tuple(meta["lowers"]), upper=str(disk / "upper"), work=str(disk / "work"),
            repo=str(self.paths.repo), host_key=key, host_cert=cert,
            authorized_keys=str(self.paths.identity_file) + ".pub", host_keys=host_keys,
            hosts=current_lab(self.paths).host_addresses,
        ).save(run_dir)
        for f in ("failed", "ready", STOP_MARK):
            (run_dir / f).unlink(missing_ok=True)
        with open(run_dir / "console.log", "ab") as out:
            subprocess.run(
                ["setsid", "-f", sys.executable, "-m", "labguide.sandbox.supervisor",
                 str(run_dir)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return run_dir

    async def start(self, vmid: int, name: str, ip_cidr: str, gateway: str | None) -> None:
        """Boot the VM; returns once systemd in the guest reports startup finished."""
        if not is_vm_name(name):  # it becomes host names and paths (netns, run, propagate)
            raise LabguideError(f"VM {vmid}: {name!r} is not a name the sandbox can use (a DNS "
                                "name of at most 63 characters)", Location(key=f"vm {vmid}"))
        if self.is_running(vmid):
            return
        run_dir = await asyncio.to_thread(self._prepare, vmid, name, ip_cidr, gateway)
        deadline = time.monotonic() + BOOT_TIMEOUT
        seen_pid = False
        while time.monotonic() < deadline:
            if (run_dir / "ready").exists():
                return
            if (run_dir / "failed").exists():
                break
            alive = self.is_running(vmid)
            seen_pid = seen_pid or alive
            if seen_pid and not alive:
                break
            await asyncio.sleep(0.05)
        tail = _tail(run_dir / "console.log")
        why = _failure(run_dir)
        await self.stop(vmid)
        raise LabguideError(f"VM {vmid} ({name}) did not boot" + (f": {why}" if why else ""),
                            Location(host=name), hint=f"its console log ends with:\n{tail}")

    @staticmethod
    async def _wait_gone(pid: int, timeout: float) -> bool:
        """Wait for the supervisor process itself to end: its pid file goes a moment before
        (at the end of its teardown), and a `down` that returned then left it running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid, SUPERVISOR_MODULE):
                return True
            await asyncio.sleep(0.05)
        return not pid_alive(pid, SUPERVISOR_MODULE)

    async def shutdown(self, vmid: int, timeout: float) -> None:
        """Clean poweroff (the guest's systemd stops its services); hard stop after timeout."""
        pid = supervisor_pid(self.paths.vm_run(vmid))
        if pid is None:
            await asyncio.to_thread(self.cleanup, vmid)
            return
        os.kill(pid, signal.SIGTERM)
        if not await self._wait_gone(pid, timeout):
            await self.stop(vmid)

    async def stop(self, vmid: int) -> None:
        """Hard stop: the guest's PID 1 is killed, like pulling the plug."""
        pid = supervisor_pid(self.paths.vm_run(vmid))
        if pid is not None:
            os.kill(pid, signal.SIGUSR1)
            await self._wait_gone(pid, 15.0)
        await asyncio.to_thread(self.cleanup, vmid)

    def cleanup(self, vmid: int) -> None:
        """Undo whatever a VM's record says was made, if its supervisor is gone (crash-safe)."""
        run_dir = self.paths.vm_run(vmid)
        if not (run_dir / "vm.json").exists():
            return
        (run_dir / STOP_MARK).touch()  # before reading the pid: see vmrecord.STOP_MARK
        sup = supervisor_pid(run_dir)
        if sup is not None:
            kill_and_wait(sup, SUPERVISOR_MODULE)
        rec = VmRecord.load(run_dir)
        for pidfile, needle in (("leader.pid", None), ("nspawn.pid", "systemd-nspawn")):
            pid = read_pid(run_dir / pidfile)
            if needle is None and pid is not None:
                ns_pid = read_pid(run_dir / "nspawn.pid")
                if not pid_alive(ns_pid, rec.machine):
                    continue  # the leader pid is only trusted while its nspawn lives
            if pid_alive(pid, needle):
                try:
                    os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
                except ProcessLookupError:
                    pass
        ns_pid = read_pid(run_dir / "nspawn.pid")
        for _ in range(100):
            if not pid_alive(ns_pid, "systemd-nspawn"):
                break
            time.sleep(0.05)
        from labguide.sandbox.supervisor import unmount

        unmount(rec.root)
        network.delete_vm_net(rec.netns, rec.veth)
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{rec.machine}", ignore_errors=True)
        cgroups.remove_recorded(run_dir / cgroups.RECORD)
        for f in ("ready", "leader.pid", "nspawn.pid", "notify.sock", "supervisor.pid"):
            (run_dir / f).unlink(missing_ok=True)

    def forget(self, vmid: int) -> None:
        """Drop a stopped VM's runtime directory (its record) after cleanup."""
        self.cleanup(vmid)
        shutil.rmtree(self.paths.vm_run(vmid), ignore_errors=True)

    # -- guest view ----------------------------------------------------------------------
    def guest_interfaces(self, vmid: int) -> list[dict[str, Any]] | None:
        run_dir = self.paths.vm_run(vmid)
        if not self.is_running(vmid) or not (run_dir / "ready").exists():
            return None
        try:
            rec = VmRecord.load(run_dir)
            return network.interfaces_in(rec.netns)
        except (OSError, LabguideError):
            return None

    def record(self, vmid: int) -> VmRecord | None:
        try:
            return VmRecord.load(self.paths.vm_run(vmid))
        except (OSError, ValueError, KeyError):
            return None


def _failure(run_dir: Path) -> str:
    """What the supervisor wrote when it gave up before the boot (a refused guest path…)."""
    try:
        return (run_dir / "failed").read_text(errors="replace").strip()
    except OSError:
        return ""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"
