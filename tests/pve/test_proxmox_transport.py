"""ProxmoxTransport against the emulator: the chapter's qm steps, real qm output, exit statuses,
TLS (CA, pinned fingerprint, off), both logins, and the token secret never shown anywhere."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from labguide.errors import HostError, LabguideError
from labguide.inventory import Host
from labguide.sandbox.pve.store import VmStore
from labguide.sandbox.pve.tls import ensure_certs, fingerprint
from labguide.transports.base import CommandResult
from labguide.transports.proxmox import ProxmoxTransport
from labguide.transports.qm_output import format_list
from labguide.transports.sshwait import wait_for_ssh
from tests.conftest import Sshd
from tests.pve.conftest import Emulator

CHAPTER_STEP = """\
qm clone 999 501 --name l4lb-2 --full
qm set 501 --ipconfig0 "ip=198.18.16.134/32,gw=198.18.16.1"
qm start 501
"""


class Capture:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, stream: str, line: str) -> None:
        self.lines.append((stream, line))

    def out(self) -> list[str]:
        return [line for stream, line in self.lines if stream == "stdout"]

    def err(self) -> list[str]:
        return [line for stream, line in self.lines if stream == "stderr"]


async def run(host: Host, script: str, timeout: float | None = 60) -> tuple[CommandResult, Capture]:
    cap = Capture()
    transport = ProxmoxTransport(host, poll_interval=0.05)
    try:
        result = await transport.run(script, cap, timeout=timeout)
    finally:
        await transport.close()
    return result, cap


async def test_chapter_step_creates_l4lb_2(pve: Emulator) -> None:
    result, cap = await run(pve.host(), CHAPTER_STEP)
    assert result.exit_status == 0, cap.lines
    out = cap.out()
    assert out[0] == "creating a clone of VM 999 with ID 501"
    assert "create full clone of drive scsi0 (local-lvm:base-999-disk-0)" in out
    assert "transferred 32.0 GiB of 32.0 GiB (100.00%)" in out
    assert "update VM 501: -ipconfig0 ip=198.18.16.134/32,gw=198.18.16.1" in out
    assert not any(line.startswith("TASK ") for line in out)
    assert cap.err() == []

    result, cap = await run(pve.host(), "qm status 501")
    assert (result.exit_status, cap.out()) == (0, ["status: running"])
    result, cap = await run(pve.host(), "qm config 501")
    config = cap.out()
    assert "name: l4lb-2" in config and "ipconfig0: ip=198.18.16.134/32,gw=198.18.16.1" in config
    assert config == sorted(config) and not any(c.startswith("digest:") for c in config)
    assert "scsi0: local-lvm:vm-501-disk-0,iothread=1,size=32G" in config


async def test_a_failed_task_fails_the_step_and_stops_the_script(pve: Emulator) -> None:
    result, cap = await run(pve.host(), "qm start 999\nqm stop 500")
    assert result.exit_status == 255
    assert cap.err() == ["you can't start a vm if it's a template"]
    assert (await run(pve.host(), "qm status 500"))[1].out() == ["status: running"]


async def test_an_api_error_fails_the_step(pve: Emulator) -> None:
    result, cap = await run(pve.host(), "qm clone 999 500 --name dup --full")
    assert result.exit_status == 255
    assert cap.err() == ["unable to create VM 500: config file already exists"]
    result, cap = await run(pve.host(), "qm start 500")
    assert (result.exit_status, cap.err()) == (255, ["VM 500 already running"])


async def test_status_verbose_config_and_list_print_like_qm(pve: Emulator) -> None:
    VmStore(pve.state).write(302, {**VmStore(pve.state).load(302),
                                   "description": "web: backend\nsecond line"})
    _, cap = await run(pve.host(), "qm status 302 --verbose")
    lines = cap.out()
    assert "status: running" in lines and "name: web-2" in lines and "vmid: 302" in lines
    assert not any(line.startswith(("cpu:", "ha:")) for line in lines)
    assert lines == sorted(lines)
    _, cap = await run(pve.host(), "qm config 302")
    assert "description: web%3A backend%0Asecond line" in cap.out()
    _, cap = await run(pve.host(), "qm list")
    header, *rows = cap.out()
    assert header == "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       "
    row = next(r for r in rows if r.split()[0] == "999")
    assert row == "       999 debian12-cloud       stopped    2048              32.00 0         "
    assert format_list([]) == []


async def test_shutdown_and_destroy_through_qm(pve: Emulator) -> None:
    script = ("qm clone 999 680 --name tmp-680\n"
              "qm set 680 --ipconfig0 ip=198.18.16.180/32,gw=198.18.16.1 --cores 1\n"
              "qm start 680\nqm shutdown 680 --timeout 30\nqm destroy 680 --purge\n")
    result, cap = await run(pve.host(), script)
    assert result.exit_status == 0, cap.lines
    assert "create linked clone of drive scsi0 (local-lvm:base-999-disk-0)" in cap.out()
    assert "update VM 680: -cores 1 -ipconfig0 ip=198.18.16.180/32,gw=198.18.16.1" in cap.out()
    assert "purging VM 680 from related configurations.." in cap.out()
    result, cap = await run(pve.host(), "qm status 680")
    assert result.exit_status == 255
    assert cap.err() == ["Configuration file 'nodes/node1/qemu-server/680.conf' does not exist"]


async def test_timeout_stops_the_task(slow_pve: Emulator) -> None:
    pve = slow_pve
    result, cap = await run(pve.host(), "qm clone 999 681 --name slow --full", timeout=1.0)
    assert (result.exit_status, result.reason) == (None, "timeout")
    tasks = pve.api().nodes("node1").tasks.get(vmid=999, typefilter="qmclone")
    assert any(t["status"] == "interrupted by signal" for t in tasks)
    assert not (pve.state / "qemu-server" / "681.conf").exists()


async def test_cancel_stops_the_task(slow_pve: Emulator) -> None:
    pve = slow_pve
    transport = ProxmoxTransport(pve.host(), poll_interval=0.05)
    cap = Capture()
    job = asyncio.create_task(transport.run("qm clone 999 682 --name c --full", cap))
    for _ in range(200):  # the task runs and its log streams (bounded: 10 s)
        if "creating a clone of VM 999 with ID 682" in cap.out():
            break
        await asyncio.sleep(0.05)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    await transport.close()
    tasks = pve.api().nodes("node1").tasks.get(vmid=999, typefilter="qmclone")
    assert any(t["status"] == "interrupted by signal" for t in tasks)
    assert not (pve.state / "qemu-server" / "682.conf").exists()


async def test_script_errors_and_unsupported_operations(pve: Emulator) -> None:
    result, cap = await run(pve.host(), "qm start 501\nqm migrate 501 node2")
    assert result.exit_status == 2 and "line 2: qm migrate" in cap.err()[0]
    transport = ProxmoxTransport(pve.host())
    with pytest.raises(LabguideError, match="not supported on a proxmox host"):
        await transport.read_file("/etc/hostname")
    with pytest.raises(LabguideError, match="not supported on a proxmox host"):
        await transport.write_file("/tmp/x", b"x")
    with pytest.raises(LabguideError, match="not supported on a proxmox host"):
        transport.stream("qm list")


# -- TLS -----------------------------------------------------------------------------------------
async def test_pinned_fingerprint_accepted(pve: Emulator) -> None:
    pin = fingerprint(pve.state / "pve-ssl.pem")
    result, cap = await run(pve.host(ca=None, fingerprint=pin), "qm status 500")
    assert (result.exit_status, cap.out()) == (0, ["status: running"])


async def test_wrong_fingerprint_refused(pve: Emulator, tmp_path: Path) -> None:
    _, other, _ = ensure_certs(tmp_path, "127.0.0.1")
    with pytest.raises(HostError, match="TLS check .* failed"):
        await run(pve.host(ca=None, fingerprint=fingerprint(other)), "qm status 500")


async def test_other_ca_refused(pve: Emulator, tmp_path: Path) -> None:
    other_ca, _, _ = ensure_certs(tmp_path, "127.0.0.1")
    with pytest.raises(HostError, match="TLS check .* failed") as info:
        await run(pve.host(ca=other_ca), "qm status 500")
    assert info.value.hint and "fingerprint" in info.value.hint


async def test_no_ca_means_system_cas_which_refuse_the_lab(pve: Emulator) -> None:
    with pytest.raises(HostError, match="TLS check"):
        await run(pve.host(ca=None), "qm status 500")


async def test_verification_off_is_loud(pve: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="labguide.transports.proxmox")
    result, cap = await run(pve.host(ca=None, verify_tls=False), "qm status 500")
    assert result.exit_status == 0
    assert "TLS verification is OFF" in caplog.text
    assert any("TLS verification is OFF" in line for line in cap.err())


# -- credentials -----------------------------------------------------------------------------------
async def test_ticket_login(pve: Emulator) -> None:
    host = pve.host(token_id=None, token_secret_file=None, user="root@pam",
                    password_file=Path(pve.ready["password_file"]))
    result, cap = await run(host, "qm set 302 --tags web\nqm config 302")
    assert result.exit_status == 0, cap.lines
    assert "tags: web" in cap.out()


async def test_bad_token_is_a_host_error(pve: Emulator, tmp_path: Path) -> None:
    wrong = tmp_path / "secret"
    wrong.write_text("00000000-0000-0000-0000-000000000000\n")
    wrong.chmod(0o600)
    with pytest.raises(HostError, match="refused the credentials"):
        await run(pve.host(token_secret_file=wrong), "qm list")


async def test_secret_file_must_be_private(pve: Emulator, tmp_path: Path) -> None:
    loose = tmp_path / "secret"
    loose.write_text(pve.token_secret)
    loose.chmod(0o644)
    with pytest.raises(LabguideError, match="readable by others") as info:
        await run(pve.host(token_secret_file=loose), "qm list")
    assert info.value.hint == f"chmod 600 {loose}"
    with pytest.raises(LabguideError, match="LGT_PVE_UNSET is not set"):
        await run(pve.host(token_secret_file=None, token_secret_env="LGT_PVE_UNSET"), "qm list")


async def test_token_secret_never_shown(pve: Emulator, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Run good and failing steps with every logger at DEBUG; grep everything for the secret."""
    caplog.set_level(logging.DEBUG)
    for name in ("proxmoxer", "proxmoxer.core", "proxmoxer.backends.https", "urllib3",
                 "labguide"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = pve.token_secret
    password = pve.password
    monkeypatch.setenv("LGT_PVE_TOKEN", secret)
    seen: list[str] = []
    env_host = pve.host(token_secret_file=None, token_secret_env="LGT_PVE_TOKEN")
    hosts = [pve.host(), env_host, replace(env_host, address="127.0.0.1"),
             pve.host(token_id=None, token_secret_file=None, user="root@pam",
                      password_file=Path(pve.ready["password_file"]))]
    scripts = [CHAPTER_STEP.replace("501", "690").replace("134", "190"), "qm start 999",
               "qm clone 999 500", "qm status 690 --verbose", "qm config 690", "qm list",
               "qm set 690 --name bad_name", "qm start 4242"]
    for host in hosts:
        for script in scripts:
            try:
                result, cap = await run(host, script)
                seen += [line for _, line in cap.lines] + [repr(result)]
            except LabguideError as exc:
                seen.append(str(exc))
                seen.append(repr(exc))
    _, other, _ = ensure_certs(tmp_path, "127.0.0.1")
    for broken in (pve.host(ca=None, fingerprint=fingerprint(other)), pve.host(ca=other),
                   replace(pve.host(), address="127.0.0.2")):
        try:
            await run(broken, "qm list", timeout=5)
        except LabguideError as exc:
            seen += [str(exc), repr(exc), str(exc.__cause__), str(exc.__context__)]
    text = "\n".join(seen) + caplog.text + pve.log_path.read_text()
    assert "status: running" in text and "TLS check" in text  # we did capture the runs
    assert secret not in text
    assert password not in text
    assert os.environ["LGT_PVE_TOKEN"] not in text


# -- waiting for SSH ----------------------------------------------------------------------------
async def test_wait_for_ssh_reads_the_banner(sshd: Sshd) -> None:
    ready = await wait_for_ssh("127.0.0.1", sshd.port, timeout=10)
    assert ready.banner.startswith("SSH-2.0-")


async def test_wait_for_ssh_gives_up(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(TimeoutError, match="no SSH banner"):
            await wait_for_ssh("127.0.0.1", port, timeout=0.5)
