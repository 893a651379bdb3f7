"""The SSH transport against a real OpenSSH sshd on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.errors import HostError
from labguide.transports.local import LocalTransport
from labguide.transports.ssh import SshTransport
from tests.conftest import Sshd, start_sshd


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (killed children may wait to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def gone(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


class Lines:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, float]] = []

    def __call__(self, stream: str, line: str) -> None:
        self.items.append((stream, line, time.monotonic()))

    def of(self, stream: str) -> list[str]:
        return [line for s, line, _ in self.items if s == stream]


async def test_runs_and_streams_lines_as_they_come(sshd: Sshd) -> None:
    async with SshTransport(sshd.host()) as t:
        out = Lines()
        t0 = time.monotonic()
        res = await t.run("echo one; sleep 0.5; echo two >&2; sleep 0.5; echo three", out)
        assert res.exit_status == 0
        assert out.of("stdout") == ["one", "three"]
        assert out.of("stderr") == ["two"]
        first = out.items[0][2] - t0
        last = out.items[-1][2] - t0
        assert last - first >= 0.8, "lines must arrive as they are printed, not at the end"


async def test_exit_status_and_errexit(sshd: Sshd) -> None:
    async with SshTransport(sshd.host()) as t:
        assert (await t.run("exit 3", Lines())).exit_status == 3
        out = Lines()
        res = await t.run("false\necho not reached", out)
        assert res.exit_status == 1 and out.of("stdout") == []


async def test_one_connection_is_reused(sshd: Sshd) -> None:
    async with SshTransport(sshd.host()) as t:
        await t.run("true", Lines())
        conn = t._conn
        for _ in range(5):
            await t.run("true", Lines())
        assert t._conn is conn


async def test_commands_on_several_hosts_run_concurrently(sshd: Sshd) -> None:
    hosts = [SshTransport(sshd.host(f"h{i}")) for i in range(3)]
    log: list[str] = []

    async def one(i: int, t: SshTransport) -> None:
        await t.run("echo started; sleep 1", lambda s, line: log.append(f"{line} {i}"))
        log.append(f"done {i}")

    await asyncio.gather(*(one(i, h) for i, h in enumerate(hosts)))
    # every command had started before the first one finished
    assert sorted(log[:3]) == ["started 0", "started 1", "started 2"], log
    for h in hosts:
        await h.close()


async def test_timeout_kills_the_remote_command(sshd: Sshd, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    async with SshTransport(sshd.host()) as t:
        res = await t.run(f"sleep 30 & echo $! > {pidfile}; wait", Lines(), timeout=1)
        assert res.exit_status is None and res.reason == "timeout"
        assert await gone(int(pidfile.read_text()))


@pytest.mark.parametrize("kind", ["ssh", "local"])
async def test_cancel_ends_the_command_s_process_group(kind: str, sshd: Sshd,
                                                       tmp_path: Path) -> None:
    from labguide.inventory import Host

    pidfile = tmp_path / "child.pid"
    t = (SshTransport(sshd.host()) if kind == "ssh"
         else LocalTransport(Host(name="local", address="127.0.0.1", transport="local")))
    await t.connect()
    task = asyncio.create_task(t.run(f"sleep 300 & echo $! > {pidfile}; wait", Lines()))
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    child = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(child), "the background child must be gone too"
    await t.close()


async def test_host_key_mismatch_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    wrong = tmp_path / "known_hosts"
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIBm6pIXUVtRu6FbM1k8OdLhkRn4vNrIkQTnGFkiL9wcP"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} ssh-ed25519 {other}\n")
    with pytest.raises(HostError) as err:
        await SshTransport(sshd.host(known_hosts=wrong)).connect()
    text = str(err.value)
    assert "CHANGED" in text and "SHA256:" in text and "ssh-keygen -R" in text


async def test_unknown_host_key_refused_unless_accepted(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostError) as err:
        await SshTransport(sshd.host(known_hosts=empty)).connect()
    assert "unknown host key" in str(err.value) and "--accept-new-host-keys" in str(err.value)
    t = SshTransport(sshd.host(known_hosts=empty), accept_new_host_keys=True)
    await t.connect()
    assert (await t.run("true", Lines())).ok
    assert t.accepted_keys and "SHA256:" in t.accepted_keys[0]
    await t.close()
    # recorded: a second, strict transport now connects
    async with SshTransport(sshd.host(known_hosts=empty)) as strict:
        assert (await strict.run("true", Lines())).ok


async def test_accept_new_without_a_known_hosts_file_uses_the_users_own(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No known_hosts in the inventory: checked against ~/.ssh/known_hosts, and accepted into
    it (as OpenSSH's accept-new does), not refused again with advice that cannot work."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(HostError) as err:
        await SshTransport(sshd.host(known_hosts=None)).connect()
    key_type, fingerprint = err.value.message.split(": ", 1)[1].split(" ")[:2]
    assert key_type == "ED25519" and fingerprint.startswith("SHA256:")
    assert str(tmp_path / ".ssh/known_hosts") in str(
        err.value)
    async with SshTransport(sshd.host(known_hosts=None), accept_new_host_keys=True) as t:
        assert (await t.run("true", Lines())).ok
        assert t.accepted_keys == [f"box: {fingerprint}"]
    assert f"[127.0.0.1]:{sshd.port} ssh-" in (tmp_path / ".ssh/known_hosts").read_text()
    async with SshTransport(sshd.host(known_hosts=None)) as strict:
        assert (await strict.run("true", Lines())).ok


@pytest.mark.parametrize("setting", ["UserKnownHostsFile none", "UserKnownHostsFile /dev/null",
                                     "GlobalKnownHostsFile /dev/null\nUserKnownHostsFile none",
                                     "HostKeyAlias trusted-elsewhere"])
async def test_ssh_config_cannot_turn_host_key_checking_off(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    """With no known_hosts in the inventory, ~/.ssh/config's UserKnownHostsFile none turned
    checking off, and /dev/null made accepted keys never stick: labguide always checks
    against ~/.ssh/known_hosts itself, whatever the config says."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir(mode=0o700)
    (tmp_path / ".ssh/config").write_text(f"Host *\n    {setting}\n")
    if "trusted-elsewhere" in setting:  # the alias's key would be trusted for this host
        (tmp_path / ".ssh/known_hosts").write_text(
            "trusted-elsewhere " + " ".join(sshd.known_hosts.read_text().split()[1:]) + "\n")
    with pytest.raises(HostError, match="unknown host key"):
        await SshTransport(sshd.host(known_hosts=None)).connect()
    async with SshTransport(sshd.host(known_hosts=None), accept_new_host_keys=True) as t:
        assert (await t.run("true", Lines())).ok
    # the accepted key stuck, in ~/.ssh/known_hosts
    assert f"[127.0.0.1]:{sshd.port} ssh-" in (tmp_path / ".ssh/known_hosts").read_text()
    async with SshTransport(sshd.host(known_hosts=None)) as strict:
        assert (await strict.run("true", Lines())).ok


