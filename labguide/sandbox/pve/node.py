"""The emulated Proxmox VE node: its VM configs, tasks, locks and machines, and what config
changes and power actions (start, stop, shutdown, reboot, destroy, startall) do to them.
Reads are views.py, clones clone.py.

Raises ApiError for answers PVE gives at once; failures inside tasks become their exit status.
Knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from labguide.sandbox.pve.auth import Identity
from labguide.sandbox.pve.backend import Machines
from labguide.sandbox.pve.drives import drives, is_cdrom, parse_ipconfig, volid
from labguide.sandbox.pve.locks import RwLock
from labguide.sandbox.pve.params import ApiError, fail
from labguide.sandbox.pve.store import VmStore
from labguide.sandbox.pve.tasks import Task, TaskError, TaskManager
from labguide.sandbox.topology import is_vm_name

log = logging.getLogger(__name__)

PVE_VERSION = {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}


@dataclass(frozen=True)
class Timings:
    """How long emulated work takes (the real node's disks are slower; tests want it quick)."""

    clone_seconds: float = 1.5
    lock_timeout: float = 10.0


class Node:
    """One PVE node: VM configs on disk (VmStore), tasks in memory, VMs on a Machines backend."""

    def __init__(self, name: str, store: VmStore, machines: Machines,
                 timings: Timings | None = None) -> None:
        self.name = name
        self.store = store
        self.machines = machines
        self.timings = timings or Timings()
        self.tasks = TaskManager(name)
        self._locks: dict[int, RwLock] = {}
        self.started: dict[int, float] = {}
        self.boot_time = time.time()
        self.reconcile()

    # -- helpers -------------------------------------------------------------
    def reconcile(self) -> None:
        """Learn which VMs run from the backend (after an emulator restart)."""
        now = time.time()
        for vmid in self.store.vmids():
            if self.machines.is_running(vmid):
                self.started.setdefault(vmid, now)
            else:
                self.started.pop(vmid, None)

    def lock(self, vmid: int,
             exclusive: bool = True) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.setdefault(vmid, RwLock()).hold(
            vmid, exclusive, self.timings.lock_timeout)

    def check_node(self, node: str) -> None:
        if node != self.name:
            raise fail(f"hostname lookup '{node}' failed - failed to get address info for: "
                       f"{node}: Name or service not known\n")

    def load(self, vmid: int) -> dict[str, str]:
        try:
            return self.store.load(vmid)
        except FileNotFoundError:
            raise fail(f"Configuration file 'nodes/{self.name}/qemu-server/{vmid}.conf' "
                       "does not exist\n") from None

    @staticmethod
    def check_lock(vmid: int, conf: dict[str, str]) -> None:
        if conf.get("lock"):
            raise TaskError(f"VM {vmid} is locked ({conf['lock']})")

    def running(self, vmid: int) -> bool:
        return self.machines.is_running(vmid)

    def ensure_running_state(self, vmid: int) -> None:
        """Bring `started` (uptimes) in line with what the machines backend says runs."""
        if self.running(vmid):
            self.started.setdefault(vmid, time.time())
        else:
            self.started.pop(vmid, None)

    # -- config updates ------------------------------------------------------
    def _apply_update(self, vmid: int, params: dict[str, Any]) -> tuple[dict[str, str], str]:
        conf = self.load(vmid)
        digest = params.pop("digest", None)
        skiplock = params.pop("skiplock", False)
        delete = params.pop("delete", None)
        if digest and digest != self.store.digest(vmid):
            raise fail("detected modified configuration - file changed by other user? "
                       "Try again.\n")
        if not skiplock and conf.get("lock"):
            raise fail(f"VM {vmid} is locked ({conf['lock']})\n")
        words = []
        for key in sorted(params):
            value = params[key]
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            words += [f"-{key}", text]
            conf[key] = text
        if delete:
            words += ["-delete", delete]
            for key in re.split(r"[,;\s]+", delete):
                conf.pop(key, None)
        return conf, f"update VM {vmid}: " + " ".join(words)

    async def update_sync(self, vmid: int, params: dict[str, Any]) -> str:
        """PUT config (what `qm set` does): applied before the answer; returns the log line."""
        if not params.keys() - {"digest", "skiplock"}:
            raise fail("no options specified\n")
        self.load(vmid)
        try:
            async with self.lock(vmid):
                conf, line = self._apply_update(vmid, dict(params))
                self.store.write(vmid, conf)
        except TaskError as exc:
            raise fail(f"{exc}\n") from None
        return line

    def update_async(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        """POST config: the same change done by a qmconfig task."""
        if not params.keys() - {"digest", "skiplock"}:
            raise fail("no options specified\n")
        self.load(vmid)

        async def body(task: Task) -> None:
            async with self.lock(vmid):
                try:
                    conf, line = self._apply_update(vmid, dict(params))
                except ApiError as exc:
                    raise TaskError(exc.message) from None
                task.log(line)
                self.store.write(vmid, conf)

        return self.tasks.start("qmconfig", str(vmid), who, body).upid

    # -- power ---------------------------------------------------------------
    def _vm_task(self, kind: str, vmid: int, who: Identity,
                 action: Any) -> str:
        self.load(vmid)

        async def body(task: Task) -> None:
            await action(task)
            self.ensure_running_state(vmid)

        return self.tasks.start(kind, str(vmid), who, body).upid

    def start(self, vmid: int, who: Identity) -> str:
        return self._vm_task("qmstart", vmid, who, lambda task: self._do_start(task, vmid))

    async def _start_body(self, vmid: int, task: Task) -> None:
        await self._do_start(task, vmid)

    async def _do_start(self, task: Task, vmid: int) -> None:
        async with self.lock(vmid):
            conf = self.store.load(vmid)
            if conf.get("template") == "1":
                raise TaskError("you can't start a vm if it's a template")
            self.check_lock(vmid, conf)
            if self.running(vmid):
                raise TaskError(f"VM {vmid} already running")
            name = conf.get("name", f"VM{vmid}")
            if not is_vm_name(name):
                raise TaskError(f"VM {vmid}: the sandbox starts only VMs whose name is a DNS "
                                f"name of at most 63 characters, not {name!r}")
            ip, gw = parse_ipconfig(conf.get("ipconfig0", ""))
            if not ip:
                raise TaskError(f"VM {vmid}: the sandbox needs a static address in ipconfig0 "
                                "(ip=ADDRESS/PREFIX); it has no DHCP server")
            if any("cloudinit" in v for _, v in drives(conf)):
                task.log("generating cloud-init ISO")
            try:
                await self.machines.start(vmid, name, ip, gw)
            except Exception as exc:
                raise TaskError(f"start failed: {exc}") from None
            self.started[vmid] = time.time()

    def stop(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        async def action(task: Task) -> None:
            async with self.lock(vmid):
                if not self.running(vmid):
                    return
                conf = self.store.load(vmid)
                if not params.get("skiplock"):
                    self.check_lock(vmid, conf)
                await self.machines.stop(vmid)

        return self._vm_task("qmstop", vmid, who, action)

    async def _shutdown(self, task: Task, vmid: int, timeout: float, force: bool) -> None:
        if not self.running(vmid):
            return
        self.check_lock(vmid, self.store.load(vmid))
        try:
            async with asyncio.timeout(timeout):
                await self.machines.shutdown(vmid, timeout)
        except TimeoutError:
            if not force:
                raise TaskError("VM quit/powerdown failed - got timeout") from None
            task.warn("VM still running - terminating now with SIGTERM")
            await self.machines.stop(vmid)

    def shutdown(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        timeout = float(params.get("timeout", 60))

        async def action(task: Task) -> None:
            async with self.lock(vmid):
                await self._shutdown(task, vmid, timeout, bool(params.get("forceStop")))

        return self._vm_task("qmshutdown", vmid, who, action)

    def reboot(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        self.load(vmid)
        if not self.running(vmid):
            raise fail(f"VM {vmid} not running\n")
        timeout = float(params.get("timeout", 60))

        async def action(task: Task) -> None:
            async with self.lock(vmid):
                await self._shutdown(task, vmid, timeout, False)
            await self._do_start(task, vmid)

        return self._vm_task("qmreboot", vmid, who, action)

    def destroy(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        conf = self.load(vmid)
        if conf.get("protection") == "1":
            raise fail(f"can't remove VM {vmid} - protection mode enabled\n")
        if self.running(vmid):
            raise fail(f"VM {vmid} is running - destroy failed\n")

        async def body(task: Task) -> None:
            async with self.lock(vmid):
                conf = self.store.load(vmid)
                if self.running(vmid):
                    raise TaskError(f"VM {vmid} is running - destroy failed")
                if not params.get("skiplock"):
                    self.check_lock(vmid, conf)
                for _key, value in drives(conf):
                    if is_cdrom(value):
                        continue
                    name = volid(value).partition(":")[2].rsplit("/", 1)[-1]
                    task.log(f'  Logical volume "{name}" successfully removed.')
                await asyncio.to_thread(self.machines.destroy_disk, vmid)
                if params.get("purge"):
                    task.log(f"purging VM {vmid} from related configurations..")
                self.store.remove(vmid)
                self.started.pop(vmid, None)

        return self.tasks.start("qmdestroy", str(vmid), who, body).upid

    def startall(self, params: dict[str, Any], who: Identity) -> str:
        """POST /nodes/{node}/startall: start VMs marked onboot (or those listed in `vms`)."""
        wanted = None
        if params.get("vms"):
            wanted = {int(v) for v in re.split(r"[,;\s]+", params["vms"]) if v}

        async def body(task: Task) -> None:
            for vmid in self.store.vmids():
                conf = self.store.load(vmid)
                if wanted is not None and vmid not in wanted:
                    continue
                if wanted is None and conf.get("onboot") != "1":
                    continue
                if conf.get("template") == "1" or self.running(vmid):
                    continue
                task.log(f"Starting VM {vmid}")
                sub = self.tasks.start("qmstart", str(vmid), who,
                                       functools.partial(self._start_body, vmid))
                await sub.done.wait()
                self.ensure_running_state(vmid)
                if sub.exitstatus != "OK":
                    task.warn(f"Starting VM {vmid} failed: {sub.exitstatus}")

        return self.tasks.start("startall", "", who, body).upid
