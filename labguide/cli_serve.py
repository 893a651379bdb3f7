"""`labguide serve CHAPTER`: the same Textual app as `labguide run`, in a browser tab
(textual-serve runs `labguide run …` per browser session and streams its terminal).

It listens on 127.0.0.1 unless told otherwise; any other address needs --allow-remote and
prints a warning. Every page and session needs the token printed with the URL (the page
sets it as a cookie for its session's websocket): the app runs the lab's commands, and
this machine may have other users. Nothing here changes what the app does.
"""

from __future__ import annotations

import hmac
import re
import secrets
import shlex
import sys
from typing import Any

import click
from aiohttp import web
from textual_serve.server import Server

from labguide.errors import LabguideError, Location

LOCAL = ("127.0.0.1", "::1", "localhost")
WEB_FONT = re.compile(r'<link[^>]*href="https://fonts\.googleapis\.com[^"]*"[^>]*>', re.S)
COOKIE = "labguide_token"


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
            raise web.HTTPForbidden(text="labguide: this page needs its token (?token=…, "
                                         "printed by `labguide serve`)")
        response = await super().handle_index(request)
        # the page asks a web font service for its font (it ships the font too): the
        # page's load would wait on a lab network without the internet
        if isinstance(response, web.Response) and response.text is not None:
            response.text = WEB_FONT.sub("", response.text)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="labguide: no token")
        return await super().handle_websocket(request)

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="labguide: no token")
        return await super().handle_download(request)


def run_command(chapter: str, inventory: str | None, lang: str | None) -> str:
    """The `labguide run` each browser session starts (this Python, this labguide)."""
    argv = [sys.executable, "-m", "labguide", "run", chapter]
    if inventory:
        argv += ["--inventory", inventory]
    if lang:
        argv += ["--lang", lang]
    return shlex.join(argv)


@click.command("serve")
@click.argument("chapter")
@click.option("--inventory", "-i", "inventory_path", metavar="FILE",
              help="The lab's inventory (default: $LABGUIDE_INVENTORY, else the sandbox lab's).")
@click.option("--lang", metavar="LANG", help="The chapter's language (as for `run`).")
@click.option("--listen", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="The address to listen on; another than 127.0.0.1, ::1 or localhost "
                   "needs --allow-remote.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--allow-remote", is_flag=True,
              help="Listen on an address others can reach (anyone with the URL and its "
                   "token runs the chapter's commands on your lab).")
def serve(chapter: str, inventory_path: str | None, lang: str | None, listen: str,
              port: int, allow_remote: bool) -> None:
    """The TUI in a browser tab: serves `labguide run CHAPTER` at a URL with a token.

    \b
    Examples:
      labguide serve l4lb-ha
      labguide serve l4lb-ha --listen 198.18.16.1 --allow-remote
    """
    from pathlib import Path

    if listen not in LOCAL and not allow_remote:
        raise LabguideError(f"--listen {listen}: not this machine's loopback; pass "
                            "--allow-remote to serve the lab's commands to others",
                            Location(key="--listen"))
    if listen not in LOCAL:
        click.echo(f"labguide: warning: serving on {listen}: whoever reaches it with the URL "
                   "below (its token) runs this chapter's commands on your lab", err=True)
    inventory = str(Path(inventory_path).resolve()) if inventory_path else None
    token = secrets.token_urlsafe(24)
    server = TokenServer(run_command(chapter, inventory, lang), host=listen, port=port,
                         token=token)
    click.echo(f"labguide: open {server.public_url}/?token={token}", err=True)
    server.serve()
