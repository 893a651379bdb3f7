"""PVE's HTTP envelope for the emulated node: `{"data": …}` answers, error bodies with the
message as reason phrase, authentication (401 after the delay), request parameters checked
against a schema. Shared by the route modules; what a call does lives in node.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from labguide.sandbox.pve import params as P
from labguide.sandbox.pve.auth import Authenticator, AuthFailure, Identity
from labguide.sandbox.pve.node import Node
from labguide.sandbox.pve.params import ApiError, Param

BASE = "/api2/json"
NODE_KEY = web.AppKey("node", Node)
AUTH_KEY = web.AppKey("auth", Authenticator)
DELAY_KEY = web.AppKey("auth_delay", float)
IDENTITY = "identity"
PARAMS = "params"
_NO_AUTH = {("POST", "/access/ticket"), ("GET", "/access/ticket"), ("GET", "/access/domains")}
_HEADERS = {"Server": "pve-api-daemon/3.0", "Cache-Control": "max-age=0", "Pragma": "no-cache"}


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


def answer(reply: Any) -> web.Response:
    if isinstance(reply, Reply):
        body: dict[str, Any] = {"data": reply.data}
        if reply.total is not None:
            body["total"] = reply.total
        return _response(200, body)
    return _response(200, {"data": reply})


def request_args(request: web.Request, schema: Mapping[str, Param]) -> dict[str, Any]:
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


def node_of(request: web.Request) -> Node:
    return request.app[NODE_KEY]


def who_of(request: web.Request) -> Identity:
    who = request[IDENTITY]
    assert isinstance(who, Identity)
    return who


NODE_VM = {"node": P.NODE, "vmid": P.VMID}
