"""A host already found unreachable: every use fails at once with the error it gave.

Used where one connection attempt per host is enough (checking a class of labs): a dead
host costs its connect timeout once, not once per check. Opens nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from labguide.errors import HostError
from labguide.transports.base import Ask, CommandResult, OutputSink, Transport


class DownTransport(Transport):
    """Stands in for a host's transport after its connection failed with `error`."""

    def __init__(self, error: HostError, inner: Transport) -> None:
        super().__init__(inner.host)
        self.error = error

    async def connect(self) -> None:
        raise self.error

    async def run(self, script: str, sink: OutputSink, *, timeout: float | None = None,
                  input_data: bytes | None = None, ask: Ask | None = None) -> CommandResult:
        raise self.error

    async def read_file(self, path: str, *, sudo: bool = False,
                        timeout: float | None = None) -> bytes | None:
        raise self.error

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None,
                         sudo: bool = False, timeout: float | None = None) -> None:
        raise self.error

    async def stream(self, command: str) -> AsyncIterator[str]:
        raise self.error
        yield ""  # pragma: no cover - makes this an async generator

    async def close(self) -> None:
        return None
