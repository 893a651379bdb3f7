"""The emulated node's VM routes: /nodes/{node}/qemu/… (config, power, clone, destroy, guest
agent) and startall. Each route checks its parameters and calls Node; nothing more.
"""

from __future__ import annotations

import logging

from aiohttp import web

from labguide.proxmox_params import CONFIG_FORMATS
from labguide.sandbox.pve import clone, views
from labguide.sandbox.pve import params as P
from labguide.sandbox.pve.envelope import (
    BASE,
    NODE_VM,
    answer,
    node_of,
    request_args,
    who_of,
)
from labguide.sandbox.pve.params import Param

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
#: What start, stop and shutdown take besides their own options.
POWER = {**NODE_VM, "skiplock": P.BOOL, "timeout": Param("integer", minimum=0)}

CONFIG_KEYS: dict[str, Param] = {
    "memory": Param(), "cores": Param("integer", minimum=1),
    "sockets": Param("integer", minimum=1), "description": Param(), "onboot": P.BOOL,
    "agent": Param(), "nameserver": Param(), "searchdomain": Param(), "tags": Param(),
    "ciuser": Param(), "sshkeys": Param(), "boot": Param(), "cpu": Param(),
    "balloon": Param("integer", minimum=0), "protection": P.BOOL,
    **{key: Param(format=fmt) for key, fmt in CONFIG_FORMATS.items()},  # name, ipconfigN
    **{f"net{n}": Param() for n in range(4)},
    "delete": Param(), "digest": Param(), "skiplock": P.BOOL,
}


@routes.get(BASE + "/nodes/{node}/qemu")
async def vm_list(request: web.Request) -> web.Response:
    request_args(request, {"node": P.NODE, "full": P.BOOL})
    return answer(views.vm_list(node_of(request)))


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}")
async def vm_index(request: web.Request) -> web.Response:
    args = request_args(request, NODE_VM)
    node_of(request).load(args["vmid"])
    return answer([{"subdir": s} for s in ("config", "pending", "status", "agent", "clone",
                                        "firewall", "rrd", "snapshot")])


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config(request: web.Request) -> web.Response:
    args = request_args(request, {**NODE_VM, "current": P.BOOL, "snapshot": Param()})
    return answer(views.config(node_of(request), args["vmid"]))


@routes.put(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config_put(request: web.Request) -> web.Response:
    args = request_args(request, {**NODE_VM, **CONFIG_KEYS})
    node, vmid = node_of(request), args.pop("vmid")
    args.pop("node")
    line = await node.update_sync(vmid, args)
    log.info("%s", line)
    return answer(None)


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config_post(request: web.Request) -> web.Response:
    args = request_args(request, {**NODE_VM, **CONFIG_KEYS, "background_delay": Param("integer")})
    vmid = args.pop("vmid")
    args.pop("node")
    args.pop("background_delay", None)
    return answer(node_of(request).update_async(vmid, args, who_of(request)))


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/status")
async def vm_status_index(request: web.Request) -> web.Response:
    args = request_args(request, NODE_VM)
    node_of(request).load(args["vmid"])
    return answer([{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown",
                                        "reboot", "suspend", "resume")])


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/status/current")
async def vm_status_current(request: web.Request) -> web.Response:
    args = request_args(request, NODE_VM)
    return answer(views.status_current(node_of(request), args["vmid"]))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/start")
async def vm_start(request: web.Request) -> web.Response:
    args = request_args(request, POWER)
    return answer(node_of(request).start(args["vmid"], who_of(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/stop")
async def vm_stop(request: web.Request) -> web.Response:
    args = request_args(request, {**POWER, "keepActive": P.BOOL,
                                  "overrule-shutdown": P.BOOL})
    return answer(node_of(request).stop(args["vmid"], args, who_of(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/shutdown")
async def vm_shutdown(request: web.Request) -> web.Response:
    args = request_args(request, {**POWER, "forceStop": P.BOOL, "keepActive": P.BOOL})
    return answer(node_of(request).shutdown(args["vmid"], args, who_of(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/reboot")
async def vm_reboot(request: web.Request) -> web.Response:
    args = request_args(request, {**NODE_VM, "timeout": Param("integer", minimum=0)})
    return answer(node_of(request).reboot(args["vmid"], args, who_of(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/clone")
async def vm_clone(request: web.Request) -> web.Response:
    args = request_args(request, {
        **NODE_VM, "newid": P.VMID, "name": Param(format="dns-name"), "description": Param(),
        "pool": Param(), "snapname": Param(), "storage": Param(),
        "format": Param(enum=("raw", "qcow2", "vmdk")), "full": P.BOOL, "target": Param(),
        "bwlimit": Param("integer", minimum=0),
    })
    return answer(clone.start(node_of(request), args["vmid"], args, who_of(request)))


@routes.delete(BASE + "/nodes/{node}/qemu/{vmid}")
async def vm_destroy(request: web.Request) -> web.Response:
    args = request_args(request, {**NODE_VM, "purge": P.BOOL, "skiplock": P.BOOL,
                           "destroy-unreferenced-disks": P.BOOL})
    return answer(node_of(request).destroy(args["vmid"], args, who_of(request)))


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces")
async def vm_agent_ifaces(request: web.Request) -> web.Response:
    args = request_args(request, NODE_VM)
    return answer(views.agent_interfaces(node_of(request), args["vmid"]))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/agent/ping")
async def vm_agent_ping(request: web.Request) -> web.Response:
    args = request_args(request, NODE_VM)
    views.agent_interfaces(node_of(request), args["vmid"])
    return answer({"result": {}})


@routes.post(BASE + "/nodes/{node}/startall")
async def startall(request: web.Request) -> web.Response:
    args = request_args(request, {"node": P.NODE, "force": P.BOOL, "vms": Param()})
    return answer(node_of(request).startall(args, who_of(request)))