@pytest.mark.parametrize("kind", ["/dev/null", "a folder", "a FIFO", "read-only, accepting"])
async def test_a_known_hosts_that_cannot_keep_keys_fails_closed(
        sshd: Sshd, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "known"
    accept = kind.startswith("read-only")
    if kind == "/dev/null":
        path = Path("/dev/null")
    elif kind == "a folder":
        path.mkdir()
    elif kind == "a FIFO":
        os.mkfifo(path)
    else:  # root writes any mode: the immutable flag stops it
        path.write_text("")
        if subprocess.run(["chattr", "+i", str(path)], check=False).returncode != 0:
            pytest.skip("chattr +i does not work here")
    try:
        with pytest.raises(HostError) as err:
            await SshTransport(sshd.host(known_hosts=path), accept_new_host_keys=accept).connect()
    finally:
        if accept:
            subprocess.run(["chattr", "-i", str(path)], check=False)
    assert err.value.host == "box" and str(path) in str(err.value), str(err.value)
    assert "known_hosts" in str(err.value)


async def test_connection_refused_names_the_host(sshd: Sshd) -> None:
    with pytest.raises(HostError) as err:
        await SshTransport(sshd.host("gone", port=1)).connect()
    assert err.value.host == "gone" and "cannot connect" in err.value.message


async def test_files_roundtrip_atomically(sshd: Sshd, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "conf"
    async with SshTransport(sshd.host()) as t:
        assert await t.read_file(str(target)) is None
        await t.write_file(str(target), b"a\nb\n\x00binary", mode=0o640)
        assert await t.read_file(str(target)) == b"a\nb\n\x00binary"
        assert oct(target.stat().st_mode & 0o777) == "0o640"
        assert not [p for p in target.parent.iterdir() if p.name.startswith(".labguide")]


async def test_stream_yields_lines_and_stops(sshd: Sshd, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    async with SshTransport(sshd.host()) as t:
        got = []
        stream = t.stream(f"sleep 30 & echo $! > {pidfile}; for i in 1 2 3; do echo $i; done; wait")
        async for line in stream:
            got.append(line)
            if len(got) == 3:
                break
        await stream.aclose()
        assert got == ["1", "2", "3"]
        assert await gone(int(pidfile.read_text()))


async def test_a_host_without_user_logs_in_as_the_local_user(sshd: Sshd) -> None:
    import getpass

    assert getpass.getuser() == sshd.user  # the test sshd lets this machine's user in
    async with SshTransport(sshd.host(user=None)) as t:
        out = Lines()
        assert (await t.run("id -un", out)).ok
        assert out.of("stdout") == [sshd.user]


@pytest.fixture
def busy_sshd(tmp_path: Path) -> Iterator[Sshd]:
    """A real sshd that drops every new connection while one is still unauthenticated
    (MaxStartups 1:100:1), as a loaded sshd sheds logins."""
    info, proc = start_sshd(tmp_path / "busy", settings="MaxStartups 1:100:1\n")
    yield info
    proc.terminate()
    proc.wait(5)


def hold_the_only_slot(sshd: Sshd) -> socket.socket:
    """An unauthenticated connection, counted by sshd once its banner has come."""
    deadline = time.monotonic() + 5
    while True:  # the fixture's own readiness probe may still hold the slot for a moment
        hog = socket.create_connection(("127.0.0.1", sshd.port), timeout=5)
        if hog.recv(64).startswith(b"SSH-"):
            return hog
        hog.close()
        assert time.monotonic() < deadline, "sshd kept refusing the first connection"
        time.sleep(0.05)


async def test_a_connection_sshd_drops_before_login_is_tried_again(busy_sshd: Sshd) -> None:
    """sshd accepts, then closes (it is shedding unauthenticated connections): the transport
    tries again after a short pause instead of failing the step ("Connection lost")."""
    hog = hold_the_only_slot(busy_sshd)
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, hog.close)
    try:
        async with SshTransport(busy_sshd.host()) as t:
            out = Lines()
            assert (await t.run("echo in", out)).ok
            assert out.of("stdout") == ["in"]
            assert t.dropped_connects >= 1, "the first attempt should have been dropped"
    finally:
        hog.close()


async def test_a_host_that_keeps_dropping_fails_with_the_reason(busy_sshd: Sshd) -> None:
    hog = hold_the_only_slot(busy_sshd)
    try:
        t0 = time.monotonic()
        with pytest.raises(HostError) as err:
            await SshTransport(busy_sshd.host("busy")).connect()
        assert err.value.host == "busy" and "cannot connect" in err.value.message
        assert "3 attempts" in err.value.message and "MaxStartups" in (err.value.hint or "")
        assert time.monotonic() - t0 < 5, "three attempts, then the error"
    finally:
        hog.close()


@pytest.mark.parametrize("server_ciphers, cipher", [
    ("", "aes128-gcm@openssh.com"),  # sshd's default list has it: labguide's first choice
    ("chacha20-poly1305@openssh.com", "chacha20-poly1305@openssh.com"),
    ("aes256-ctr", "aes256-ctr"),
])
async def test_aes_gcm_is_offered_first_and_other_ciphers_still_work(
        tmp_path: Path, server_ciphers: str, cipher: str) -> None:
    settings = f"Ciphers {server_ciphers}\n" if server_ciphers else ""
    info, proc = start_sshd(tmp_path / "ciphers", settings=settings)
    try:
        async with SshTransport(info.host()) as t:
            out = Lines()
            assert (await t.run("echo in", out)).ok and out.of("stdout") == ["in"]
            conn = await t.connection()
            assert conn.get_extra_info("send_cipher") == cipher
            assert conn.get_extra_info("recv_cipher") == cipher
    finally:
        proc.terminate()
        proc.wait(5)


async def test_ciphers_in_ssh_config_are_still_the_users(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """~/.ssh/config's Ciphers for a host wins over labguide's own order (AES-GCM first);
    a Host block for another address changes nothing."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir(mode=0o700)
    config = tmp_path / ".ssh/config"
    for block, cipher in (("Host 192.0.2.1\n    Ciphers aes256-ctr\n", "aes128-gcm@openssh.com"),
                          ("Host 127.0.0.1\n    Ciphers aes256-ctr\n", "aes256-ctr"),
                          ("Host *\n    Ciphers ^chacha20-poly1305@openssh.com\n",
                           "chacha20-poly1305@openssh.com")):
        config.write_text(block)
        async with SshTransport(sshd.host()) as t:
            assert (await t.run("true", Lines())).ok
            assert (await t.connection()).get_extra_info("send_cipher") == cipher, block
