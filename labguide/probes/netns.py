"""A local transport that runs every command inside a named network namespace (needs root).

For watching the sandbox's namespaces from the host (`labguide watch --netns`) and for the
probes' tests; the namespace is `ip netns exec NAME`, nothing else is changed.
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator

from labguide.inventory import Host
from labguide.transports.base import Ask, CommandResult, OutputSink
from labguide.transports.local import LocalTransport


class NetnsTransport(LocalTransport):
    """LocalTransport whose commands run in network namespace `netns` (default: host name)."""

    def __init__(self, host: Host, netns: str | None = None) -> None:
        super().__init__(host)
        self.netns = netns or host.name

    def _inside(self, command: str) -> str:
        return (f"exec 2>&1; exec ip netns exec {shlex.quote(self.netns)} "
                f"bash -c {shlex.quote(command)}")

    async def run(
        self,
        script: str,
        sink: OutputSink,
        *,
        timeout: float | None = None,
        input_data: bytes | None = None,
        ask: Ask | None = None,  # no terminal here: prompts stay unanswered
    ) -> CommandResult:
        inner = (f"exec ip netns exec {shlex.quote(self.netns)} "
                 f"bash -ec {shlex.quote(script)}")
        return await super().run(inner, sink, timeout=timeout, input_data=input_data)

    def stream(self, command: str) -> AsyncIterator[str]:
        return super().stream(self._inside(command))


def netns_host(name: str, netns: str | None = None) -> Host:
    """An inventory Host for a namespace watched from this machine."""
    return Host(name=name, address=f"netns:{netns or name}", transport="local")
