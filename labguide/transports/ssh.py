"""The SSH transport (asyncssh): one connection per host, reused for every command.

Host keys are always checked against one known_hosts file, given to asyncssh explicitly: the
inventory's, else ~/.ssh/known_hosts. ~/.ssh/config cannot turn checking off or point it
elsewhere (UserKnownHostsFile none or /dev/null, HostKeyAlias), and a known_hosts that is not
a regular readable file (or, when new keys are accepted, one they cannot be appended to)
fails closed. Each command runs in its own process group on the host, so cancelling it can
end everything it started, sudo included.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncssh

from labguide.errors import HostError
from labguide.i18n import gettext as _
from labguide.inventory import Host
from labguide.transports.base import Ask, CommandResult, OutputSink
from labguide.transports.hostkey import AskHostKey
from labguide.transports.known_hosts import KnownHosts
from labguide.transports.shell import PRELUDE, SUDO_HINT, ShellTransport, frame, is_sudo_prompt
from labguide.transports.ssh_tty import run_on_terminal

KILL_GRACE = 2.0
#: A lost host is noticed after about interval × count seconds of silence.
KEEPALIVE_INTERVAL = 3.0
KEEPALIVE_COUNT = 3
#: How long a failed connection attempt is remembered (seconds).
FAILURE_MEMORY = 2.0
#: Pauses before the 2nd and 3rd attempt when sshd accepts and then drops the connection
#: before the login (MaxStartups sheds unauthenticated connections this way, and a booting
#: host's sshd can be restarted under us). Refused and timed-out connections are not retried.
DROPPED_RETRY_PAUSES = (0.3, 1.0)
#: Ciphers offered first (OpenSSH's `^` syntax: these, then asyncssh's defaults, so a server
#: that takes neither still finds one), unless ~/.ssh/config sets `Ciphers` for the host:
#: then that is used, as before. asyncssh's chacha20-poly1305, its first choice, makes two
#: cipher objects per packet in Python: with AES-GCM a login and ten commands cost labguide
#: 16.0 ms of CPU, not 19.6 (bench/ssh_cipher_cost.py), the hosts the same.
ENCRYPTION_ALGS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"
#: What such a drop looks like from asyncssh.
DROPPED = (asyncssh.ConnectionLost, ConnectionResetError, ConnectionAbortedError,
           BrokenPipeError)


#: The remote command, the same for every script: a new session whose first stdout line is
#: its process group id, then the script read from stdin (see shell.PRELUDE).
WRAPPER = f"exec setsid -w bash --norc --noprofile -ec {shlex.quote(PRELUDE)}"


def kill_group_command(pgid: int, sig: str) -> str:
    return (
        f"kill -{sig} -- -{pgid} 2>/dev/null; "
        f"sudo -n kill -{sig} -- -{pgid} 2>/dev/null; true"
    )


class SshTransport(ShellTransport):
    def __init__(self, host: Host, *, accept_new_host_keys: bool = False,
                 ask_host_key: AskHostKey | None = None) -> None:
        super().__init__(host)
        #: The known_hosts this host's key is checked against, and new keys asked about.
        self.keys = KnownHosts(host, accept_new=accept_new_host_keys, ask=ask_host_key)
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._failure: tuple[float, HostError] | None = None
        #: Connections sshd dropped before the login that were tried again.
        self.dropped_connects = 0

    # -- connection -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def connect(self) -> None:
        async with self._lock:
            if self.connected:
                return
            # Callers that queued behind a failed attempt get its error at once instead of
            # each waiting out its own connect timeout.
            if self._failure and time.monotonic() - self._failure[0] < FAILURE_MEMORY:
                raise self._failure[1]
            try:
                self._conn = await self._open()
            except HostError as exc:
                self._failure = (time.monotonic(), exc)
                raise
            self._failure = None

    def _options(self) -> asyncssh.SSHClientConnectionOptions:
        host = self.host
        extra: dict[str, object] = {
            # explicit, so that ~/.ssh/config's UserKnownHostsFile, GlobalKnownHostsFile and
            # HostKeyAlias do not apply: the keys checked are the ones labguide records
            "known_hosts": self.keys.for_asyncssh(),
            "host_key_alias": None,
        }
        if host.identity_file:
            extra["client_keys"] = [str(host.identity_file)]
        if host.user:  # otherwise asyncssh uses the local user name, as ssh does
            extra["username"] = host.user
        try:
            options = asyncssh.SSHClientConnectionOptions(
                # ~/.ssh/config read now, for this host (asyncssh's connect would read it
                # too): whether it sets Ciphers decides the order below
                config=(), host=host.address, port=host.port,
                connect_timeout=host.connect_timeout,
                keepalive_interval=KEEPALIVE_INTERVAL,
                keepalive_count_max=KEEPALIVE_COUNT,
                agent_path=None,
                preferred_auth="publickey",
                **extra,
            )
            if options.config.get("Ciphers") is None:
                options = asyncssh.SSHClientConnectionOptions(
                    options=options, encryption_algs=ENCRYPTION_ALGS)
        except (OSError, ValueError, asyncssh.KeyImportError) as exc:
            what = getattr(exc, "filename", None) or ""
            raise HostError(host.name, _("cannot load SSH settings {what}: {error}").format(
                what=what, error=getattr(exc, "strerror", None) or exc),
                hint=_("check identity_file and known_hosts in the inventory")) from None
        return options

    async def _open(self) -> asyncssh.SSHClientConnection:
        host = self.host
        options = self._options()
        try:
            return await self._connect_retrying_drops(options)
        except asyncssh.HostKeyNotVerifiable:
            await self.keys.unknown_key()  # raises HostError unless the key is accepted
            # options read again: the file may have just been created
            return await asyncssh.connect(host.address, host.port, options=self._options())
        except asyncssh.PermissionDenied:
            raise HostError(
                host.name,
                _("SSH login as {user} refused at {target}").format(
                    user=host.user or _("(default user)"), target=host.target),
                hint=_("check the user and identity_file ({path}) in the inventory").format(
                    path=host.identity_file),
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise HostError(host.name, _("cannot connect to {target}: {reason}").format(
                target=host.target, reason=reason)) from None

    async def _connect_retrying_drops(
        self, options: asyncssh.SSHClientConnectionOptions
    ) -> asyncssh.SSHClientConnection:
        host = self.host
        attempts = len(DROPPED_RETRY_PAUSES) + 1
        for pause in (*DROPPED_RETRY_PAUSES, None):
            try:
                return await asyncssh.connect(host.address, host.port, options=options)
            except DROPPED as exc:
                self.dropped_connects += 1
                if pause is not None:
                    await asyncio.sleep(pause)
                    continue
                reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                raise HostError(
                    host.name,
                    _("cannot connect to {target}: {reason} ({attempts} attempts; sshd closed "
                      "each before the login)").format(target=host.target, reason=reason,
                                                       attempts=attempts),
                    hint=_("sshd may be overloaded (MaxStartups), restarting, or refusing "
                           "logins (PAM: /run/nologin stays while a boot has not finished); "
                           "its log on the host says which"),
                ) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    @property
    def accepted_keys(self) -> list[str]:
        """Host keys accepted on first contact during this session (shown and recorded)."""
        return self.keys.accepted

    @property
    def known_hosts_path(self) -> Path:
        return self.keys.path

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The open connection (opened, host key checked, when it is not)."""
        if not self.connected:
            await self.connect()
        assert self._conn is not None
        return self._conn

    def lost(self) -> None:
        """Forget a connection that broke (the next command opens a new one)."""
        if self._conn is not None:
            self._conn.abort()
        self._conn = None

    # -- commands -----------------------------------------------------------------------

    async def run(
        self,
        script: str,
        sink: OutputSink,
        *,
        timeout: float | None = None,
        input_data: bytes | None = None,
        ask: Ask | None = None,
    ) -> CommandResult:
        if ask is not None:  # on a terminal, so that what the command asks can be answered
            return await run_on_terminal(self, script, sink, timeout, ask)
        started = time.monotonic()
        stdin = frame(self.host.name, script, input_data)
        conn = await self.connection()
        proc = await self._start(conn)
        out = _Output(sink)
        work = asyncio.gather(_feed(proc, stdin), _pump(proc.stdout, out.stdout),
                              _pump(proc.stderr, out.stderr), proc.wait())
        work.add_done_callback(_retrieve)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
            # that arrives as the command ends, and Ctrl-C would then be lost.
            async with asyncio.timeout(timeout):
                await work
        except TimeoutError:
            await self.kill(proc, out.pgid)
            return CommandResult(None, time.monotonic() - started, "timeout")
        except asyncio.CancelledError:
            await asyncio.shield(self.kill(proc, out.pgid))
            raise
        except (OSError, asyncssh.Error):
            self.lost()
            return CommandResult(None, time.monotonic() - started, "connection lost")
        if out.sudo_prompted:
            sink("info", SUDO_HINT)
        return self.ended(proc, conn, time.monotonic() - started)

    async def _start(self, conn: asyncssh.SSHClientConnection
                     ) -> asyncssh.SSHClientProcess[bytes]:
        try:
            return await conn.create_process(WRAPPER, encoding=None)
        except (OSError, asyncssh.Error) as exc:
            self.lost()
            raise HostError(self.host.name, _("cannot start a command: {error}").format(
                error=exc)) from None

    def ended(self, proc: asyncssh.SSHClientProcess[bytes], conn: asyncssh.SSHClientConnection,
               duration: float) -> CommandResult:
        """How a command that ran to its end ended."""
        status = proc.exit_status
        if status is None or (status == -1 and proc.exit_signal is None and conn.is_closed()):
            self.lost()
            return CommandResult(None, duration, "connection lost")
        if status == -1 and proc.exit_signal is not None:
            return CommandResult(None, duration, f"signal {proc.exit_signal[0]}")
        return CommandResult(status, duration)

    async def kill(self, proc: asyncssh.SSHClientProcess[bytes], pgid: int | None) -> None:
        """End the remote process group (TERM, then KILL), then the channel."""
        if pgid and self.connected:
            assert self._conn is not None
            for sig in ("TERM", "KILL"):
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(KILL_GRACE):
                        await self._conn.run(kill_group_command(pgid, sig), check=False)
                try:
                    async with asyncio.timeout(KILL_GRACE):
                        await proc.wait_closed()
                    break
                except (TimeoutError, asyncssh.Error, OSError):
                    continue
        proc.close()

    async def stream(self, command: str) -> AsyncIterator[str]:
        stdin = frame(self.host.name, command)
        conn = await self.connection()
        proc = await self._start(conn)
        pgid: int | None = None
        try:
            await _feed(proc, stdin)
            async for raw in proc.stdout:
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if pgid is None:
                    try:
                        pgid = int(line)
                        continue
                    except ValueError:
                        pgid = 0
                yield line
        except (OSError, asyncssh.Error):
            self.lost()
            raise
        finally:
            await asyncio.shield(self.kill(proc, pgid))


class _Output:
    """Takes the process group id off the first stdout line, passes the rest on, and notes
    whether sudo asked for a password."""

    def __init__(self, sink: OutputSink) -> None:
        self.sink = sink
        self.pgid: int | None = None
        self.sudo_prompted = False

    def stdout(self, line: str) -> None:
        if self.pgid is None:
            try:
                self.pgid = int(line)
                return
            except ValueError:
                self.pgid = 0
        self.sink("stdout", line)

    def stderr(self, line: str) -> None:
        self.sudo_prompted = self.sudo_prompted or is_sudo_prompt(line)
        self.sink("stderr", line)


async def _feed(proc: asyncssh.SSHClientProcess[bytes], data: bytes) -> None:
    """The framed script and input on stdin, then end of file."""
    proc.stdin.write(data)
    proc.stdin.write_eof()


async def _pump(reader: asyncssh.SSHReader[bytes], on_line: Callable[[str], None]) -> None:
    async for raw in reader:
        if not raw:  # end of stream
            break
        on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a cancelled gather's exception as seen (the command's end is handled elsewhere)."""
    if not fut.cancelled():
        fut.exception()
