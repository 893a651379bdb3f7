"""`POST /nodes/{node}/qemu/{vmid}/clone` on the emulated node: the checks PVE makes before the
task, the new VM's config (new MACs, SMBIOS UUID, vmgenid), and the task that copies each
disk (full or linked) with PVE's log lines. Knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from labguide.sandbox.pve.auth import Identity
from labguide.sandbox.pve.drives import DRIVE, fmt_bytes, is_cdrom, size_bytes, volid
from labguide.sandbox.pve.node import Node
from labguide.sandbox.pve.params import fail
from labguide.sandbox.pve.store import new_uuid, random_mac
from labguide.sandbox.pve.tasks import Task, TaskError

#: Keys a clone never carries over (snapshot and run-time state, unused disks).
_NOT_COPIED = re.compile(r"^(parent|snaptime|vmstate|runningcpu|runningmachine|unused\d+)$")


def start(node: Node, vmid: int, params: dict[str, Any], who: Identity) -> str:
    """Check, write the target's placeholder (`lock: clone`) and start the qmclone task."""
    newid: int = params["newid"]
    target = params.get("target")
    if target not in (None, node.name, "localhost"):
        raise fail(f"no such cluster node '{target}'\n")
    running = node.running(vmid)
    old = node.load(vmid)
    if old.get("lock"):
        raise fail(f"VM {vmid} is locked ({old['lock']})\n")
    full = bool(params.get("full", old.get("template") != "1"))
    if params.get("storage") and not full:
        raise fail("parameter 'storage' not allowed for linked clones\n")
    if node.store.exists(newid):
        raise fail(f"unable to create VM {newid}: config file already exists\n")
    # PVE writes this file from the worker a moment later; writing it before answering
    # makes `lock: clone` visible as soon as the UPID is known.
    node.store.create_placeholder(newid, "clone")

    async def body(task: Task) -> None:
        try:
            async with node.lock(vmid, exclusive=running), node.lock(newid):
                if node.running(vmid) != running:
                    raise TaskError("unexpected state change")
                await _clone(node, task, vmid, newid, old, full, params)
        except BaseException:
            node.store.remove(newid)
            raise

    return node.tasks.start("qmclone", str(vmid), who, body).upid


def cloned_config(old: dict[str, str], vmid: int,
                  params: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The new VM's config (still `lock: clone`, disks not yet set) and the disks to copy."""
    new: dict[str, str] = {"lock": "clone"}
    disks: list[tuple[str, str]] = []
    for key, value in sorted(old.items()):
        if _NOT_COPIED.match(key):
            continue
        if re.match(r"^net\d+$", key):
            new[key] = re.sub(r"^(\w+)=([0-9A-Fa-f:]{17})",
                              lambda m: f"{m.group(1)}={random_mac()}", value)
        elif DRIVE.match(key) and not is_cdrom(value):
            disks.append((key, value))
        else:
            new[key] = value
    smbios = re.sub(r"uuid=[0-9a-f-]+", "", new.get("smbios1", "")).strip(",")
    new["smbios1"] = ",".join(filter(None, [smbios, f"uuid={new_uuid()}"]))
    if new.get("vmgenid"):
        new["vmgenid"] = new_uuid()
    new.pop("template", None)
    new["name"] = params.get("name") or f"Copy-of-VM-{old.get('name', vmid)}"
    if params.get("description"):
        new["description"] = params["description"]
    return new, disks


async def _copy_disk(task: Task, newid: int, key: str, value: str, full: bool,
                     seconds: float) -> str:
    """Log PVE's lines for one disk, take `seconds` doing it; returns the new drive value."""
    vol = volid(value)
    storage, _, volname = vol.partition(":")
    cloudinit = "cloudinit" in volname
    disk_full = full or cloudinit
    task.log(f"create {'full' if disk_full else 'linked'} clone of drive {key} ({vol})")
    suffix = "cloudinit" if cloudinit else "disk-" + volname.rsplit("-", 1)[-1]
    target_name = f"vm-{newid}-{suffix}"
    task.log(f'  Logical volume "{target_name}" created.')
    if disk_full:
        new_volid = f"{storage}:{target_name}"
        task.log(f"allocated target volume '{new_volid}'")
        size = size_bytes(value)
        if size:
            for step in range(0, 101, 25):
                task.log(f"transferred {fmt_bytes(size * step / 100)} of "
                         f"{fmt_bytes(size)} ({step:.2f}%)")
                await asyncio.sleep(seconds / 5)
    else:
        new_volid = f"{storage}:{volname}/{target_name}"
        await asyncio.sleep(seconds)
    rest = value.split(",", 1)[1] if "," in value else ""
    return new_volid + ("," + rest if rest else "")


async def _clone(node: Node, task: Task, vmid: int, newid: int, old: dict[str, str],
                 full: bool, params: dict[str, Any]) -> None:
    task.log(f"creating a clone of VM {vmid} with ID {newid}")
    new, disks = cloned_config(old, vmid, params)
    try:
        await asyncio.to_thread(node.machines.create_disk, newid, vmid)
        per_disk = node.timings.clone_seconds / max(1, len(disks))
        for key, value in disks:
            new[key] = await _copy_disk(task, newid, key, value, full, per_disk)
            node.store.write(newid, new)
        del new["lock"]
        node.store.write(newid, new)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(node.machines.destroy_disk, newid)
        node.store.remove(newid)
        if isinstance(exc, Exception):
            raise TaskError(f"clone failed: {exc}") from None
        raise
