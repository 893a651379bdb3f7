"""Reading a transcript back for the report: k6's progress lines as requests/s, VIP spans
ended by a lost host, a run cut mid-line, and a broken line named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.report.runlog import read_runlog
from labguide.report.svg import gaps


def write(path: Path, records: list[dict[str, object]], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)
    return path


def test_k6_progress_lines_give_requests_per_second(tmp_path: Path) -> None:
    lines = ["running (0m01.0s), 10/10 VUs, 978 complete and 0 interrupted iterations",
             "default   [   3% ] 10 VUs  01.0s/30s",
             "running (0m02.0s), 10/10 VUs, 1952 complete and 0 interrupted iterations",
             "running (0m04.0s), 10/10 VUs, 3952 complete and 2 interrupted iterations"]
    recs: list[dict[str, object]] = [
        {"t": 100.0, "event": "step_started", "step": "load", "kind": "load",
         "hosts": ["client"]},
        {"t": 100.1, "event": "load_started", "step": "load", "tool": "k6",
         "origin": "client", "rate": 1000, "duration": 30}]
    recs += [{"t": 101.0 + i, "event": "output", "step": "load", "host": "client",
              "stream": "stdout", "line": line} for i, line in enumerate(lines)]
    recs.append({"t": 131.0, "event": "step_finished", "step": "load", "status": "passed",
                 "duration": 31.0, "message": "ok", "detail": {"tool": "k6"}})
    log = read_runlog(write(tmp_path / "t.jsonl", recs))
    rates = [round(s.rate) for s in log.loads["load"].samples]
    assert rates == [978, 974, 1001]
    assert all(s.failed is None and s.p95 is None for s in log.loads["load"].samples)
    assert log.steps[0].status == "passed" and log.steps[0].output["client"][0] == lines[0]


def test_vip_spans_end_when_released_or_the_host_is_lost(tmp_path: Path) -> None:
    recs: list[dict[str, object]] = [
        {"t": 10.0, "event": "vip_acquired", "vip": "V", "host": "a"},
        {"t": 12.0, "event": "host_reachability", "host": "a", "reachable": False},
        {"t": 13.5, "event": "vip_acquired", "vip": "V", "host": "b"},
        {"t": 20.0, "event": "vip_released", "vip": "V", "host": "b"}]
    log = read_runlog(write(tmp_path / "t.jsonl", recs))
    assert [(s.host, s.start, s.end) for s in log.spans] == [("a", 10.0, 12.0),
                                                            ("b", 13.5, 20.0)]
    assert gaps(log.spans, log.start, log.end) == [(12.0, 13.5)]


def test_a_run_cut_mid_line_still_reads_and_a_broken_line_is_named(tmp_path: Path) -> None:
    rec = {"t": 1.0, "event": "step_started", "step": "s", "kind": "run", "hosts": ["a"]}
    log = read_runlog(write(tmp_path / "cut.jsonl", [rec], tail='{"t": 2.0, "ev'))
    assert [s.id for s in log.steps] == ["s"]
    bad = write(tmp_path / "bad.jsonl", [rec], tail='nonsense\n' + json.dumps(rec) + "\n")
    with pytest.raises(LabguideError, match=r"bad.jsonl:2: not a JSON line"):
        read_runlog(bad)


def test_a_transcript_from_before_load_started_still_has_its_loads(tmp_path: Path) -> None:
    recs: list[dict[str, object]] = [
        {"t": 1.0, "event": "step_started", "step": "ld", "kind": "load", "hosts": ["c"]},
        {"t": 2.0, "event": "output", "step": "ld", "host": "c", "stream": "stdout",
         "line": "running (0m01.0s), 10/10 VUs, 500 complete and 0 interrupted iterations"},
        {"t": 3.0, "event": "step_finished", "step": "ld", "status": "passed",
         "duration": 2.0, "detail": {"tool": "k6"}}]
    log = read_runlog(write(tmp_path / "old.jsonl", recs))
    assert log.loads["ld"].tool == "k6" and [s.rate for s in log.loads["ld"].samples] == [500]
