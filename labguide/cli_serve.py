"""`labguide serve CHAPTER`: the same Textual app as `labguide run`, in a browser tab
(textual-serve runs `labguide run …` per browser session and streams its terminal).

It listens on 127.0.0.1 unless told otherwise; any other address needs --allow-remote and
prints a warning. Every page and session needs the token printed with the URL (the page
sets it as a cookie for its session's websocket): the app runs the lab's commands, and
this machine may have other users. Nothing here changes what the app does.
"""

from __future__ import annotations

import secrets
import shlex
import sys

import click

from labguide import completion as complete
from labguide.cli_options import inventory_option, lang_option
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

LOCAL = ("127.0.0.1", "::1", "localhost")


def run_command(chapter: str, inventory: str | None, lang: str | None) -> str:
    """The `labguide run` each browser session starts (this Python, this labguide)."""
    argv = [sys.executable, "-m", "labguide", "run", chapter]
    if inventory:
        argv += ["--inventory", inventory]
    if lang:
        argv += ["--lang", lang]
    return shlex.join(argv)


@click.command("serve")
@click.argument("chapter", shell_complete=complete.chapters)
@inventory_option()
@lang_option()
@click.option("--listen", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="The address to listen on; another than 127.0.0.1, ::1 or localhost "
                   "needs --allow-remote.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="The port to listen on.")
@click.option("--allow-remote", is_flag=True,
              help="Listen on an address others can reach (anyone with the URL and its "
                   "token runs the chapter's commands on your lab).")
def serve(chapter: str, inventory_path: str | None, lang: str | None, listen: str,
              port: int, allow_remote: bool) -> None:
    """The TUI in a browser tab: serves `labguide run CHAPTER` at a URL with a token (each
    browser session runs the chapter as `labguide run` would)."""
    from pathlib import Path

    from labguide.tui.serve import TokenServer

    if listen not in LOCAL and not allow_remote:
        raise LabguideError(_("--listen {address}: not this machine's loopback; pass "
                              "--allow-remote to serve the lab's commands to others").format(
                                  address=listen), Location(key="--listen"))
    if listen not in LOCAL:
        click.echo("labguide: " + _("warning: serving on {address}: whoever reaches it with "
                                    "the URL below (its token) runs this chapter's commands "
                                    "on your lab").format(address=listen), err=True)
    inventory = str(Path(inventory_path).resolve()) if inventory_path else None
    token = secrets.token_urlsafe(24)
    server = TokenServer(run_command(chapter, inventory, lang), host=listen, port=port,
                         token=token)
    click.echo("labguide: " + _("open {url}").format(url=f"{server.public_url}/?token={token}"),
               err=True)
    server.serve()
