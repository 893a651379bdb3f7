"""Output is bounded (issue 16, item 9): a step that prints millions of lines, or one huge
line, keeps a fixed amount in memory and a capped transcript with a marker; every timeout
applies, and an unexpected error is recorded as the step's result."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.events import StepStatus
from labguide.inventory import Inventory
from labguide.plan import bind
from labguide.state import Transcript
from labguide.steps.context import LINE_MAX, TRANSCRIPT_LINES
from tests.conftest import Sshd

#: RSS this test may add, whatever the output (before the caps: +138 MiB for 15 MB).
RSS_GROWTH_CAP_MIB = 60


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def engine_for(body: str, sshd: Sshd, tmp_path: Path, attrs: str = "") -> Engine:
    text = (f'+++\ntitle = "Big"\nhosts = ["a"]\n+++\n\n## Big\n\n'
            f'```sh {{on="a" id="big" {attrs}}}\n{body}\n```\n')
    plan = bind(parse_chapter(text, tmp_path / "big.md"),
                Inventory(hosts={"a": sshd.host("a")}, path=tmp_path / "inv.toml"), {})
    return Engine(plan, transcript=Transcript(tmp_path / "transcript.jsonl"))


@pytest.mark.slow
async def test_five_million_lines_and_a_20_mb_line_stay_bounded(sshd: Sshd,
                                                               tmp_path: Path) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
    engine = engine_for("seq 1 5000000\nhead -c 20000000 /dev/zero | tr '\\0' x; echo",
                        sshd, tmp_path, "timeout=600")
    before = rss_mib()
    try:
        rec = await engine.run_step("big")
    finally:
        await engine.close()
    grown = rss_mib() - before
    assert rec.status == StepStatus.PASSED, rec.message
    assert grown < RSS_GROWTH_CAP_MIB, f"RSS grew {grown:.0f} MiB"
    records = [json.loads(line) for line in
               (tmp_path / "transcript.jsonl").read_text().splitlines()]
    output = [r for r in records if r["event"] == "output" and r["stream"] == "stdout"]
    assert len(output) == TRANSCRIPT_LINES
    marker = [r["line"] for r in records if r["event"] == "output" and r["stream"] == "info"]
    assert any(f"{5_000_001 - TRANSCRIPT_LINES:,} more output lines" in m for m in marker)
    assert rec.hosts["a"]["unlogged_lines"] == 5_000_001 - TRANSCRIPT_LINES
    huge = rec.hosts["a"]["tail"][-1]
    assert huge.startswith("x" * 100) and len(huge) < LINE_MAX + 100
    assert huge.endswith(f"({20_000_000 - LINE_MAX:,} more characters not kept)")
    size = (tmp_path / "transcript.jsonl").stat().st_size
    assert size < 20_000_000, f"transcript of {size} bytes"


async def test_a_file_step_gives_up_at_its_timeout(sshd: Sshd, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    fifo.parent.mkdir(exist_ok=True)
    import os

    os.mkfifo(fifo)  # reading it blocks forever: the step's timeout must end the wait
    engine = engine_for("content", sshd, tmp_path, f'path="{fifo}" timeout=1')
    try:
        rec = await engine.run_step("big")
    finally:
        await engine.close()
    # refused as no regular file, or given up at the timeout: never a hang
    assert rec.status == StepStatus.FAILED
    assert "timed out after 1 s" in rec.message or "not a regular file" in rec.message
    assert rec.duration < 10
