"""One transport (one connection) per host, created on first use and reused by everyone.

The engine, the VIP watcher and the drill share a pool, so a run opens one connection per
host. Knows hosts only through `HostLookup` (a Plan or an Inventory): nothing of chapters.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from labguide.inventory import Host
from labguide.transports import make_transport
from labguide.transports.base import Transport
from labguide.transports.hostkey import AskHostKey, HostKeyQuestion


class HostLookup(Protocol):
    def host(self, name: str) -> Host: ...


class TransportPool:
    """Transports by host name; `preset` ones (tests, the sandbox) are used as given."""

    def __init__(self, hosts: HostLookup, *, accept_new_host_keys: bool = False,
                 preset: dict[str, Transport] | None = None) -> None:
        self.hosts = hosts
        self.accept_new_host_keys = accept_new_host_keys
        #: Who answers a host key seen for the first time (a front-end sets it; None: the
        #: key is refused). Read when a transport asks, so it may be set after creation.
        self.ask_host_key: AskHostKey | None = None
        self._transports: dict[str, Transport] = dict(preset or {})

    async def _ask(self, question: HostKeyQuestion) -> bool | None:
        return await self.ask_host_key(question) if self.ask_host_key is not None else None

    def get(self, host: str) -> Transport:
        if host not in self._transports:
            self._transports[host] = make_transport(
                self.hosts.host(host), accept_new_host_keys=self.accept_new_host_keys,
                ask_host_key=self._ask)
        return self._transports[host]

    async def close(self) -> None:
        for transport in self._transports.values():
            with contextlib.suppress(Exception):
                await transport.close()
