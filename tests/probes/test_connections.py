"""How the prober connects (issue 14): a new connection per request at interactive rates, as
curl does, so HAProxy in TCP mode (which balances connections) shows both backends; keep-alive
over a few connections at load rates, as k6's VUs do. Real nginx and haproxy on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from probe_targets import HaproxyTcp, Nginx, balanced_pair

from labguide.errors import LabguideError
from labguide.events import Event
from labguide.probes.events import ProbeBatch
from labguide.probes.http_engines import LANES, NEW_CONNECTION_MAX_RATE, connection_mode
from labguide.probes.http_prober import Prober

#: nginx's serial number of the connection a request came on
CONN = 'location = /conn { default_type text/plain; return 200 "$connection\\n"; }'


@pytest.fixture
def lb() -> Iterator[HaproxyTcp]:
    with balanced_pair() as pair:
        yield pair


@pytest.fixture
def counting() -> Iterator[Nginx]:
    server = Nginx(name="web-1", extra=CONN)
    try:
        yield server.start()
    finally:
        server.cleanup()


def bodies_in_order(out: Path) -> list[str]:
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return [r["body"] for r in sorted(records, key=lambda r: r["seq"])]


def test_the_mode_follows_the_rate() -> None:
    assert connection_mode(1) == connection_mode(NEW_CONNECTION_MAX_RATE) == "new"
    assert connection_mode(NEW_CONNECTION_MAX_RATE + 1) == connection_mode(1000) == "keepalive"
    assert connection_mode(1000, "new") == "new" and connection_mode(1, "keepalive") == "keepalive"
    with pytest.raises(LabguideError, match="connection mode"):
        Prober("http://127.0.0.1:1/", rate=10, connections="sometimes")


async def test_interactive_answers_show_both_backends_behind_haproxy_tcp(
        lb: HaproxyTcp, tmp_path: Path) -> None:
    """The book's repeated curl alternates web-1/web-2; the stream at 10/s must too (it kept
    one connection alive and showed web-2 only)."""
    out = tmp_path / "results.jsonl"
    events: list[Event] = []
    prober = Prober(lb.url, rate=10, duration=1.2, out=str(out), publish=events.append)
    await prober.start()
    summary = await prober.wait()
    first_ten = bodies_in_order(out)[:10]
    assert set(first_ten) == {"web-1", "web-2"}, first_ten
    assert summary.connections == ("new",)
    assert {e.connections for e in events if isinstance(e, ProbeBatch)} == {"new"}


async def test_a_new_connection_per_request_at_interactive_rates(
        counting: Nginx, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    url = counting.url.replace("/hostname", "/conn")
    prober = Prober(url, rate=50, duration=0.6, out=str(out))
    await prober.start()
    summary = await prober.wait()
    connections = bodies_in_order(out)
    assert summary.http_reqs == len(connections) == 30
    assert len(set(connections)) == 30  # one connection each


async def test_keepalive_over_a_few_connections_at_load_rates(
        counting: Nginx, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    url = counting.url.replace("/hostname", "/conn")
    prober = Prober(url, rate=300, duration=2.0, out=str(out))
    await prober.start()
    summary = await prober.wait()
    connections = bodies_in_order(out)
    assert summary.http_reqs == 600 and summary.http_req_failed == 0
    assert summary.connections == ("keepalive",)
    # the lanes, plus more when answers overlap in a lane (a stall of this loaded machine
    # makes a burst); most requests reuse a connection
    assert LANES <= len(set(connections)) < 300


async def test_load_rates_spread_over_both_backends_like_k6s_vus(lb: HaproxyTcp) -> None:
    prober = Prober(lb.url, rate=500, duration=1.0)
    await prober.start()
    summary = await prober.wait()
    assert set(summary.by_backend) == {"web-1", "web-2"}
    assert min(summary.by_backend.values()) > 100  # ten connections, five per backend


async def test_changing_the_rate_changes_the_mode(lb: HaproxyTcp) -> None:
    events: list[Event] = []
    async with Prober(lb.url, rate=20, publish=events.append) as prober:
        for _ in range(100):  # the worker answers at 20/s before the rate changes
            if any(isinstance(e, ProbeBatch) and e.total_ok for e in events):
                break
            await asyncio.sleep(0.05)
        prober.set_rate(200)
        await asyncio.sleep(0.5)
        summary = await prober.stop()
    modes = [e.connections for e in events if isinstance(e, ProbeBatch) and e.started]
    assert modes[0] == "new" and modes[-1] == "keepalive"
    assert summary.connections == ("new", "keepalive")
    assert summary.http_req_failed == 0
