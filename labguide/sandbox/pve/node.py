"""The emulated Proxmox VE node: what each API call does to VM configs, tasks and machines.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from labguide.sandbox.pve.auth import Identity
from labguide.sandbox.pve.backend import Machines
from labguide.sandbox.pve.params import ApiError, fail, is_dns_name, param_error
from labguide.sandbox.pve.store import VmStore, random_mac
from labguide.sandbox.pve.store import new_uuid as _uuid
from labguide.sandbox.pve.tasks import Task, TaskError, TaskManager

log = logging.getLogger(__name__)

PVE_VERSION = {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}
_DRIVE = re.compile(r"^(ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|"
                    r"efidisk0|tpmstate0)$")
_SIZE = re.compile(r"(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
MiB = 1024 * 1024


def _fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.1f} B"


@dataclass(frozen=True)
class Timings:
    """How long emulated work takes (the real node's disks are slower; tests want it quick)."""

    clone_seconds: float = 1.5
    lock_timeout: float = 10.0


class _RwLock:
    """PVE's flock on /var/lock/qemu-server/lock-VMID.conf: shared or exclusive, with a timeout."""

    def __init__(self) -> None:
        self.readers = 0
        self.writer = False
        self.cond = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, vmid: int, exclusive: bool, timeout: float) -> AsyncIterator[None]:
        def free() -> bool:
            return not self.writer and (not exclusive or self.readers == 0)

        async with self.cond:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                async with asyncio.timeout(timeout):
                    await self.cond.wait_for(free)
            except TimeoutError:
                raise TaskError(f"can't lock file '/var/lock/qemu-server/lock-{vmid}.conf' "
                                "- got timeout") from None
            if exclusive:
                self.writer = True
            else:
                self.readers += 1
        try:
            yield
        finally:
            async with self.cond:
                if exclusive:
                    self.writer = False
                else:
                    self.readers -= 1
                self.cond.notify_all()


def _drives(conf: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, conf[k]) for k in sorted(conf) if _DRIVE.match(k)]


def _is_cdrom(value: str) -> bool:
    return "media=cdrom" in value and "cloudinit" not in value


def _volid(value: str) -> str:
    return value.split(",", 1)[0]


def _size_bytes(value: str) -> int:
    m = _SIZE.search(value)
    return int(float(m.group(1)) * _UNITS[m.group(2)]) if m else 0


def parse_ipconfig(value: str) -> tuple[str | None, str | None]:
    parts = dict(p.partition("=")[::2] for p in value.split(",") if "=" in p)
    ip = parts.get("ip")
    return (None if ip in (None, "dhcp") else ip), parts.get("gw")


