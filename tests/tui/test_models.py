"""The TUI's pure models: the rate ladder, the stream model's folding, result lines."""

from __future__ import annotations

from labguide.clock import clock_ms
from labguide.probes.events import LatencySummary, OutageWindow, ProbeAnswer, ProbeBatch
from labguide.tui.keymap import RATES, rate_step
from labguide.tui.stream_model import StreamModel, answer_line, result_lines
from labguide.tui.timefmt import duration


def test_rate_ladder_is_clamped_from_1_to_1000() -> None:
    assert rate_step(10, True) == 20 and rate_step(10, False) == 5
    assert rate_step(1000, True) == 1000 and rate_step(1, False) == 1
    assert rate_step(7, True) == 10 and rate_step(7, False) == 5
    assert RATES[0] == 1 and RATES[-1] == 1000


def batch(ok: int, failed: int, backend: dict[str, int]) -> ProbeBatch:
    answers = (ProbeAnswer(1, 0.25, 0.0, 0.5, 200, "ok", "web-1"),
               ProbeAnswer(2, 0.5, 0.0, None, None, "refused"))
    return ProbeBatch(t0=0.0, t1=0.1, target_rate=100, started=10, ok=ok, failed=failed,
                      dropped=0, late=0, in_flight=0,
                      by_cause={"ok": ok, "refused": failed}, by_status={},
                      by_backend=backend, latency=LatencySummary(count=ok, med=0.5, p95=0.9),
                      recent=answers, outage=None, total_scheduled=10, total_sent=10,
                      total_ok=ok, total_failed=failed, total_dropped=0)


def test_stream_model_folds_batches_and_outages() -> None:
    m = StreamModel()
    m.reset("interactive", 100)
    lines = m.apply(batch(8, 2, {"web-1": 5, "web-2": 3}))
    lines += m.apply(batch(10, 0, {"web-1": 5, "web-2": 5}))
    assert m.rate == 100.0 and m.failures[-2] == 20.0
    assert m.by_backend == {"web-1": 10, "web-2": 8}
    assert m.by_cause == {"refused": 2}
    assert len(lines) == 4 and "web-1" in lines[0] and "✗ refused" in lines[1]
    m.apply(OutageWindow(start=1.0, end=1.5, lost=3, causes={"refused": 3}))
    assert m.outages[0].duration == 0.5


def test_formatting() -> None:
    assert answer_line(ProbeAnswer(1, 0.0, 0.0, 0.41, 200, "ok", "web-2")).endswith("0.41 ms")
    assert clock_ms(0.9996).endswith(":00.999")  # truncated: never later than the moment
    assert clock_ms(1700000000.123).endswith(".123")  # binary floats do not lose a ms
    assert duration(0.62) == "620 ms" and duration(3.5) == "3.5 s" and duration(61) == "1m01s"
    lines = result_lines({"tool": "k6", "http_reqs": 30000, "rate": 999.9,
                          "http_req_failed": 483,
                          "http_req_duration": {"avg": "1ms", "med": "0.9ms"}})
    assert lines[0].startswith("http_reqs......: 30000  999.90/s")
    assert "1.61%  483 out of 30000" in lines[1] and "med=0.9ms" in lines[2]


def test_the_stream_model_keeps_a_few_outages_and_counts_all() -> None:
    """A failover every 30 s at 1000/s makes ~30 short gaps a minute (the soak counted 904 in
    30 minutes): the pane keeps the last OUTAGES_KEPT, counts all, and the k6-style summary
    lists SUMMARY_OUTAGES of them, not a line each."""
    from labguide.probes.events import ProbeSummary
    from labguide.tui.stream_model import OUTAGES_KEPT, SUMMARY_OUTAGES, k6_summary

    m = StreamModel()
    m.reset("interactive", 1000)
    windows = [OutageWindow(start=float(n), end=n + 0.25, lost=n % 7 + 1) for n in range(1000)]
    for w in windows:
        m.apply(w)
    assert len(m.outages) == OUTAGES_KEPT and m.outages[-1] is windows[-1]
    assert m.outage_count == 1000 and m.outage_lost == sum(w.lost for w in windows)
    summary = ProbeSummary(
        url="http://x/hostname", engine="aiohttp", target_rate=1000, duration=1000,
        scheduled=10**6, http_reqs=10**6, rate=1000.0, http_req_failed=m.outage_lost,
        checks_passed=10**6 - m.outage_lost, dropped=0, late=0,
        http_req_duration=LatencySummary(10), lateness_ms=LatencySummary(), by_cause={},
        by_status={}, by_backend={}, outages=tuple(windows), cpu_seconds=1.0,
        max_in_flight=10)
    m.apply(summary)
    assert len(m.outages) == OUTAGES_KEPT and m.outage_count == 1000
    lines = k6_summary(summary)
    assert sum(line.startswith("outage.........") for line in lines) == SUMMARY_OUTAGES
    assert f"1000, {m.outage_lost} lost; 995 earlier ones not listed" in "\n".join(lines)
