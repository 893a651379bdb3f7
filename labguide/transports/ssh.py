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
import os
import shlex
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncssh

from labguide.errors import HostError
from labguide.inventory import Host
from labguide.transports.base import CommandResult, OutputSink
from labguide.transports.hostkey import AskHostKey, HostKeyQuestion
from labguide.transports.shell import PRELUDE, SUDO_HINT, ShellTransport, frame, is_sudo_prompt

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


#: How long a refused host key is remembered, so that a background connection (the VIP
#: watcher's) does not ask again at once (seconds).
REFUSAL_MEMORY = 30.0


class SshTransport(ShellTransport):
    def __init__(self, host: Host, *, accept_new_host_keys: bool = False,
                 ask_host_key: AskHostKey | None = None) -> None:
        super().__init__(host)
        self.accept_new_host_keys = accept_new_host_keys
        #: Asks the reader about a key seen for the first time (None: refuse it).
        self.ask_host_key = ask_host_key
        self._refused: tuple[float, str] | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._failure: tuple[float, HostError] | None = None
        #: Host keys accepted on first contact during this session (shown and recorded).
        self.accepted_keys: list[str] = []
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

    @property
    def known_hosts_path(self) -> Path:
        """The file host keys are checked against and accepted into."""
        return self.host.known_hosts or Path("~/.ssh/known_hosts").expanduser()

    def _known_hosts(self) -> str | asyncssh.SSHKnownHosts:
        """What asyncssh checks host keys against (never left to ~/.ssh/config): the file, or
        no keys at all if it does not exist yet. HostError if it cannot keep keys."""
        path = self.known_hosts_path
        try:
            st = path.stat()
        except FileNotFoundError:
            return asyncssh.import_known_hosts("")  # every key unknown; accepted ones create it
        except OSError as exc:
            raise self._known_hosts_error(f"cannot be read ({exc.strerror})") from None
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a device"
                    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a FIFO"
                    if stat.S_ISFIFO(st.st_mode) else "not a regular file")
            raise self._known_hosts_error(f"is {kind}: host keys could not be checked there, "
                                          "nor accepted keys kept")
        if not os.access(path, os.R_OK):
            raise self._known_hosts_error("is not readable")
        if self.accept_new_host_keys and not os.access(path, os.W_OK):
            raise self._known_hosts_error("is not writable: a newly accepted key could not "
                                          "be kept")
        return str(path)

    def _known_hosts_error(self, why: str) -> HostError:
        return HostError(self.host.name, f"known_hosts {self.known_hosts_path} {why}",
                         hint="set known_hosts in the inventory to a regular file "
                         "(it may start empty, with --accept-new-host-keys)")

    def _options(self) -> asyncssh.SSHClientConnectionOptions:
        host = self.host
        extra: dict[str, object] = {
            # explicit, so that ~/.ssh/config's UserKnownHostsFile, GlobalKnownHostsFile and
            # HostKeyAlias do not apply: the keys checked are the ones labguide records
            "known_hosts": self._known_hosts(),
            "host_key_alias": None,
        }
        if host.identity_file:
            extra["client_keys"] = [str(host.identity_file)]
        if host.user:  # otherwise asyncssh uses the local user name, as ssh does
            extra["username"] = host.user
        try:
            options = asyncssh.SSHClientConnectionOptions(
                connect_timeout=host.connect_timeout,
                keepalive_interval=KEEPALIVE_INTERVAL,
                keepalive_count_max=KEEPALIVE_COUNT,
                agent_path=None,
                preferred_auth="publickey",
                **extra,
            )
        except (OSError, ValueError, asyncssh.KeyImportError) as exc:
            what = getattr(exc, "filename", None) or ""
            raise HostError(host.name, f"cannot load SSH settings {what}: "
                            f"{getattr(exc, 'strerror', None) or exc}",
                            hint="check identity_file and known_hosts in the inventory") from None
        return options

    async def _open(self) -> asyncssh.SSHClientConnection:
        host = self.host
        options = self._options()
        try:
            return await self._connect_retrying_drops(options)
        except asyncssh.HostKeyNotVerifiable as exc:
            return await self._host_key_problem(exc, options)
        except asyncssh.PermissionDenied:
            raise HostError(
                host.name,
                f"SSH login as {host.user or '(default user)'} refused at {host.target}",
                hint=f"check the user and identity_file ({host.identity_file}) in the inventory",
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise HostError(host.name, f"cannot connect to {host.target}: {reason}") from None

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
                    f"cannot connect to {host.target}: {reason} "
                    f"({attempts} attempts; sshd closed each before the login)",
                    hint="sshd may be overloaded (MaxStartups), restarting, or refusing "
                         "logins (PAM: /run/nologin stays while a boot has not finished); "
                         "its log on the host says which",
                ) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _host_key_problem(
        self, exc: asyncssh.HostKeyNotVerifiable, options: asyncssh.SSHClientConnectionOptions
    ) -> asyncssh.SSHClientConnection:
        host = self.host
        try:
            async with asyncio.timeout(host.connect_timeout):
                key = await asyncssh.get_server_host_key(host.address, host.port)
        except (OSError, asyncssh.Error, TimeoutError):
            key = None
        fingerprint = key.get_fingerprint("sha256") if key else "(unavailable)"
        path = self.known_hosts_path
        known = _known_entries(path, host)
        if known:
            raise HostError(
                host.name,
                f"host key CHANGED for {host.address} (now {key.get_algorithm() if key else '?'} "
                f"{fingerprint}); refusing to connect: this can be an impostor or a rebuilt host",
                hint=f"if the change is expected: ssh-keygen -R {_known_name(host)} -f {path}",
            ) from None
        if key is None:
            raise HostError(host.name, f"unknown host key for {host.address}, and the host "
                            "did not show its key again to be fingerprinted") from None
        question = HostKeyQuestion(host.name, host.address, host.port, key.get_algorithm(),
                                   fingerprint, path)
        answer = True if self.accept_new_host_keys else await self._asked(question)
        if not answer:
            raise HostError(
                host.name,
                f"unknown host key for {host.address}: {question.type_name} {fingerprint} is "
                f"not in {path}" + (" (refused)" if answer is False else ""),
                hint=f"compare it with the host's own key ({question.compare_command()} on its "
                "console), then accept it when asked (in the TUI, or plain mode on a "
                "terminal), or rerun with --accept-new-host-keys",
            ) from None
        self._refused = None
        # accepted into the file that was checked: the inventory's, or ~/.ssh/known_hosts as
        # OpenSSH's StrictHostKeyChecking=accept-new does
        line = f"{_known_name(host)} {key.export_public_key().decode().strip()}\n"
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(path, "a", encoding="ascii") as fh:
                fh.write(line)
        except OSError as err:
            raise self._known_hosts_error(f"could not keep the accepted key ({err.strerror})"
                                          ) from None
        self.accepted_keys.append(f"{host.name}: {fingerprint}")
        # options read again: the file may have just been created
        return await asyncssh.connect(host.address, host.port, options=self._options())

    async def _asked(self, question: HostKeyQuestion) -> bool | None:
        """The reader's answer: None without anyone to ask; False for a refusal, also of a
        key refused a moment ago (not asked again at once)."""
        if self.ask_host_key is None:
            return None
        if self._refused and self._refused[1] == question.fingerprint and (
                time.monotonic() - self._refused[0] < REFUSAL_MEMORY):
            return False
        answer = await self.ask_host_key(question)
        if answer is False:
            self._refused = (time.monotonic(), question.fingerprint)
        return answer

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    async def _connection(self) -> asyncssh.SSHClientConnection:
        if not self.connected:
            await self.connect()
        assert self._conn is not None
        return self._conn

    def _lost(self) -> None:
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
    ) -> CommandResult:
        started = time.monotonic()
        stdin = frame(self.host.name, script, input_data)
        conn = await self._connection()
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
            await self._kill(proc, out.pgid)
            return CommandResult(None, time.monotonic() - started, "timeout")
        except asyncio.CancelledError:
            await asyncio.shield(self._kill(proc, out.pgid))
            raise
        except (OSError, asyncssh.Error):
            self._lost()
            return CommandResult(None, time.monotonic() - started, "connection lost")
        if out.sudo_prompted:
            sink("info", SUDO_HINT)
        return self._ended(proc, conn, time.monotonic() - started)

    async def _start(self, conn: asyncssh.SSHClientConnection
                     ) -> asyncssh.SSHClientProcess[bytes]:
        try:
            return await conn.create_process(WRAPPER, encoding=None)
        except (OSError, asyncssh.Error) as exc:
            self._lost()
            raise HostError(self.host.name, f"cannot start a command: {exc}") from None

    def _ended(self, proc: asyncssh.SSHClientProcess[bytes], conn: asyncssh.SSHClientConnection,
               duration: float) -> CommandResult:
        """How a command that ran to its end ended."""
        status = proc.exit_status
        if status is None or (status == -1 and proc.exit_signal is None and conn.is_closed()):
            self._lost()
            return CommandResult(None, duration, "connection lost")
        if status == -1 and proc.exit_signal is not None:
            return CommandResult(None, duration, f"signal {proc.exit_signal[0]}")
        return CommandResult(status, duration)

    async def _kill(self, proc: asyncssh.SSHClientProcess[bytes], pgid: int | None) -> None:
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
        conn = await self._connection()
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
            self._lost()
            raise
        finally:
            await asyncio.shield(self._kill(proc, pgid))


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


def _known_name(host: Host) -> str:
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def _known_entries(path: Path, host: Host) -> bool:
    """Whether known_hosts already has a key (or a CA) for this host."""
    try:
        known = asyncssh.read_known_hosts(str(path))
    except (OSError, ValueError):
        return False
    trusted, cas, *_ = known.match(_known_name(host), host.address, host.port)
    return bool(trusted or cas)
