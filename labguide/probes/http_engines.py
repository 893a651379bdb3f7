"""How the prober's worker talks HTTP: the engines (aiohttp, httpx over httpx-aiohttp,
httpx) and the two connection modes, chosen by rate (see `connection_mode`).

- "new": a new TCP connection per request, closed after the answer, as `curl` does. HAProxy
  in TCP mode balances connections, not requests, so this is how a stream shows the
  balancing (web-1, web-2, web-1 …), as the book's repeated `curl` does.
- "keepalive": LANES connections kept alive and used in turn, as k6's VUs each keep their
  own (the book runs k6 with 10 VUs). Requests in flight beyond one per lane open more
  connections in that lane, up to max_in_flight in all.

Pure choice (`connection_mode`) plus the clients; no scheduling, no statistics, no front-end.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from labguide.i18n import N_
from labguide.probes.http_protocol import WorkerConfig

#: Rates up to this (requests per second) use a new connection per request; above it,
#: keep-alive. Why 100: each closed connection leaves a TIME_WAIT socket on the closing side
#: for 60 s, so new connections at R/s hold 60·R local ports towards the VIP; at 100/s that is
#: 6,000 of Linux's 28,232 ephemeral ports, at 500/s it would run out. The interactive rates
#: a person watches (1-100/s) show the balancing; the load rates (the chapter's 1000/s)
#: behave as k6 does.
NEW_CONNECTION_MAX_RATE = 100.0
#: Connections kept alive at load rates, as k6's 10 VUs keep 10 (the book's `--vus 10`).
LANES = 10
CONNECTIONS: tuple[str, ...] = ("auto", "new", "keepalive")
MODE_TEXT = {"new": N_("new connection per request, like curl"),
             "keepalive": N_("keep-alive, like k6's VUs")}


def connection_mode(rate: float, setting: str = "auto") -> str:
    """'new' or 'keepalive' for this rate and setting ('auto' chooses by rate)."""
    if setting in ("new", "keepalive"):
        return setting
    if setting != "auto":
        raise ValueError(f"unknown connection setting {setting!r}: one of {CONNECTIONS}")
    return "new" if rate <= NEW_CONNECTION_MAX_RATE else "keepalive"


#: fetch() -> (status, body bytes); raises on transport errors.
Fetch = Callable[[], Awaitable[tuple[int, bytes]]]


@dataclass
class Client:
    """One engine in one connection mode: fetch the URL, close everything."""

    mode: str
    fetch: Fetch
    close: Callable[[], Awaitable[None]]


def _rotate(fetches: list[Fetch]) -> Fetch:
    """One fetch that uses the lanes in turn."""
    if len(fetches) == 1:
        return fetches[0]
    turn = itertools.cycle(fetches)

    def fetch() -> Awaitable[tuple[int, bytes]]:
        return next(turn)()

    return fetch


async def _close_all(closers: list[Callable[[], Awaitable[None]]]) -> None:
    await asyncio.gather(*(close() for close in closers), return_exceptions=True)


def _aiohttp_lane(config: WorkerConfig, limit: int, force_close: bool,
                  ) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=300, force_close=force_close)
    session = aiohttp.ClientSession(connector=connector,
                                    timeout=aiohttp.ClientTimeout(total=config.timeout),
                                    auto_decompress=False)
    url = config.url

    async def fetch() -> tuple[int, bytes]:
        async with session.get(url, allow_redirects=False) as resp:
            return resp.status, await resp.read()

    return fetch, session.close


def _httpx_lane(config: WorkerConfig, limit: int, force_close: bool,
                ) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    import httpx

    limits = httpx.Limits(max_connections=limit,
                          max_keepalive_connections=0 if force_close else limit)
    timeout = httpx.Timeout(config.timeout)
    if config.engine == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        client = httpx.AsyncClient(transport=AiohttpTransport(limits=limits),
                                   timeout=timeout, limits=limits)
    else:
        client = httpx.AsyncClient(timeout=timeout, limits=limits)
    url = config.url

    async def fetch() -> tuple[int, bytes]:
        # The per-request timeout covers the whole exchange, as with aiohttp's total.
        async with asyncio.timeout(config.timeout):
            resp = await client.get(url)
        return resp.status_code, resp.content

    return fetch, client.aclose


def open_client(config: WorkerConfig, mode: str) -> Client:
    """A client of config's engine in `mode` ('new' or 'keepalive')."""
    lane = _aiohttp_lane if config.engine == "aiohttp" else _httpx_lane
    if mode == "new":
        fetch, close = lane(config, config.max_in_flight, True)
        return Client(mode, fetch, close)
    per_lane = max(1, math.ceil(config.max_in_flight / LANES))
    lanes = [lane(config, per_lane, False) for _ in range(min(LANES, config.max_in_flight))]
    closers = [close for _, close in lanes]
    return Client(mode, _rotate([fetch for fetch, _ in lanes]),
                  lambda: _close_all(closers))
