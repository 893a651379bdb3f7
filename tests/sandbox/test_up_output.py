"""What `labguide lab up` prints when its output is not a terminal: each phase's line when the
phase starts (not only when it ends), the base build's own lines as they come, timestamps, and
no escape codes. The real command, with its lab root in a folder of the test's own.

The base build here is a stand-in `mmdebstrap` found first on PATH (the seam every host tool
goes through): it speaks, then waits for the test before it fails, so the test sees what `up`
printed while the phase was still running. The real build is run by the session's fixtures
(`sandbox_base`) whenever the cache is cold; `test_crash.py` checks the real phases' order.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox_helpers import Base, leftovers, phase_spans

from labguide.sandbox import network
from labguide.sandbox.paths import ROOT_ENV, LabPaths
from tests.conftest import sandbox_missing

pytestmark = pytest.mark.sandbox

FAKE_MMDEBSTRAP = """#!/bin/sh
echo "I: running apt-get update..."
echo "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]"
n=0
while [ ! -e "$LABGUIDE_TEST_GO" ]; do
    n=$((n + 1)); [ $n -gt 600 ] && break
    sleep 0.1
done
echo "E: stopped by the test" >&2
exit 1
"""


def _lines(proc: subprocess.Popen[str], out: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.put(line.rstrip("\n"))
    out.put(None)


def _until(out: queue.Queue[str | None], seen: list[str], want: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(want in line for line in seen):
        line = out.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, f"`lab up` ended before printing {want!r}:\n" + "\n".join(seen)
        seen.append(line)


def test_up_shows_each_phase_as_it_starts_and_streams_the_base_build(tmp_path: Path) -> None:
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    if network.bridge_is_ours() is not None:
        pytest.skip("a lab (or its bridge) is up: this test makes the bridge and node1 itself")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "mmdebstrap").write_text(FAKE_MMDEBSTRAP)
    (fake / "mmdebstrap").chmod(0o755)
    go = tmp_path / "go"
    env = {**os.environ, ROOT_ENV: str(tmp_path / "lab"), "LABGUIDE_TEST_GO": str(go),
           "PATH": f"{fake}:{os.environ['PATH']}", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "labguide", "lab", "up"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, out), daemon=True).start()
    seen: list[str] = []
    try:
        _until(out, seen, "| Get:1 http://deb.debian.org", 60)
        # the host side is made while the images build: node1's phase ends before the base's
        _until(out, seen, "node1: Proxmox API emulator on 198.18.16.2:8006 ", 60)
        spans = phase_spans(seen)
        assert spans["base image: mmdebstrap bookworm minbase + .debs"][1] is None
        assert spans["images (cold build: mmdebstrap, .debs, layers)"][1] is None
        assert any(line.endswith("  I: running apt-get update...") for line in seen)
    finally:
        go.touch()
        proc.wait(timeout=60)  # stdout is the reader thread's alone (communicate would take some)
    assert proc.stderr is not None
    err = proc.stderr.read()
    while (line := out.get(timeout=10)) is not None:
        seen.append(line)
    text = "\n".join(seen)
    try:
        assert proc.returncode == 2, text + err
        assert "E: stopped by the test" in err and "base-build.log" in err
        assert any("base image: mmdebstrap bookworm minbase + .debs: failed after" in line
                   for line in seen)
        for start, end in phase_spans(seen).values():
            assert end is None or start < end
        assert all(line[:2].isdigit() and line[2] == ":" for line in seen[1:]), text
        assert "\x1b" not in text + err
    finally:
        down = subprocess.run([sys.executable, "-m", "labguide", "lab", "down"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "\x1b" not in down.stdout
    assert "delete firewall table and bridge lgbr0 ..." in down.stdout
    assert leftovers(LabPaths.default(tmp_path / "lab")) == []


def test_the_real_base_build_streamed_its_lines(sandbox_base: Base) -> None:
    """mmdebstrap's own output reached the reporter between the base phase's start and end
    lines (checked whenever this session's fixture built the base: a cold cache)."""
    lines = list(sandbox_base.build_output)
    spans = phase_spans(lines)
    base = spans.get("base image: mmdebstrap bookworm minbase + .debs")
    if base is None:
        pytest.skip("the image cache was warm: nothing was built in this session")
    start, end = base
    assert end is not None, lines
    inside = lines[start + 1:end]
    for step in ("I: running apt-get update...", "I: installing essential packages...",
                 "I: running --customize-hook"):
        assert any(line.strip().startswith(step) for line in inside), (step, lines)
    assert any(line.strip().startswith("| ") for line in inside), lines  # apt's, dpkg's