class Node:
    """One PVE node: VM configs on disk (VmStore), tasks in memory, VMs on a Machines backend."""

    def __init__(self, name: str, store: VmStore, machines: Machines,
                 timings: Timings | None = None) -> None:
        self.name = name
        self.store = store
        self.machines = machines
        self.timings = timings or Timings()
        self.tasks = TaskManager(name)
        self._locks: dict[int, _RwLock] = {}
        self._started: dict[int, float] = {}
        self.boot_time = time.time()
        self.reconcile()

    # -- helpers -------------------------------------------------------------
    def reconcile(self) -> None:
        """Learn which VMs run from the backend (after an emulator restart)."""
        now = time.time()
        for vmid in self.store.vmids():
            if self.machines.is_running(vmid):
                self._started.setdefault(vmid, now)
            else:
                self._started.pop(vmid, None)

    def lock(self, vmid: int,
             exclusive: bool = True) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.setdefault(vmid, _RwLock()).hold(
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

    def _ensure_running_state(self, vmid: int) -> None:
        if self.running(vmid):
            self._started.setdefault(vmid, time.time())
        else:
            self._started.pop(vmid, None)

    # -- reads ---------------------------------------------------------------
    def vm_status(self, vmid: int, conf: dict[str, str] | None = None) -> dict[str, Any]:
        conf = conf if conf is not None else self.load(vmid)
        self._ensure_running_state(vmid)
        running = vmid in self._started
        memory_mb = int(re.sub(r"^current=", "", conf.get("memory", "512")).split(",")[0] or 512)
        cpus = int(conf.get("cores", "1")) * int(conf.get("sockets", "1"))
        boot = conf.get("boot", "")
        bootdisk = next((d for d in re.findall(r"[a-z]+\d+", boot) if d in conf), None)
        if bootdisk is None:
            bootdisk = next((k for k, v in _drives(conf) if not _is_cdrom(v)
                             and "cloudinit" not in v), None)
        d: dict[str, Any] = {
            "vmid": vmid,
            "name": conf.get("name", f"VM {vmid}"),
            "status": "running" if running else "stopped",
            "cpus": cpus,
            "maxmem": memory_mb * MiB,
            "mem": int(memory_mb * MiB * 0.22) if running else 0,
            "maxdisk": _size_bytes(conf[bootdisk]) if bootdisk else 0,
            "disk": 0,
            "cpu": 0.0021 if running else 0,
            "uptime": int(time.time() - self._started[vmid]) if running else 0,
            "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        }
        if running:
            d["pid"] = 100000 + vmid % 100000
        if conf.get("template") == "1":
            d["template"] = 1
        if conf.get("serial0"):
            d["serial"] = 1
        if conf.get("lock"):
            d["lock"] = conf["lock"]
        if conf.get("tags"):
            d["tags"] = conf["tags"]
        return d

    def status_current(self, vmid: int) -> dict[str, Any]:
        conf = self.load(vmid)
        d = self.vm_status(vmid, conf)
        d["qmpstatus"] = d["status"]
        d["ha"] = {"managed": 0}
        if conf.get("agent", "0").split(",")[0] in ("1", "enabled=1"):
            d["agent"] = 1
        if d["status"] == "running":
            d["running-machine"] = "pc-i440fx-8.1+pve0"
            d["running-qemu"] = "8.1.5"
        return d

    def vm_list(self) -> list[dict[str, Any]]:
        return [self.vm_status(vmid) for vmid in self.store.vmids()]

    def config(self, vmid: int) -> dict[str, Any]:
        conf: dict[str, Any] = dict(self.load(vmid))
        for key in ("cores", "sockets", "template", "onboot", "numa", "balloon"):
            if key in conf and re.fullmatch(r"[0-9]+", conf[key]):
                conf[key] = int(conf[key])
        conf["digest"] = self.store.digest(vmid)
        return conf

    def resources(self, kind: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if kind in (None, "node"):
            out.append({
                "id": f"node/{self.name}", "type": "node", "node": self.name, "status": "online",
                "level": "", "maxcpu": 2, "cpu": 0.01, "maxmem": 8 * 1024 * MiB,
                "mem": 2 * 1024 * MiB, "maxdisk": 100 * 1024 * MiB, "disk": 10 * 1024 * MiB,
                "uptime": int(time.time() - self.boot_time), "cgroup-mode": 2,
            })
        if kind in (None, "storage"):
            for sid, content, plugin in (("local", "iso,vztmpl,backup", "dir"),
                                         ("local-lvm", "rootdir,images", "lvmthin")):
                out.append({
                    "id": f"storage/{self.name}/{sid}", "type": "storage", "node": self.name,
                    "storage": sid, "status": "available", "content": content,
                    "plugintype": plugin, "shared": 0, "disk": 0, "maxdisk": 100 * 1024 * MiB,
                })
        if kind in (None, "vm"):
            for st in self.vm_list():
                entry = {
                    "id": f"qemu/{st['vmid']}", "type": "qemu", "node": self.name,
                    "vmid": st["vmid"], "name": st["name"], "status": st["status"],
                    "template": st.get("template", 0), "maxcpu": st["cpus"],
                    **{k: st[k] for k in ("maxmem", "mem", "maxdisk", "disk", "cpu", "uptime",
                                          "netin", "netout", "diskread", "diskwrite")},
                }
                for opt in ("lock", "tags"):
                    if opt in st:
                        entry[opt] = st[opt]
                out.append(entry)
        return out

    def nextid(self, wanted: int | None) -> str:
        used = set(self.store.vmids())
        if wanted is not None:
            if wanted in used:
                raise param_error({"vmid": f"VM {wanted} already exists"})
            return str(wanted)
        vmid = 100
        while vmid in used:
            vmid += 1
        return str(vmid)

    def agent_interfaces(self, vmid: int) -> dict[str, Any]:
        conf = self.load(vmid)
        if conf.get("agent", "0").split(",")[0] not in ("1", "enabled=1"):
            raise fail("No QEMU guest agent configured\n")
        if not self.running(vmid):
            raise fail(f"VM {vmid} is not running\n")
        result = self.machines.guest_interfaces(vmid)
        if result is None:
            raise fail("QEMU guest agent is not running\n")
        return {"result": result}

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

    # -- clone ---------------------------------------------------------------
    def clone(self, vmid: int, params: dict[str, Any], who: Identity) -> str:
        newid: int = params["newid"]
        target = params.get("target")
        if target in (self.name, "localhost"):
            target = None
        if target:
            raise fail(f"no such cluster node '{target}'\n")
        running = self.running(vmid)

        def load_and_check() -> tuple[dict[str, str], bool]:
            conf = self.load(vmid)
            if conf.get("lock"):
                raise fail(f"VM {vmid} is locked ({conf['lock']})\n")
            if self.running(vmid) != running:
                raise fail("unexpected state change\n")
            full = params.get("full", conf.get("template") != "1")
            if params.get("storage") and not full:
                raise fail("parameter 'storage' not allowed for linked clones\n")
            if self.store.exists(newid):
                raise fail(f"unable to create VM {newid}: config file already exists\n")
            return conf, bool(full)

        old, full = load_and_check()
        # PVE writes this file from the worker a moment later; writing it before answering
        # makes `lock: clone` visible as soon as the UPID is known.
        self.store.create_placeholder(newid, "clone")

        async def body(task: Task) -> None:
            try:
                async with self.lock(vmid, exclusive=running), self.lock(newid):
                    await self._clone_task(task, vmid, newid, old, full, params)
            except BaseException:
                self.store.remove(newid)
                raise

        return self.tasks.start("qmclone", str(vmid), who, body).upid

    async def _clone_task(self, task: Task, vmid: int, newid: int, old: dict[str, str],
                          full: bool, params: dict[str, Any]) -> None:
        task.log(f"creating a clone of VM {vmid} with ID {newid}")
        new: dict[str, str] = {"lock": "clone"}
        drives: list[tuple[str, str]] = []
        for key, value in sorted(old.items()):
            if key in ("parent", "snaptime", "vmstate", "runningcpu", "runningmachine") or \
                    re.match(r"^unused\d+$", key):
                continue
            if re.match(r"^net\d+$", key):
                new[key] = re.sub(r"^(\w+)=([0-9A-Fa-f:]{17})", lambda m: f"{m.group(1)}="
                                  f"{random_mac()}", value)
            elif _DRIVE.match(key) and not _is_cdrom(value):
                drives.append((key, value))
            else:
                new[key] = value
        new["smbios1"] = re.sub(r"uuid=[0-9a-f-]+", "", new.get("smbios1", "")).strip(",")
        new["smbios1"] = ",".join(filter(None, [new["smbios1"], f"uuid={_uuid()}"]))
        if new.get("vmgenid"):
            new["vmgenid"] = _uuid()
        new.pop("template", None)
        new["name"] = params.get("name") or f"Copy-of-VM-{old.get('name', vmid)}"
        if params.get("description"):
            new["description"] = params["description"]
        try:
            await asyncio.to_thread(self.machines.create_disk, newid, vmid)
            per_drive = self.timings.clone_seconds / max(1, len(drives))
            for key, value in drives:
                volid = _volid(value)
                storage, _, volname = volid.partition(":")
                cloudinit = "cloudinit" in volname
                disk_full = full or cloudinit
                task.log(f"create {'full' if disk_full else 'linked'} clone of drive "
                         f"{key} ({volid})")
                suffix = "cloudinit" if cloudinit else "disk-" + volname.rsplit("-", 1)[-1]
                target_name = f"vm-{newid}-{suffix}"
                if disk_full:
                    new_volid = f"{storage}:{target_name}"
                    task.log(f'  Logical volume "{target_name}" created.')
                    task.log(f"allocated target volume '{new_volid}'")
                    size = _size_bytes(value)
                    if size:
                        for step in range(0, 101, 25):
                            task.log(f"transferred {_fmt_bytes(size * step / 100)} of "
                                     f"{_fmt_bytes(size)} ({step:.2f}%)")
                            await asyncio.sleep(per_drive / 5)
                else:
                    new_volid = f"{storage}:{volname}/{target_name}"
                    task.log(f'  Logical volume "{target_name}" created.')
                    await asyncio.sleep(per_drive)
                rest = value.split(",", 1)[1] if "," in value else ""
                new[key] = new_volid + ("," + rest if rest else "")
                self.store.write(newid, new)
            del new["lock"]
            self.store.write(newid, new)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.machines.destroy_disk, newid)
            self.store.remove(newid)
            if isinstance(exc, Exception):
                raise TaskError(f"clone failed: {exc}") from None
            raise

    # -- power ---------------------------------------------------------------
    def _vm_task(self, kind: str, vmid: int, who: Identity,
                 action: Any) -> str:
        self.load(vmid)

        async def body(task: Task) -> None:
            await action(task)
            self._ensure_running_state(vmid)

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
            if not is_dns_name(name) or len(name) > 63:
                raise TaskError(f"VM {vmid}: the sandbox starts only VMs whose name is a DNS "
                                f"name of at most 63 characters, not {name!r}")
            ip, gw = parse_ipconfig(conf.get("ipconfig0", ""))
            if not ip:
                raise TaskError(f"VM {vmid}: the sandbox needs a static address in ipconfig0 "
                                "(ip=ADDRESS/PREFIX); it has no DHCP server")
            if any("cloudinit" in v for _, v in _drives(conf)):
                task.log("generating cloud-init ISO")
            try:
                await self.machines.start(vmid, name, ip, gw)
            except Exception as exc:
                raise TaskError(f"start failed: {exc}") from None
            self._started[vmid] = time.time()

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
                for _key, value in _drives(conf):
                    if _is_cdrom(value):
                        continue
                    name = _volid(value).partition(":")[2].rsplit("/", 1)[-1]
                    task.log(f'  Logical volume "{name}" successfully removed.')
                await asyncio.to_thread(self.machines.destroy_disk, vmid)
                if params.get("purge"):
                    task.log(f"purging VM {vmid} from related configurations..")
                self.store.remove(vmid)
                self._started.pop(vmid, None)

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
                self._ensure_running_state(vmid)
                if sub.exitstatus != "OK":
                    task.warn(f"Starting VM {vmid} failed: {sub.exitstatus}")

        return self.tasks.start("startall", "", who, body).upid
