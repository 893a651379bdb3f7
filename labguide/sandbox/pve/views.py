"""What the emulated node answers about its VMs (status, config, cluster resources, next
free id, guest agent): reads over a Node, nothing changed. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
import time
from typing import Any

from labguide.sandbox.pve.drives import MiB, drives, is_cdrom, size_bytes
from labguide.sandbox.pve.node import Node
from labguide.sandbox.pve.params import fail, param_error


def vm_status(node: Node, vmid: int, conf: dict[str, str] | None = None) -> dict[str, Any]:
    """A VM's entry as `GET /nodes/{node}/qemu` lists it."""
    conf = conf if conf is not None else node.load(vmid)
    node.ensure_running_state(vmid)
    running = vmid in node.started
    memory_mb = int(re.sub(r"^current=", "", conf.get("memory", "512")).split(",")[0] or 512)
    cpus = int(conf.get("cores", "1")) * int(conf.get("sockets", "1"))
    boot = conf.get("boot", "")
    bootdisk = next((d for d in re.findall(r"[a-z]+\d+", boot) if d in conf), None)
    if bootdisk is None:
        bootdisk = next((k for k, v in drives(conf) if not is_cdrom(v)
                         and "cloudinit" not in v), None)
    d: dict[str, Any] = {
        "vmid": vmid,
        "name": conf.get("name", f"VM {vmid}"),
        "status": "running" if running else "stopped",
        "cpus": cpus,
        "maxmem": memory_mb * MiB,
        "mem": int(memory_mb * MiB * 0.22) if running else 0,
        "maxdisk": size_bytes(conf[bootdisk]) if bootdisk else 0,
        "disk": 0,
        "cpu": 0.0021 if running else 0,
        "uptime": int(time.time() - node.started[vmid]) if running else 0,
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


def status_current(node: Node, vmid: int) -> dict[str, Any]:
    conf = node.load(vmid)
    d = vm_status(node, vmid, conf)
    d["qmpstatus"] = d["status"]
    d["ha"] = {"managed": 0}
    if conf.get("agent", "0").split(",")[0] in ("1", "enabled=1"):
        d["agent"] = 1
    if d["status"] == "running":
        d["running-machine"] = "pc-i440fx-8.1+pve0"
        d["running-qemu"] = "8.1.5"
    return d


def vm_list(node: Node) -> list[dict[str, Any]]:
    return [vm_status(node, vmid) for vmid in node.store.vmids()]


def config(node: Node, vmid: int) -> dict[str, Any]:
    conf: dict[str, Any] = dict(node.load(vmid))
    for key in ("cores", "sockets", "template", "onboot", "numa", "balloon"):
        if key in conf and re.fullmatch(r"[0-9]+", conf[key]):
            conf[key] = int(conf[key])
    conf["digest"] = node.store.digest(vmid)
    return conf


def resources(node: Node, kind: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if kind in (None, "node"):
        out.append({
            "id": f"node/{node.name}", "type": "node", "node": node.name, "status": "online",
            "level": "", "maxcpu": 2, "cpu": 0.01, "maxmem": 8 * 1024 * MiB,
            "mem": 2 * 1024 * MiB, "maxdisk": 100 * 1024 * MiB, "disk": 10 * 1024 * MiB,
            "uptime": int(time.time() - node.boot_time), "cgroup-mode": 2,
        })
    if kind in (None, "storage"):
        for sid, content, plugin in (("local", "iso,vztmpl,backup", "dir"),
                                     ("local-lvm", "rootdir,images", "lvmthin")):
            out.append({
                "id": f"storage/{node.name}/{sid}", "type": "storage", "node": node.name,
                "storage": sid, "status": "available", "content": content,
                "plugintype": plugin, "shared": 0, "disk": 0, "maxdisk": 100 * 1024 * MiB,
            })
    if kind in (None, "vm"):
        for st in vm_list(node):
            entry = {
                "id": f"qemu/{st['vmid']}", "type": "qemu", "node": node.name,
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


def nextid(node: Node, wanted: int | None) -> str:
    used = set(node.store.vmids())
    if wanted is not None:
        if wanted in used:
            raise param_error({"vmid": f"VM {wanted} already exists"})
        return str(wanted)
    vmid = 100
    while vmid in used:
        vmid += 1
    return str(vmid)


def agent_interfaces(node: Node, vmid: int) -> dict[str, Any]:
    conf = node.load(vmid)
    if conf.get("agent", "0").split(",")[0] not in ("1", "enabled=1"):
        raise fail("No QEMU guest agent configured\n")
    if not node.running(vmid):
        raise fail(f"VM {vmid} is not running\n")
    result = node.machines.guest_interfaces(vmid)
    if result is None:
        raise fail("QEMU guest agent is not running\n")
    return {"result": result}
