"""Pure statistics of the prober: outage windows in start order, counts, percentiles."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from labguide.probes.events import OutageWindow
from labguide.probes.http_stats import (
    MAX_BACKEND_NAME,
    MAX_BACKENDS,
    OTHER_BACKENDS,
    LatencyHistogram,
    OutageTracker,
    RequestResult,
    RunStats,
    exact_summary,
)


def result(seq: int, ok: bool, cause: str = "refused") -> RequestResult:
    t = seq * 0.01
    return RequestResult(seq, t, t, 0.001 if ok else None, 200 if ok else None,
                         "ok" if ok else cause, "web-1" if ok else "")


def windows_of(pattern: str, order: list[int] | None = None) -> list[OutageWindow]:
    """pattern: one char per request in start order: s(uccess), f(ailure), d(ropped)."""
    found: list[OutageWindow] = []
    tracker = OutageTracker(lambda t: t, found.append)
    seqs = order if order is not None else list(range(len(pattern)))
    for seq in seqs:
        if pattern[seq] == "d":
            tracker.skip(seq)
        else:
            tracker.add(result(seq, pattern[seq] == "s"))
    tracker.finish()
    return found


def test_outage_goes_from_last_success_to_first_success_after() -> None:
    (window,) = windows_of("ssfffss")
    assert window.start == 0.01 and window.end == 0.05
    assert window.lost == 3
    assert window.first_failure == 0.02 and window.last_failure == 0.04
    assert window.causes == {"refused": 3}


def test_outages_are_computed_in_start_order_whatever_the_finish_order() -> None:
    pattern = "ssffsssfffffs"
    order = list(range(len(pattern)))
    for _ in range(20):
        random.shuffle(order)
        assert windows_of(pattern, order) == windows_of(pattern)
    assert [(w.lost, w.start, w.end) for w in windows_of(pattern)] == [
        (2, 0.01, 0.04), (5, 0.06, 0.12)]


def test_outage_open_at_start_and_at_end() -> None:
    first, last = windows_of("ffssff")
    assert first.start is None and first.end == 0.02 and first.lost == 2
    assert last.start == 0.03 and last.end is None and last.lost == 2


def test_dropped_starts_are_not_lost_requests() -> None:
    (window,) = windows_of("sfdfds")
    assert window.lost == 2


@given(st.lists(st.sampled_from("sfd"), max_size=200), st.randoms())
def test_counts_always_add_up(pattern: list[str], rnd: random.Random) -> None:
    stats = RunStats(lambda t: t)
    results = []
    for seq, kind in enumerate(pattern):
        if kind == "d":
            stats.on_drop(seq)
        else:
            stats.on_start(seq, 0.0)
            results.append(result(seq, kind == "s"))
    rnd.shuffle(results)
    for r in results:
        stats.on_result(r)
    stats.outages.finish()
    assert stats.scheduled == len(pattern) == stats.sent + stats.dropped
    assert stats.sent == stats.ok + stats.failed
    assert stats.in_flight == 0
    assert sum(w.lost for w in stats.outages.windows) == stats.failed
    assert sum(stats.by_backend.values()) == stats.ok
    assert sum(stats.by_cause.values()) == stats.failed


@given(st.lists(st.floats(min_value=1e-5, max_value=50.0), min_size=1, max_size=500))
def test_histogram_percentiles_are_within_half_a_percent(values: list[float]) -> None:
    hist = LatencyHistogram()
    for v in values:
        hist.add(v)
    exact = exact_summary(values, scale=1.0)
    approx = hist.summary(scale=1.0)
    assert approx.count == exact.count
    assert approx.min == exact.min and approx.max == exact.max
    for name in ("med", "p90", "p95", "p99"):
        assert abs(getattr(approx, name) - getattr(exact, name)) <= 0.003 * getattr(exact, name)


def test_backends_are_capped_and_the_rest_is_folded_into_other() -> None:
    """30,000 distinct bodies made a 5.8 MiB summary line: at most 32 names of at most 64
    characters are kept, every further answer counts under "(other)"."""
    stats = RunStats(lambda t: t)
    for seq in range(30_000):
        t = seq * 0.001
        stats.on_result(RequestResult(seq, t, t, 0.001, 200, "ok", f"body {seq} " + "x" * 100))
    window = stats.take_window()
    for counts in (stats.by_backend, window.by_backend):
        assert len(counts) == MAX_BACKENDS + 1 and sum(counts.values()) == 30_000
        assert counts[OTHER_BACKENDS] == 30_000 - MAX_BACKENDS
        assert all(len(name) <= MAX_BACKEND_NAME for name in counts)
    assert len(json.dumps(dict(stats.by_backend))) < 4096
    # names already counted go on counting under their own name
    stats.on_result(RequestResult(30_000, 30.0, 30.0, 0.001, 200, "ok", "body 0 " + "x" * 100))
    assert stats.by_backend["body 0 " + "x" * 56 + "…"] == 2
