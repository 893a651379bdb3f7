"""The HTTP face of the emulated node: aiohttp routes under /api2/json, auth, PVE's envelope.

Routes only translate HTTP to Node calls; what a call does lives in node.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from labguide.sandbox.pve import params as P
from labguide.sandbox.pve.auth import Authenticator, AuthFailure, Identity
from labguide.sandbox.pve.node import PVE_VERSION, Node
from labguide.sandbox.pve.params import ApiError, Param

log = logging.getLogger(__name__)

BASE = "/api2/json"
NODE_KEY = web.AppKey("node", Node)
AUTH_KEY = web.AppKey("auth", Authenticator)
DELAY_KEY = web.AppKey("auth_delay", float)
IDENTITY = "identity"
PARAMS = "params"
_NO_AUTH = {("POST", "/access/ticket"), ("GET", "/access/ticket"), ("GET", "/access/domains")}
_HEADERS = {"Server": "pve-api-daemon/3.0", "Cache-Control": "max-age=0", "Pragma": "no-cache"}

routes = web.RouteTableDef()


@dataclass(frozen=True)
class Reply:
    data: Any
    total: int | None = None


def _response(status: int, body: dict[str, Any], reason: str | None = None) -> web.Response:
    return web.Response(
        status=status, reason=reason, text=json.dumps(body, separators=(",", ":")),
        content_type="application/json", charset="utf-8", headers=_HEADERS,
    )


def error_response(exc: ApiError) -> web.Response:
    reason = exc.message.split("\n", 1)[0].strip() or None
    body: dict[str, Any] = {"data": None, "message": exc.message}
    if exc.errors:
        body["errors"] = exc.errors
    return _response(exc.status, body, reason)


async def _raw_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.method in ("POST", "PUT") and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "malformed JSON body") from None
            if isinstance(body, dict):
                raw.update(body)
        else:
            raw.update(dict(await request.post()))
    return raw


def _identify(request: web.Request, auth: Authenticator, rel: str) -> Identity | None:
    if (request.method, rel) in _NO_AUTH:
        return None
    ticket = request.cookies.get("PVEAuthCookie")
    if ticket:
        who = auth.verify_ticket(unquote(ticket))
        if request.method != "GET":
            auth.verify_csrf(who.user, request.headers.get("CSRFPreventionToken"))
        return who
    header = request.headers.get("Authorization", "")
    if header.startswith("PVEAPIToken="):
        return auth.verify_api_token(header[len("PVEAPIToken="):])
    if header.startswith("PVEAPIToken "):
        return auth.verify_api_token(header[len("PVEAPIToken "):])
    raise AuthFailure("No ticket")


@web.middleware
async def pve_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    path = request.path
    if path != BASE and not path.startswith(BASE + "/"):
        return web.Response(status=501, reason="no such uri", headers=_HEADERS)
    rel = path[len(BASE):] or "/"
    try:
        request[IDENTITY] = _identify(request, request.app[AUTH_KEY], rel)
    except AuthFailure as exc:
        await asyncio.sleep(request.app[DELAY_KEY])  # PVE delays every 401 by 3 s
        return web.Response(status=401, reason=str(exc), headers=_HEADERS)
    try:
        request[PARAMS] = await _raw_params(request)
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return error_response(ApiError(501, f"Method '{request.method} {rel}' not implemented"))
    except ApiError as exc:
        if exc.status == 401:
            await asyncio.sleep(request.app[DELAY_KEY])
        return error_response(exc)


def _ok(reply: Any) -> web.Response:
    if isinstance(reply, Reply):
        body: dict[str, Any] = {"data": reply.data}
        if reply.total is not None:
            body["total"] = reply.total
        return _response(200, body)
    return _response(200, {"data": reply})


def _args(request: web.Request, schema: Mapping[str, Param]) -> dict[str, Any]:
    """Path and body/query parameters, checked together as PVE does."""
    raw: dict[str, Any] = dict(request[PARAMS])
    for key, value in request.match_info.items():
        if key in raw and str(raw[key]) != value:
            raise P.param_error({key: "duplicate parameter (already defined in URI) with "
                                      "conflicting values!"})
        raw[key] = value
    args = P.check(schema, raw)
    if "node" in args:
        request.app[NODE_KEY].check_node(args["node"])
    return args


def _node(request: web.Request) -> Node:
    return request.app[NODE_KEY]


def _who(request: web.Request) -> Identity:
    who = request[IDENTITY]
    assert isinstance(who, Identity)
    return who


NODE_VM = {"node": P.NODE, "vmid": P.VMID}
CONFIG_KEYS: dict[str, Param] = {
    "name": Param(format="dns-name"), "memory": Param(), "cores": Param("integer", minimum=1),
    "sockets": Param("integer", minimum=1), "description": Param(), "onboot": P.BOOL,
    "agent": Param(), "nameserver": Param(), "searchdomain": Param(), "tags": Param(),
    "ciuser": Param(), "sshkeys": Param(), "boot": Param(), "cpu": Param(),
    "balloon": Param("integer", minimum=0), "protection": P.BOOL,
    **{f"ipconfig{n}": Param(format="ipconfig") for n in range(10)},
    **{f"net{n}": Param() for n in range(4)},
    "delete": Param(), "digest": Param(), "skiplock": P.BOOL,
}


# -- access -----------------------------------------------------------------
@routes.get(BASE + "/access/domains")
async def domains(request: web.Request) -> web.Response:
    return _ok([{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
                {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}])


@routes.get(BASE + "/access/ticket")
async def ticket_dummy(request: web.Request) -> web.Response:
    return _ok(None)


@routes.post(BASE + "/access/ticket")
async def ticket(request: web.Request) -> web.Response:
    args = _args(request, {
        "username": Param(optional=False), "password": Param(optional=False),
        "realm": Param(), "otp": Param(), "path": Param(), "privs": Param(),
        "new-format": P.BOOL, "tfa-challenge": Param(),
    })
    auth = request.app[AUTH_KEY]
    username = args["username"]
    if "@" not in username and args.get("realm"):
        username = f"{username}@{args['realm']}"
    try:
        who = auth.login(username, args["password"])
    except AuthFailure as exc:
        raise ApiError(401, f"{exc}\n") from None
    return _ok({
        "username": who.user,
        "ticket": auth.make_ticket(who.user),
        "CSRFPreventionToken": auth.make_csrf(who.user),
        "cap": {"vms": {"VM.PowerMgmt": 1, "VM.Clone": 1, "VM.Allocate": 1, "VM.Config.Network": 1,
                        "VM.Audit": 1}},
    })


# -- version, cluster, nodes ---------------------------------------------------
@routes.get(BASE + "/")
async def root(request: web.Request) -> web.Response:
    return _ok([{"subdir": s} for s in ("version", "cluster", "nodes", "storage", "access",
                                        "pools")])


@routes.get(BASE + "/version")
async def version(request: web.Request) -> web.Response:
    _args(request, {})
    return _ok(dict(PVE_VERSION))


@routes.get(BASE + "/cluster/resources")
async def cluster_resources(request: web.Request) -> web.Response:
    args = _args(request, {"type": Param(enum=("vm", "storage", "node", "sdn"))})
    return _ok(_node(request).resources(args.get("type")))


@routes.get(BASE + "/cluster/nextid")
async def cluster_nextid(request: web.Request) -> web.Response:
    args = _args(request, {"vmid": Param("integer", format="pve-vmid")})
    return _ok(_node(request).nextid(args.get("vmid")))


@routes.get(BASE + "/nodes")
async def nodes(request: web.Request) -> web.Response:
    _args(request, {})
    entry = _node(request).resources("node")[0]
    return _ok([{k: v for k, v in entry.items() if k != "cgroup-mode"}])


@routes.get(BASE + "/nodes/{node}/qemu")
async def vm_list(request: web.Request) -> web.Response:
    _args(request, {"node": P.NODE, "full": P.BOOL})
    return _ok(_node(request).vm_list())


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}")
async def vm_index(request: web.Request) -> web.Response:
    args = _args(request, NODE_VM)
    _node(request).load(args["vmid"])
    return _ok([{"subdir": s} for s in ("config", "pending", "status", "agent", "clone",
                                        "firewall", "rrd", "snapshot")])


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "current": P.BOOL, "snapshot": Param()})
    return _ok(_node(request).config(args["vmid"]))


@routes.put(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config_put(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, **CONFIG_KEYS})
    node, vmid = _node(request), args.pop("vmid")
    args.pop("node")
    line = await node.update_sync(vmid, args)
    log.info("%s", line)
    return _ok(None)


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/config")
async def vm_config_post(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, **CONFIG_KEYS, "background_delay": Param("integer")})
    vmid = args.pop("vmid")
    args.pop("node")
    args.pop("background_delay", None)
    return _ok(_node(request).update_async(vmid, args, _who(request)))


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/status")
async def vm_status_index(request: web.Request) -> web.Response:
    args = _args(request, NODE_VM)
    _node(request).load(args["vmid"])
    return _ok([{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown",
                                        "reboot", "suspend", "resume")])


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/status/current")
async def vm_status_current(request: web.Request) -> web.Response:
    args = _args(request, NODE_VM)
    return _ok(_node(request).status_current(args["vmid"]))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/start")
async def vm_start(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "skiplock": P.BOOL, "timeout": Param("integer", minimum=0)})
    return _ok(_node(request).start(args["vmid"], _who(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/stop")
async def vm_stop(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "skiplock": P.BOOL, "timeout": Param("integer", minimum=0),
                           "keepActive": P.BOOL, "overrule-shutdown": P.BOOL})
    return _ok(_node(request).stop(args["vmid"], args, _who(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/shutdown")
async def vm_shutdown(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "skiplock": P.BOOL, "timeout": Param("integer", minimum=0),
                           "forceStop": P.BOOL, "keepActive": P.BOOL})
    return _ok(_node(request).shutdown(args["vmid"], args, _who(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/status/reboot")
async def vm_reboot(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "timeout": Param("integer", minimum=0)})
    return _ok(_node(request).reboot(args["vmid"], args, _who(request)))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/clone")
async def vm_clone(request: web.Request) -> web.Response:
    args = _args(request, {
        **NODE_VM, "newid": P.VMID, "name": Param(format="dns-name"), "description": Param(),
        "pool": Param(), "snapname": Param(), "storage": Param(),
        "format": Param(enum=("raw", "qcow2", "vmdk")), "full": P.BOOL, "target": Param(),
        "bwlimit": Param("integer", minimum=0),
    })
    return _ok(_node(request).clone(args["vmid"], args, _who(request)))


@routes.delete(BASE + "/nodes/{node}/qemu/{vmid}")
async def vm_destroy(request: web.Request) -> web.Response:
    args = _args(request, {**NODE_VM, "purge": P.BOOL, "skiplock": P.BOOL,
                           "destroy-unreferenced-disks": P.BOOL})
    return _ok(_node(request).destroy(args["vmid"], args, _who(request)))


@routes.get(BASE + "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces")
async def vm_agent_ifaces(request: web.Request) -> web.Response:
    args = _args(request, NODE_VM)
    return _ok(_node(request).agent_interfaces(args["vmid"]))


@routes.post(BASE + "/nodes/{node}/qemu/{vmid}/agent/ping")
async def vm_agent_ping(request: web.Request) -> web.Response:
    args = _args(request, NODE_VM)
    _node(request).agent_interfaces(args["vmid"])
    return _ok({"result": {}})


@routes.post(BASE + "/nodes/{node}/startall")
async def startall(request: web.Request) -> web.Response:
    args = _args(request, {"node": P.NODE, "force": P.BOOL, "vms": Param()})
    return _ok(_node(request).startall(args, _who(request)))


# -- tasks --------------------------------------------------------------------
def _task(request: web.Request) -> Any:
    args = _args(request, {"node": P.NODE, "upid": Param(optional=False)})
    task = _node(request).tasks.get(args["upid"])
    if task is None:
        raise P.fail(f"unable to parse worker upid '{args['upid']}'\n"
                     if not args["upid"].startswith("UPID:") else "no such task\n")
    return task


@routes.get(BASE + "/nodes/{node}/tasks")
async def task_list(request: web.Request) -> web.Response:
    args = _args(request, {"node": P.NODE, "limit": Param("integer", minimum=0),
                           "start": Param("integer", minimum=0), "vmid": P.Param("integer"),
                           "source": Param(enum=("archive", "active", "all")),
                           "typefilter": Param(), "userfilter": Param(), "errors": P.BOOL})
    tasks = list(reversed(_node(request).tasks.tasks.values()))
    if "vmid" in args:
        tasks = [t for t in tasks if t.id == str(args["vmid"])]
    if args.get("typefilter"):
        tasks = [t for t in tasks if t.type == args["typefilter"]]
    start, limit = args.get("start", 0), args.get("limit", 50)
    return _ok(Reply([t.list_entry() for t in tasks[start:start + limit]], len(tasks)))


@routes.get(BASE + "/nodes/{node}/tasks/{upid}")
async def task_index(request: web.Request) -> web.Response:
    _task(request)
    return _ok([{"name": "log"}, {"name": "status"}])


@routes.get(BASE + "/nodes/{node}/tasks/{upid}/status")
async def task_status(request: web.Request) -> web.Response:
    return _ok(_task(request).status())


@routes.get(BASE + "/nodes/{node}/tasks/{upid}/log")
async def task_log(request: web.Request) -> web.Response:
    request[PARAMS] = {k: v for k, v in request[PARAMS].items() if k not in ("start", "limit",
                                                                             "download")}
    task = _task(request)
    query = P.check({"start": Param("integer", minimum=0), "limit": Param("integer", minimum=0),
                     "download": P.BOOL},
                    {k: v for k, v in request.query.items()
                     if k in ("start", "limit", "download")})
    start, limit = query.get("start", 0), query.get("limit", 50)
    lines = task.lines[start:start + limit] if limit else task.lines[start:]
    data = [{"n": start + i + 1, "t": t} for i, t in enumerate(lines)]
    return _ok(Reply(data, len(task.lines)))


@routes.delete(BASE + "/nodes/{node}/tasks/{upid}")
async def task_stop(request: web.Request) -> web.Response:
    task = _task(request)
    await _node(request).tasks.stop(task)
    return _ok(None)


def make_app(node: Node, auth: Authenticator, auth_delay: float = 3.0) -> web.Application:
    """The aiohttp application for one emulated node (serve it over TLS)."""
    app = web.Application(middlewares=[pve_middleware])
    app[NODE_KEY] = node
    app[AUTH_KEY] = auth
    app[DELAY_KEY] = auth_delay
    app.add_routes(routes)

    async def on_cleanup(app: web.Application) -> None:
        await app[NODE_KEY].tasks.shutdown()

    app.on_cleanup.append(on_cleanup)
    return app
