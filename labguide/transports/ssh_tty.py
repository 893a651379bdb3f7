"""A script run on a pseudo-terminal over SSH, so that what it asks can be answered: ssh's
host-key question, `[sudo] password for …:`, a key's passphrase, apt's and dpkg's
questions, a `read`. As on a reader's terminal, stdout and stderr are one stream.

The script reaches the host first (a private temporary file, removed when it ends): the
terminal is then the command's own stdin, for answers. The terminal's unfinished last line
is watched (prompts.py); when it is a prompt, `ask` gets it and what it returns is typed in,
followed by Enter. A prompt still unanswered at the timeout fails the command with
"waiting for input: <prompt>", and the command's whole process group is ended.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from typing import Protocol

import asyncssh

from labguide.errors import HostError
from labguide.i18n import gettext as _
from labguide.inventory import Host
from labguide.transports.base import Ask, CommandResult, OutputSink
from labguide.transports.prompts import Prompt, TerminalText, classify
from labguide.transports.shell import frame


class SshCommands(Protocol):
    """What this needs of the SSH transport: its connection, and how a command ends."""

    host: Host

    async def connection(self) -> asyncssh.SSHClientConnection: ...
    def lost(self) -> None: ...
    async def kill(self, proc: asyncssh.SSHClientProcess[bytes], pgid: int | None) -> None: ...
    def ended(self, proc: asyncssh.SSHClientProcess[bytes], conn: asyncssh.SSHClientConnection,
              duration: float) -> CommandResult: ...
#: The terminal's size: what programs that lay out their output for a terminal see.
TERM_SIZE = (160, 50)
#: Puts the script in a file only its owner reads, and says where.
UPLOAD = ('umask 077 && f=$(mktemp "${TMPDIR:-/tmp}/labguide.XXXXXXXX") && '
          'IFS= read -r n && head -c "$n" > "$f" && printf "%s\\n" "$f"')


def runner(path: str) -> str:
    """The command on the terminal: its process group id first (as the other runs), no
    pagers or colours (the reader sees the output in labguide), the script, then its file
    removed."""
    q = shlex.quote(path)
    return ('printf "%s\\n" "$$"; export SYSTEMD_PAGER= PAGER=cat SYSTEMD_COLORS=0 NO_COLOR=1; '
            f"trap 'rm -f {q}' EXIT; bash --norc --noprofile -e {q}")


async def upload(t: SshCommands, conn: asyncssh.SSHClientConnection, script: str) -> str:
    """The script in a private file on the host; its path."""
    body = frame(t.host.name, script)  # (a NUL is refused there)
    try:
        done = await conn.run(UPLOAD, input=body, encoding=None, check=False)
    except (OSError, asyncssh.Error) as exc:
        t.lost()
        raise HostError(t.host.name, _("cannot start a command: {error}").format(error=exc)
                        ) from None
    path = _text(done.stdout).strip()
    if done.exit_status != 0 or not path:
        err = _text(done.stderr).strip()
        raise HostError(t.host.name, _("cannot put the script on the host: {error}").format(
            error=err or path))
    return path


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


class _Conversation:
    """The terminal's output as lines, and the prompts in it answered through `ask`: each
    time the unfinished line changes, a timer is set for as long as that line must stand
    still to be a prompt (prompts.classify); when it fires and nothing changed, the line is
    asked about, once."""

    def __init__(self, sink: OutputSink, ask: Ask,
                 proc: asyncssh.SSHClientProcess[bytes]) -> None:
        self.sink, self.ask, self.proc = sink, ask, proc
        self.screen = TerminalText()
        self.pgid: int | None = None
        self.asked_at = -1  # the screen's change count of the prompt last asked
        self.pending: Prompt | None = None
        self.asking: asyncio.Task[None] | None = None

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            if self.pgid is None:
                try:
                    self.pgid = int(line.strip())
                    continue
                except ValueError:
                    self.pgid = 0
            self.sink("stdout", line)

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                break
            changes = self.screen.changes
            self.lines(self.screen.feed(data))
            found = classify(self.screen.partial)
            if self.screen.changes != changes and found is not None:
                loop.call_later(found[0], self.ripe, self.screen.changes, found[1])
        self.lines(self.screen.finish())

    def ripe(self, changes: int, prompt: Prompt) -> None:
        """The unfinished line stood still long enough: ask, unless it changed or was asked."""
        if changes != self.screen.changes or self.asked_at == changes or self.pending:
            return
        self.asked_at, self.pending = changes, prompt
        self.asking = asyncio.get_running_loop().create_task(self.answer(prompt))

    async def answer(self, prompt: Prompt) -> None:
        reply = await self.ask(prompt)
        if reply is not None:
            self.proc.stdin.write(reply.encode("utf-8") + b"\r")
            self.pending = None

    def stop(self) -> None:
        if self.asking is not None:
            self.asking.cancel()


async def run_on_terminal(t: SshCommands, script: str, sink: OutputSink,
                          timeout: float | None, ask: Ask) -> CommandResult:
    started = time.monotonic()
    conn = await t.connection()
    path = await upload(t, conn, script)
    try:
        proc = await conn.create_process(runner(path), term_type="dumb", term_size=TERM_SIZE,
                                         encoding=None)
    except (OSError, asyncssh.Error) as exc:
        t.lost()
        raise HostError(t.host.name, _("cannot start a command: {error}").format(error=exc)
                        ) from None
    talk = _Conversation(sink, ask, proc)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(talk.read(), proc.wait())
    except TimeoutError:
        await t.kill(proc, talk.pgid)
        why = f"waiting for input: {talk.pending.text}" if talk.pending else "timeout"
        return CommandResult(None, time.monotonic() - started, why)
    except asyncio.CancelledError:
        await asyncio.shield(t.kill(proc, talk.pgid))
        raise
    except (OSError, asyncssh.Error):
        t.lost()
        return CommandResult(None, time.monotonic() - started, "connection lost")
    finally:
        talk.stop()
    return t.ended(proc, conn, time.monotonic() - started)
