"""In the sandbox lab (if it is up): the chapter's node1 steps through the API make a real VM that
labguide then reaches over SSH with its host key checked. Uses its own VM id and removes it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from labguide.inventory import Host, ProxmoxSettings
from labguide.transports.proxmox import ProxmoxTransport
from labguide.transports.sshwait import wait_for_ssh

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

VMID, NAME, IP = 591, "lgt-pve-e2e", "198.18.16.191"  # not a chapter VM: ours to remove


def _lab() -> tuple[Host, Host]:
    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root")
    from labguide.sandbox import node1
    from labguide.sandbox.paths import LabPaths
    from labguide.sandbox.topology import NODE1_IP, PVE_PORT
    from tests.conftest import lab_up, sandbox_missing

    why = sandbox_missing()
    if why:
        pytest.skip(why)
    lab_up()
    paths = LabPaths.default()
    assert node1.emulator_pid(paths) is not None and paths.known_hosts.exists()
    acc = node1.access(paths)
    proxmox = Host(name="node1", address=NODE1_IP, transport="proxmox", port=PVE_PORT,
                   proxmox=ProxmoxSettings(node="node1", port=PVE_PORT, token_id=acc.token_id,
                                           token_secret_file=acc.token_secret_file, ca=acc.ca))
    guest = Host(name=NAME, address=IP, user="ubuntu", identity_file=paths.identity_file,
                 known_hosts=paths.known_hosts, connect_timeout=10.0)
    return proxmox, guest


async def test_chapter_node1_steps_make_a_reachable_vm(tmp_path: Path) -> None:
    proxmox, guest = _lab()
    lines: list[tuple[str, str]] = []
    transport = ProxmoxTransport(proxmox, poll_interval=0.1)

    async def qm(script: str) -> int | None:
        result = await transport.run(script, lambda s, line: lines.append((s, line)),
                                     timeout=300)
        return result.exit_status

    await qm(f"qm stop {VMID}\nqm destroy {VMID} --purge")  # leftovers of a crashed run
    try:
        status = await qm(f"qm clone 999 {VMID} --name {NAME} --full\n"
                          f'qm set {VMID} --ipconfig0 "ip={IP}/32,gw=198.18.16.1"\n'
                          f"qm start {VMID}")
        assert status == 0, lines
        ready = await wait_for_ssh(IP, 22, timeout=60)
        assert ready.banner.startswith("SSH-2.0-")
        # a new clone: checked against its own key, read from its disk (as on its console)
        from labguide.sandbox.paths import LabPaths
        from labguide.transports.ssh import SshTransport

        own = tmp_path / "known_hosts"
        key = LabPaths.default().disk(VMID) / "upper/etc/ssh/ssh_host_ed25519_key.pub"
        own.write_text(f"{IP} {' '.join(key.read_text().split()[:2])}\n")
        ssh = SshTransport(replace(guest, known_hosts=own))
        out: list[str] = []
        try:
            result = await ssh.run("hostname; ip -4 -o addr show dev eth0",
                                   lambda s, line: out.append(line), timeout=30)
        finally:
            await ssh.close()
        assert result.exit_status == 0, out
        assert any(IP in line for line in out), out
        lines.clear()
        assert await qm(f"qm status {VMID}") == 0
        assert ("stdout", "status: running") in lines
    finally:
        await qm(f"qm stop {VMID}\nqm destroy {VMID} --purge")
        await transport.close()
        from labguide.sandbox.machines import NspawnMachines

        NspawnMachines().forget(VMID)  # its runtime record (destroy removed the disk)
        assert not Path(f"/run/netns/lg-{NAME}").exists()
