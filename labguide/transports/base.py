"""The interface every transport implements, and the result types it returns.

A transport runs shell scripts (and file reads/writes) on one lab host and streams
their output line by line. It knows nothing of chapters, steps or front-ends.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.inventory import Host
from labguide.transports.prompts import Prompt

#: Receives each line of output as it arrives: (stream, line), stream is "stdout"/"stderr"/"info".
OutputSink = Callable[[str, str], None]
#: Answers a command's prompt: the text to type, or None to leave it unanswered.
Ask = Callable[[Prompt], Awaitable[str | None]]


#: Why a command has no exit status, as the reader reads it (the codes stay in files).
REASONS = {"timeout": N_("timeout"), "cancelled": N_("cancelled"),
           "connection lost": N_("connection lost"), "unreachable": N_("unreachable")}


def reason_word(reason: str) -> str:
    return _(REASONS[reason]) if reason in REASONS else reason


@dataclass(frozen=True)
class CommandResult:
    """How a command ended. exit_status is None when it did not end by itself."""

    exit_status: int | None
    duration: float
    #: Why there is no exit status: "timeout", "cancelled", "connection lost", a signal name.
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def __str__(self) -> str:
        if self.reason is not None:
            return _("no exit status ({reason})").format(reason=reason_word(self.reason))
        return _("exit status {status}").format(status=self.exit_status)


@dataclass(frozen=True)
class Captured:
    """A command's output, kept rather than streamed (Transport.capture)."""

    result: CommandResult
    stdout: tuple[str, ...]
    stderr: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def lines(self) -> tuple[str, ...]:
        """stdout then stderr: for messages that quote what the command said."""
        return self.stdout + self.stderr


class Transport(abc.ABC):
    """Runs commands on one host. One instance per host, reused for every command."""

    def __init__(self, host: Host) -> None:
        self.host = host

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open (or re-open) the connection. Raises HostError with a clear message."""

    @abc.abstractmethod
    async def run(
        self,
        script: str,
        sink: OutputSink,
        *,
        timeout: float | None = None,
        input_data: bytes | None = None,
        ask: Ask | None = None,
    ) -> CommandResult:
        """Run a shell script (bash, errexit on) and stream its output to sink.

        Cancelling the calling task ends the remote command (its whole process group,
        including what it runs under sudo) before the cancellation propagates. With `ask`,
        the command runs on a terminal where the transport has one (SSH), and each prompt
        it shows is answered with what `ask` returns; other transports ignore it.
        """

    async def capture(self, script: str, *, timeout: float | None = None,
                      input_data: bytes | None = None) -> Captured:
        """Run a script like `run`, keeping its output instead of streaming it."""
        out: list[str] = []
        err: list[str] = []

        def sink(stream: str, line: str) -> None:
            (out if stream == "stdout" else err).append(line)

        result = await self.run(script, sink, timeout=timeout, input_data=input_data)
        return Captured(result, tuple(out), tuple(err))

    @property
    def accepted_keys(self) -> list[str]:
        """Host keys accepted on first contact ("host: SHA256:…"), to be said and recorded;
        the caller empties the list. Only transports that check host keys have any."""
        return []

    @abc.abstractmethod
    async def read_file(self, path: str, *, sudo: bool = False,
                        timeout: float | None = None) -> bytes | None:
        """The file's content, or None if it does not exist. HostError if it is not a regular
        file, too large, or not read within `timeout` seconds (None: a default)."""

    @abc.abstractmethod
    async def write_file(
        self, path: str, data: bytes, *, mode: int | None = None, sudo: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Write the file atomically (temp file + rename), creating it if needed, within
        `timeout` seconds (None: a default)."""

    @abc.abstractmethod
    def stream(self, command: str) -> AsyncIterator[str]:
        """Run a long-lived command and yield its stdout lines until it ends or is cancelled."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connection; safe to call twice."""

    async def __aenter__(self) -> Transport:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
