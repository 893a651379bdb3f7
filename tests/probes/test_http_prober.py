"""The prober in its worker process, against real local servers (nginx, raw sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RawServer
from probe_targets import Nginx

from labguide.errors import LabguideError
from labguide.events import Event
from labguide.probes.events import OutageWindow, ProbeBatch, ProbeSummary
from labguide.probes.http_prober import Prober


def assert_counts_add_up(summary: ProbeSummary, batches: list[ProbeBatch]) -> None:
    assert summary.scheduled == summary.http_reqs + summary.dropped
    assert summary.http_reqs == summary.ok + summary.http_req_failed
    assert sum(summary.by_backend.values()) == summary.ok
    assert sum(summary.by_cause.values()) == summary.http_req_failed
    for b in batches:
        assert b.total_scheduled == b.total_sent + b.total_dropped
        assert b.total_sent == b.total_ok + b.total_failed + b.in_flight
    last = batches[-1]
    assert (last.total_sent, last.total_ok, last.in_flight) == (
        summary.http_reqs, summary.ok, 0)
    assert sum(b.started for b in batches) == summary.http_reqs
    assert sum(b.ok for b in batches) == summary.ok


async def test_steady_run_schedules_exactly_rate_times_duration(web: Nginx) -> None:
    events: list[Event] = []
    prober = Prober(web.url, rate=200, duration=1.5, publish=events.append)
    await prober.start()
    summary = await prober.wait()
    batches = [e for e in events if isinstance(e, ProbeBatch)]
    assert summary.scheduled == 300
    assert summary.http_req_failed == 0 and summary.dropped == 0
    assert summary.by_backend == {"web-1": 300}
    assert summary.by_status == {"200": 300}
    assert summary.outages == ()
    assert summary.http_req_duration.count == 300
    assert 0 < summary.http_req_duration.min <= summary.http_req_duration.med
    assert summary.cpu_seconds > 0
    assert events[-1] is summary
    assert len(batches) >= 10  # every 100 ms
    assert all(len(b.recent) <= 20 for b in batches)
    assert_counts_add_up(summary, batches)


async def test_outage_window_when_the_target_stops_and_restarts(web: Nginx) -> None:
    events: list[Event] = []
    async with Prober(web.url, rate=300, timeout=1.0, publish=events.append) as prober:
        # stop it once answers came back (a fixed sleep left none before the outage when
        # the worker started slowly on a busy machine)
        for _ in range(200):
            if prober.latest is not None and prober.latest.total_ok > 50:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(web.stop)
        await asyncio.sleep(0.5)
        current = prober.latest.outage if prober.latest else None
        await asyncio.to_thread(web.start)
        await asyncio.sleep(0.7)
        summary = await prober.stop()
    batches = [e for e in events if isinstance(e, ProbeBatch)]
    windows = [e for e in events if isinstance(e, OutageWindow)]
    assert current is not None and current.lost > 0
    assert len(windows) == 1 and summary.outages == tuple(windows)
    (window,) = windows
    assert window.start is not None and window.end is not None
    assert window.start < window.first_failure <= window.last_failure < window.end
    assert window.lost == summary.http_req_failed > 50  # about 0.5 s at 300/s
    assert set(window.causes) <= {"refused", "reset"}
    assert 0.3 < (window.duration or 0) < 2.0
    assert_counts_add_up(summary, batches)


async def test_every_result_is_written_to_out(web: Nginx, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    prober = Prober(web.url, rate=100, duration=0.5, out=str(out))
    await prober.start()
    summary = await prober.wait()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == summary.http_reqs == 50
    assert [r["seq"] for r in sorted(records, key=lambda r: r["seq"])] == list(range(50))
    assert {r["body"] for r in records} == {"web-1"}
    assert all(r["cause"] == "ok" and r["status"] == 200 for r in records)
    assert all(r["started"] >= r["scheduled"] for r in records)


async def test_http_error_and_wrong_body_are_failures(web: Nginx) -> None:
    fail = await Prober(web.url.replace("/hostname", "/fail"), rate=50, duration=0.4).__aenter__()
    summary = await fail.wait()
    assert summary.by_cause == {"http_error": 20} and summary.by_status == {"503": 20}
    assert summary.http_req_duration.count == 20  # answered, so timed, like k6

    wrong = Prober(web.url, rate=50, duration=0.4, expect=r"^web-2$")
    await wrong.start()
    summary = await wrong.wait()
    assert summary.by_cause == {"wrong_body": 20} and summary.checks_passed == 0


async def test_timeout_and_reset_are_classified(
        raw_server: Callable[[str], RawServer]) -> None:
    silent, reset = raw_server("silent"), raw_server("reset")
    p1 = Prober(silent.url, rate=20, duration=0.5, timeout=0.3)
    p2 = Prober(reset.url, rate=20, duration=0.5, timeout=0.3)
    await p1.start()
    await p2.start()
    s1, s2 = await asyncio.gather(p1.wait(), p2.wait())
    assert s1.by_cause == {"timeout": 10}
    assert s2.by_cause == {"reset": 10}
    (w1,) = s1.outages
    assert w1.start is None and w1.end is None and w1.lost == 10


async def test_in_flight_cap_drops_starts_and_says_so(
        raw_server: Callable[[str], RawServer]) -> None:
    silent = raw_server("silent")
    prober = Prober(silent.url, rate=100, duration=0.5, timeout=1.0, max_in_flight=10)
    await prober.start()
    summary = await prober.wait()
    assert summary.scheduled == 50
    assert summary.http_reqs == 10 and summary.dropped == 40
    assert summary.by_cause == {"timeout": 10}


async def test_set_rate_changes_the_schedule(web: Nginx) -> None:
    async with Prober(web.url, rate=50) as prober:
        await asyncio.sleep(0.5)
        prober.set_rate(400)
        await asyncio.sleep(0.5)
        prober.set_rate(0)
        await asyncio.sleep(0.3)
        paused = prober.latest
        summary = await prober.stop()
    assert paused is not None and paused.started == 0
    assert 150 < summary.http_reqs < 300  # ~25 + ~200, never a burst to catch up
    assert summary.dropped == 0


@pytest.mark.parametrize("engine", ["httpx-aiohttp", "httpx"])
async def test_httpx_engines_give_the_same_results(web: Nginx, engine: str) -> None:
    prober = Prober(web.url, rate=100, duration=0.5, engine=engine)
    await prober.start()
    summary = await prober.wait()
    assert summary.engine == engine
    assert summary.by_backend == {"web-1": 50}


async def test_refused_from_the_first_request() -> None:
    from probe_targets import free_port

    prober = Prober(f"http://127.0.0.1:{free_port()}/hostname", rate=20, duration=0.3)
    await prober.start()
    summary = await prober.wait()
    assert summary.by_cause == {"refused": 6}
    assert summary.success_ratio == 0.0


async def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(LabguideError):
        Prober("http://127.0.0.1:1/", rate=10, engine="curl")
    with pytest.raises(LabguideError):
        Prober("http://127.0.0.1:1/", rate=-1)
    with pytest.raises(LabguideError, match="not an http"):
        Prober("198.18.16.140/hostname", rate=10)
