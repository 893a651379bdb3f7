"""The HTTP face of the emulated node: the aiohttp application, and the routes for access,
version, cluster, nodes and tasks (the VM routes are routes_vm.py; the envelope and
authentication envelope.py). Routes only translate HTTP to Node calls.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from labguide.sandbox.pve import params as P
from labguide.sandbox.pve import routes_vm, views
from labguide.sandbox.pve.auth import Authenticator, AuthFailure
from labguide.sandbox.pve.envelope import (
    AUTH_KEY,
    BASE,
    DELAY_KEY,
    NODE_KEY,
    PARAMS,
    Reply,
    answer,
    node_of,
    pve_middleware,
    request_args,
)
from labguide.sandbox.pve.node import PVE_VERSION, Node
from labguide.sandbox.pve.params import ApiError, Param

routes = web.RouteTableDef()


# -- access -----------------------------------------------------------------
@routes.get(BASE + "/access/domains")
async def domains(request: web.Request) -> web.Response:
    return answer([{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
                {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}])


@routes.get(BASE + "/access/ticket")
async def ticket_dummy(request: web.Request) -> web.Response:
    return answer(None)


@routes.post(BASE + "/access/ticket")
async def ticket(request: web.Request) -> web.Response:
    args = request_args(request, {
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
    return answer({
        "username": who.user,
        "ticket": auth.make_ticket(who.user),
        "CSRFPreventionToken": auth.make_csrf(who.user),
        "cap": {"vms": {"VM.PowerMgmt": 1, "VM.Clone": 1, "VM.Allocate": 1, "VM.Config.Network": 1,
                        "VM.Audit": 1}},
    })


# -- version, cluster, nodes ---------------------------------------------------
@routes.get(BASE + "/")
async def root(request: web.Request) -> web.Response:
    return answer([{"subdir": s} for s in ("version", "cluster", "nodes", "storage", "access",
                                        "pools")])


@routes.get(BASE + "/version")
async def version(request: web.Request) -> web.Response:
    request_args(request, {})
    return answer(dict(PVE_VERSION))


@routes.get(BASE + "/cluster/resources")
async def cluster_resources(request: web.Request) -> web.Response:
    args = request_args(request, {"type": Param(enum=("vm", "storage", "node", "sdn"))})
    return answer(views.resources(node_of(request), args.get("type")))


@routes.get(BASE + "/cluster/nextid")
async def cluster_nextid(request: web.Request) -> web.Response:
    args = request_args(request, {"vmid": Param("integer", format="pve-vmid")})
    return answer(views.nextid(node_of(request), args.get("vmid")))


@routes.get(BASE + "/nodes")
async def nodes(request: web.Request) -> web.Response:
    request_args(request, {})
    entry = views.resources(node_of(request), "node")[0]
    return answer([{k: v for k, v in entry.items() if k != "cgroup-mode"}])


# -- tasks --------------------------------------------------------------------
def _task(request: web.Request) -> Any:
    args = request_args(request, {"node": P.NODE, "upid": Param(optional=False)})
    task = node_of(request).tasks.get(args["upid"])
    if task is None:
        raise P.fail(f"unable to parse worker upid '{args['upid']}'\n"
                     if not args["upid"].startswith("UPID:") else "no such task\n")
    return task


@routes.get(BASE + "/nodes/{node}/tasks")
async def task_list(request: web.Request) -> web.Response:
    args = request_args(request, {
        "node": P.NODE, "limit": Param("integer", minimum=0),
        "start": Param("integer", minimum=0), "vmid": P.Param("integer"),
        "source": Param(enum=("archive", "active", "all")),
        "typefilter": Param(), "userfilter": Param(), "errors": P.BOOL})
    tasks = list(reversed(node_of(request).tasks.tasks.values()))
    if "vmid" in args:
        tasks = [t for t in tasks if t.id == str(args["vmid"])]
    if args.get("typefilter"):
        tasks = [t for t in tasks if t.type == args["typefilter"]]
    start, limit = args.get("start", 0), args.get("limit", 50)
    return answer(Reply([t.list_entry() for t in tasks[start:start + limit]], len(tasks)))


@routes.get(BASE + "/nodes/{node}/tasks/{upid}")
async def task_index(request: web.Request) -> web.Response:
    _task(request)
    return answer([{"name": "log"}, {"name": "status"}])


@routes.get(BASE + "/nodes/{node}/tasks/{upid}/status")
async def task_status(request: web.Request) -> web.Response:
    return answer(_task(request).status())


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
    return answer(Reply(data, len(task.lines)))


@routes.delete(BASE + "/nodes/{node}/tasks/{upid}")
async def task_stop(request: web.Request) -> web.Response:
    task = _task(request)
    await node_of(request).tasks.stop(task)
    return answer(None)


def make_app(node: Node, auth: Authenticator, auth_delay: float = 3.0) -> web.Application:
    """The aiohttp application for one emulated node (serve it over TLS)."""
    app = web.Application(middlewares=[pve_middleware])
    app[NODE_KEY] = node
    app[AUTH_KEY] = auth
    app[DELAY_KEY] = auth_delay
    app.add_routes(routes)
    app.add_routes(routes_vm.routes)

    async def on_cleanup(app: web.Application) -> None:
        await app[NODE_KEY].tasks.shutdown()

    app.on_cleanup.append(on_cleanup)
    return app
