"""The server behind `labguide serve` (labguide/cli_serve.py): textual-serve's, with every page,
session (websocket) and download refused without the token, and the page's web-font link
removed. Imported only when `serve` runs (textual-serve and its templates cost start-up)."""

from __future__ import annotations

import hmac
import re
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from labguide.i18n import gettext as _

COOKIE = "labguide_token"
WEB_FONT = re.compile(r'<link[^>]*href="https://fonts\.googleapis\.com[^"]*"[^>]*>', re.S)


class TokenServer(Server):
    """textual-serve's server, with the index page, the session's websocket and downloads
    refused without the token."""

    def __init__(self, command: str, *, host: str, port: int, token: str) -> None:
        shown = f"[{host}]" if ":" in host else host
        super().__init__(command, host=host, port=port, title="labguide",
                         public_url=f"http://{shown}:{port}")
        self.token = token

    def allowed(self, request: web.Request) -> bool:
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def handle_index(self, request: web.Request) -> Any:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="labguide: " + _(
                "this page needs its token (?token=…, printed by `labguide serve`)"))
        response = await super().handle_index(request)
        # the page asks a web font service for its font (it ships the font too): the
        # page's load would wait on a lab network without the internet
        if isinstance(response, web.Response) and response.text is not None:
            response.text = WEB_FONT.sub("", response.text)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="labguide: " + _("no token"))
        return await super().handle_websocket(request)

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="labguide: " + _("no token"))
        return await super().handle_download(request)
