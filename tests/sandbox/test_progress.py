"""How `labguide lab` reports while it works, without the lab: the plain and live displays, the
streaming of a build tool's output, and the image build's helpers. Real subprocesses and a real
pseudo-terminal; nothing here touches the bridge, the namespaces or the shared cache."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.sandbox import image
from labguide.sandbox.progress import LineReporter, Reporter, as_reporter, for_stream

ESC = "\x1b"


def _run_phases(rep: Reporter) -> None:
    with rep.phase("images") as images:
        with images.phase("base image") as base:
            base.note("I: running apt-get update...")
            base.detail("Get:1 http://deb.example/debian bookworm InRelease")
        with images.phase("layer web"):
            pass
    rep.note("lab up in 1.0 s")


def test_plain_lines_show_each_phase_when_it_starts_and_when_it_ends() -> None:
    lines: list[str] = []
    _run_phases(as_reporter(lines.append))
    assert lines[0] == "images ..."
    assert lines[1] == "  base image ..."
    assert lines[2] == "    I: running apt-get update..."
    assert lines[3] == "    | Get:1 http://deb.example/debian bookworm InRelease"
    assert lines[4].startswith("  base image ") and lines[4].endswith(" s")
    assert [ln.strip().split()[0] for ln in lines[5:8]] == ["layer", "layer", "images"]
    assert lines[-1] == "lab up in 1.0 s"


def test_plain_lines_thin_out_passing_output_but_keep_notes_and_say_what_failed() -> None:
    lines: list[str] = []
    rep = LineReporter(lines.append)
    with pytest.raises(RuntimeError):
        with rep.phase("base image") as ph:
            for i in range(50):
                ph.detail(f"Setting up package-{i}")
            ph.note("E: something broke")
            raise RuntimeError("boom")
    assert lines[1] == "  | Setting up package-0"  # the first passing line, then one per 2 s
    assert "  | Setting up package-1" not in lines
    assert "  E: something broke" in lines
    assert lines[-1].startswith("base image: failed after ")


def test_a_pipe_and_no_color_get_plain_timestamped_lines_without_escape_codes() -> None:
    out = io.StringIO()
    with for_stream(out, env={"TERM": "xterm-256color"}) as rep:
        _run_phases(rep)
    text = out.getvalue()
    assert ESC not in text
    first = text.splitlines()[0]
    assert first.endswith(" images ...") and first[2] == ":" and first[5] == ":"  # HH:MM:SS

    for env in ({"TERM": "xterm-256color", "NO_COLOR": "1"}, {"TERM": "dumb"}):
        master, slave = pty.openpty()
        with open(slave, "w", closefd=True) as tty:
            with for_stream(tty, env=env) as rep:
                _run_phases(rep)
        got = os.read(master, 65536).decode()
        os.close(master)
        assert ESC not in got and " images ..." in got, env


def test_a_terminal_gets_a_live_line_per_phase_with_its_latest_output() -> None:
    master, slave = pty.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, chunks), daemon=True)
    reader.start()
    with open(slave, "w", closefd=True) as tty:
        with for_stream(tty, env={"TERM": "xterm-256color"}) as rep:
            with rep.phase("base image: mmdebstrap") as ph:
                ph.detail("Unpacking libc6:amd64 (2.36) ...")
                deadline = time.monotonic() + 10  # the display refreshes 8 times a second
                while b"Unpacking libc6:amd64" not in b"".join(chunks):  # shown while it runs
                    assert time.monotonic() < deadline, b"".join(chunks)
                    time.sleep(0.02)
    reader.join(5)
    text = b"".join(chunks).decode(errors="replace")
    assert ESC in text  # a live display: cursor moves, colours
    assert "✓ base image: mmdebstrap" in text  # the line that stays when the phase ends


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return
        if not data:
            return
        chunks.append(data)


def _slow_tool(tmp_path: Path) -> tuple[list[str], Path]:
    """A build tool that says one line, then waits (at most 20 s) for a go file."""
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "print('I: first step', flush=True)\n"
        "print('Get:1 some package', flush=True)\n"
        f"deadline = time.monotonic() + 20\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    if time.monotonic() > deadline: sys.exit('E: nobody read my first lines')\n"
        "    time.sleep(0.01)\n"
        "print('I: success', flush=True)\n"
    )
    return [sys.executable, "-c", script], go


def test_stream_hands_over_each_line_while_the_tool_still_runs(tmp_path: Path) -> None:
    argv, go = _slow_tool(tmp_path)
    seen: list[str] = []

    def say(line: str) -> None:
        seen.append(line)
        if "Get:1" in line:
            go.touch()  # the tool ends only once its lines arrived: no buffering until exit

    with as_reporter(say).phase("base image") as ph:
        image.stream(argv, ph, tmp_path / "build.log", timeout=60)
    assert seen[1:4] == ["  I: first step", "  | Get:1 some package", "  I: success"]
    assert (tmp_path / "build.log").read_text().splitlines() == [
        "I: first step", "Get:1 some package", "I: success"]


def test_a_failed_build_names_its_log_and_keeps_the_tail(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "print('I: step'); print('E: no space left'); exit(3)"]
    with pytest.raises(LabguideError) as err:
        image.stream(argv, as_reporter(lambda _: None), tmp_path / "build.log")
    text = str(err.value)
    assert "exited 3" in text and "E: no space left" in text
    assert str(tmp_path / "build.log") in text


def test_together_runs_jobs_side_by_side_and_raises_after_all_ended() -> None:
    a_started, b_done = threading.Event(), []

    def a() -> None:
        a_started.set()
        raise ValueError("a failed")

    def b() -> None:  # waits for a: run one after the other, this would time out
        assert a_started.wait(10)
        b_done.append(True)

    with pytest.raises(ValueError, match="a failed"):
        image.together(b, a)
    assert b_done == [True]


def test_the_fetch_hook_quotes_the_repository_folder(tmp_path: Path) -> None:
    """The hook mmdebstrap runs, run by sh as mmdebstrap does (`sh -c HOOK exec ROOT`), with a
    stand-in chroot: the .debs land in a folder whose name has a space, a quote and a $."""
    debs = tmp_path / "re po's $HOME"
    debs.mkdir()
    root = tmp_path / "root"
    (root / "var/cache/apt/archives").mkdir(parents=True)
    (root / "var/cache/apt/archives/haproxy_2.6_amd64.deb").write_text("deb")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "chroot").write_text("#!/bin/sh\nexit 0\n")
    (fake / "chroot").chmod(0o755)
    hook = next(a for a in image.base_argv(root, debs, ("haproxy",))
                if a.startswith("--customize-hook="))
    subprocess.run(["sh", "-c", hook.split("=", 1)[1], "exec", str(root)], check=True,
                   env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert [p.name for p in debs.iterdir()] == ["haproxy_2.6_amd64.deb"]


def test_a_fresh_build_dir_unmounts_what_an_interrupted_build_left_in_it(
        tmp_path: Path) -> None:
    """mmdebstrap killed half-way leaves /proc, /sys, /dev mounted in its tree: emptying the
    folder must unmount them first, or rmtree goes on into what they show."""
    if os.geteuid() != 0:
        pytest.skip("needs root (mount)")
    host_side = tmp_path / "host's files"
    host_side.mkdir()
    (host_side / "keep").write_text("not the build's")
    build = tmp_path / "base.building"
    inside = build / "dev"
    inside.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(host_side), str(inside)], check=True)
    try:
        assert image.fresh_dir(build) == build
    finally:
        subprocess.run(["umount", str(inside)], capture_output=True, check=False)
    assert list(build.iterdir()) == []
    assert (host_side / "keep").read_text() == "not the build's"
