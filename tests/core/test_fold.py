"""Repeated output is folded for display: the first line, then how many more and how long."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labguide.fold import RepeatFolder
from tests.conftest import Sshd

WARN = ('time="2026-12-02T03:00:{:02d}Z" level=warning msg="Request Failed" '
        'error="dial tcp 198.18.16.140:80: connect: connection refused"')


def test_a_run_of_alike_lines_shows_its_first_and_a_count() -> None:
    f = RepeatFolder()
    shown = []
    for n in range(900):
        shown += f.feed(("client", "stderr"), WARN.format(n % 60), 100 + n / 1000)
    shown += f.feed(("client", "stderr"), "done", 101.0)
    assert [line for _, line in shown] == [
        WARN.format(0), "… 899 more like this over 0.9 s", "done"]


def test_other_streams_and_hosts_do_not_break_a_run_and_flush_ends_it() -> None:
    f = RepeatFolder()
    shown = f.feed(("s1", "client", "stderr"), "error 1", 0.0)
    shown += f.feed(("s1", "client", "stdout"), "running (0m01s)", 0.5)
    shown += f.feed(("s1", "client", "stderr"), "error 2", 1.0)
    shown += f.feed(("s1", "l4lb-1", "stderr"), "error 3", 1.0)
    shown += f.feed(("s2", "client", "stderr"), "error 4", 1.0)
    shown += f.feed(("s2", "client", "stderr"), "error 5", 1.5)
    shown += f.flush(("s1",))
    assert [line for _, line in shown] == ["error 1", "running (0m01s)", "error 3", "error 4",
                                           "… 1 more like this over 1.0 s"]
    assert f.flush(("s1",)) == []
    assert f.flush() == [(("s2", "client", "stderr"), "… 1 more like this over 0.5 s")]


def test_different_lines_are_all_shown() -> None:
    f = RepeatFolder()
    lines = ["Reading package lists...", "Building dependency tree...", "Done"]
    shown = [line for text in lines for _, line in f.feed(("a", "stdout"), text, 0.0)]
    assert shown == lines and f.flush() == []


def test_plain_output_folds_a_flood_and_the_transcript_keeps_every_line(
        tmp_path: Path, sshd: Sshd) -> None:
    chapter = tmp_path / "flood.md"
    chapter.write_text('+++\ntitle = "Flood"\nhosts = ["a"]\n+++\n\n## Flood\n\n'
                       '```sh {on="a" id="flood"}\n'
                       'for i in $(seq 1 900); do echo "request $i failed: refused" >&2; done\n'
                       'echo done\n```\n')
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a"))
    state = tmp_path / "state"
    res = subprocess.run([sys.executable, "-m", "labguide", "run", str(chapter), "--plain",
                          "--inventory", str(inv)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LABGUIDE_STATE_DIR": str(state)},
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    shown = [line for line in res.stdout.splitlines() if "| " in line]
    # stdout and stderr are two pipes: "done" may come before or among the refusals
    assert sorted(shown[:2]) == ["a | done", "a | request 1 failed: refused"]
    assert len(shown) == 3 and "a | … 899 more like this over" in shown[2]
    transcript = next(state.rglob("transcript.jsonl")).read_text().splitlines()
    lines = [json.loads(t)["line"] for t in transcript if '"output"' in t]
    assert sum(line.endswith("failed: refused") for line in lines) == 900
