"""What the bash transports (ssh against a real sshd on loopback, local) do with large
scripts, bad bytes, stdin and files that are not what they seem."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from labguide.errors import HostError
from labguide.inventory import Host
from labguide.transports.local import LocalTransport
from labguide.transports.shell import MAX_READ_BYTES, ShellTransport
from labguide.transports.ssh import SshTransport
from tests.conftest import Sshd


@pytest.fixture(params=["ssh", "local"])
async def transport(request: pytest.FixtureRequest, sshd: Sshd) -> AsyncIterator[ShellTransport]:
    t: ShellTransport = (SshTransport(sshd.host()) if request.param == "ssh" else
                         LocalTransport(Host(name="box", address="127.0.0.1", transport="local")))
    await t.connect()
    yield t
    await t.close()


class Out:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, stream: str, line: str) -> None:
        self.lines.append((stream, line))

    def of(self, stream: str) -> list[str]:
        return [line for s, line in self.lines if s == stream]


async def test_a_200_kb_script_runs(transport: ShellTransport) -> None:
    """The script was one `bash -c` argument: over 128 KiB, exec failed with E2BIG."""
    out = Out()
    script = "x='" + "y" * 200_000 + "'\necho ${#x}\necho 'done'\n"
    res = await transport.run(script, out)
    assert res.exit_status == 0 and out.of("stdout") == ["200000", "done"], out.lines


async def test_the_command_reads_its_own_stdin_after_the_script(
        transport: ShellTransport) -> None:
    out = Out()
    script = ": '" + "z" * 150_000 + "'\nhead -c 5; echo; cat | wc -c\nread -r x || echo eof\n"
    res = await transport.run(script, out, input_data=b"hello" + b"w" * 70_000)
    assert res.exit_status == 0 and out.of("stdout") == ["hello", "70000", "eof"], out.lines
    out = Out()  # no input: stdin is at its end at once, nothing waits for it
    res = await transport.run("cat; echo end", out, timeout=5)
    assert res.exit_status == 0 and out.of("stdout") == ["end"]


async def test_line_numbers_and_errexit_are_the_script_s_own(
        transport: ShellTransport) -> None:
    out = Out()
    res = await transport.run("true\nno-such-command-here\necho not reached", out)
    assert res.exit_status == 127 and out.of("stdout") == []
    assert any("line 2" in line for line in out.of("stderr")), out.lines


async def test_a_nul_in_a_script_is_a_clear_error(transport: ShellTransport) -> None:
    with pytest.raises(HostError) as err:
        await transport.run("echo a\x00b", Out())
    assert err.value.host == "box" and "NUL" in str(err.value)
    with pytest.raises(HostError, match="NUL"):
        async for _ in transport.stream("echo \x00"):
            pass
    assert (await transport.run("true", Out())).ok  # and the transport still works


async def test_a_fifo_at_the_path_is_an_error_not_a_hang(transport: ShellTransport,
                                                         tmp_path: Path) -> None:
    """A FIFO at the path hung read_file (> 6 s with timeout=1)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(HostError) as err:
        async with asyncio.timeout(6):
            await transport.read_file(str(fifo), timeout=1)
    assert "not a regular file" in str(err.value) and time.monotonic() - t0 < 3
    (tmp_path / "dir").mkdir()
    with pytest.raises(HostError, match="not a regular file"):
        await transport.read_file(str(tmp_path / "dir"), timeout=1)


async def test_read_file_reads_at_most_the_cap(transport: ShellTransport,
                                               tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"a" * MAX_READ_BYTES)
    assert await transport.read_file(str(big)) == b"a" * MAX_READ_BYTES
    with big.open("ab") as fh:
        fh.write(b"b")
    with pytest.raises(HostError, match=r"larger than 4096 KiB"):
        await transport.read_file(str(big))


async def test_file_reads_and_writes_end_at_their_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a sudo that never answers (first on PATH for the local transport's bash)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sudo").write_text("#!/bin/sh\nexec sleep 30\n")
    (fake / "sudo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    t = LocalTransport(Host(name="box", address="127.0.0.1", transport="local"))
    target = str(tmp_path / "f")
    for op in ("read", "write"):
        t0 = time.monotonic()
        with pytest.raises(HostError, match=r"timed out"):
            async with asyncio.timeout(10):
                if op == "read":
                    await t.read_file(target, sudo=True, timeout=1)
                else:
                    await t.write_file(target, b"x", sudo=True, timeout=1)
        assert time.monotonic() - t0 < 5, op
