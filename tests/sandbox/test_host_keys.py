"""Host keys "strict", as in a real Proxmox lab built from a cloud-init template: every VM makes
its own keys at its first boot, the start VMs are known (the inventory's known_hosts and the
client's), and a clone made through node1's API is known to nobody: labguide refuses it with
its fingerprint, the client's OpenSSH fails host key verification. No host CA anywhere. Each
VM's console (`labguide lab console`) shows its own key's fingerprint, as cloud-init prints it.

Takes the lab down and brings it up in strict mode (the default), and down again at the end
(the session's `lab` fixture brings it up again for the tests that follow)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from sandbox_helpers import Base, connect, sh

from labguide.errors import HostError, LabguideError
from labguide.inventory import load_inventory
from labguide.sandbox import firewall, network, node1, sshkeys
from labguide.sandbox import lab as lab_mod
from labguide.sandbox.cloudinit import HOSTKEYS_UNIT_NAME
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.transports.proxmox import ProxmoxTransport
from labguide.transports.ssh import SshTransport
from labguide.transports.sshwait import wait_for_ssh
from tests.e2e.reader import console_fingerprint

pytestmark = pytest.mark.sandbox
START_VMS = default_lab().vms
L4LB2_IP, L4LB2_VMID = default_lab().created[0].ip, default_lab().created[0].vmid
CLIENT = next(vm for vm in START_VMS if vm.name == "client")
CLONE = (f"qm clone 999 {L4LB2_VMID} --name l4lb-2 --full\n"
         f'qm set {L4LB2_VMID} --ipconfig0 "ip={L4LB2_IP}/32,gw=198.18.16.1"\n'
         f"qm start {L4LB2_VMID}")
DESTROY = f"qm stop {L4LB2_VMID}\nqm destroy {L4LB2_VMID} --purge"


def _guest_key(paths: LabPaths, vmid: int) -> str:
    rec = NspawnMachines(paths).record(vmid)
    assert rec is not None
    return sshkeys.guest_host_key(GuestTree(Path(rec.root), f"VM {vmid}"))


def _fingerprint(key: str) -> str:
    return str(asyncssh.import_public_key(key).get_fingerprint("sha256"))


async def _qm(node: ProxmoxTransport, script: str) -> tuple[int | None, list[str]]:
    lines: list[str] = []
    result = await node.run(script, lambda _s, line: lines.append(line), timeout=300)
    return result.exit_status, lines


async def _clone_l4lb2(paths: LabPaths, node: ProxmoxTransport) -> str:
    status, lines = await _qm(node, CLONE)
    assert status == 0, lines
    await wait_for_ssh(L4LB2_IP, 22, timeout=60)
    assert not (paths.disk(L4LB2_VMID) / "hostkey").exists()  # nothing made on the host
    return _guest_key(paths, L4LB2_VMID)


async def _check_made_in_the_guest(paths: LabPaths, key: str, tmp_path: Path) -> None:
    """Log in to the clone with a known_hosts of the test's own (its key read from its
    disk, as a reader would from the console) and ask how the key came to be."""
    own = tmp_path / "known_hosts"
    own.write_text(f"{L4LB2_IP} {key}\n")
    async with await asyncssh.connect(L4LB2_IP, username="ubuntu", known_hosts=str(own),
                                      client_keys=[str(paths.identity_file)]) as conn:
        unit = await sh(conn, f"systemctl show -p Result,ConditionResult {HOSTKEYS_UNIT_NAME}")
        assert "ConditionResult=yes" in unit and "Result=success" in unit
        await sh(conn, "test ! -e /etc/ssh/ssh_host_ed25519_key-cert.pub")


async def test_strict_host_keys_as_in_a_real_lab(sandbox_base: Base, tmp_path: Path) -> None:
    paths = sandbox_base.paths
    lab_mod.down(paths)
    lab_mod.up(paths, host_keys="strict")
    node = ProxmoxTransport(load_inventory(paths.inventory).host("node1"), poll_interval=0.1)
    try:
        assert lab_mod.status(paths)["host_keys"] == "strict"
        with pytest.raises(LabguideError, match="made with host keys 'strict'"):
            lab_mod.up(paths, host_keys="ca")
        # the start VMs are known, by their own keys, and nothing else is: no CA anywhere
        known = paths.known_hosts.read_text()
        assert "@cert-authority" not in known and not paths.host_ca.exists()
        entries = [ln for ln in known.splitlines() if ln and not ln.startswith("#")]
        assert entries == [f"{vm.name},{vm.ip} {_guest_key(paths, vm.vmid)}" for vm in START_VMS]
        async with await connect(paths, CLIENT.ip) as conn:
            assert await sh(conn, "cat ~/.ssh/known_hosts") == known
            await sh(conn, "ssh -o BatchMode=yes ubuntu@l4lb-1 true")  # the chapter's scp path

        # each start VM printed its key's fingerprint on its console at its first boot
        for vm in START_VMS:
            assert console_fingerprint(paths, vm.ip) == _fingerprint(_guest_key(paths, vm.vmid))
        first = await _clone_l4lb2(paths, node)
        await _check_made_in_the_guest(paths, first, tmp_path)
        assert console_fingerprint(paths, L4LB2_IP) == _fingerprint(first)  # and the clone
        blob = first.split()[1]
        assert blob not in paths.known_hosts.read_text() and L4LB2_IP not in known
        fingerprint = asyncssh.import_public_key(first).get_fingerprint("sha256")
        l4lb2 = load_inventory(paths.inventory).host("l4lb-2")
        with pytest.raises(HostError) as err:
            await SshTransport(l4lb2).connect()
        assert f"unknown host key for {L4LB2_IP}: ED25519 {fingerprint} is not in" in str(
            err.value)
        async with await connect(paths, CLIENT.ip) as conn:
            assert blob not in await sh(conn, "cat ~/.ssh/known_hosts")
            res = await conn.run("ssh -o BatchMode=yes ubuntu@l4lb-2 true", check=False)
            assert res.exit_status == 255
            assert "Host key verification failed." in str(res.stderr)

        # the reader accepts it (recorded in the inventory's known_hosts) ...
        accepting = SshTransport(l4lb2, accept_new_host_keys=True)
        await accepting.connect()
        await accepting.close()
        assert blob in paths.known_hosts.read_text()

        # ... then it is destroyed and cloned again: a new instance, new keys, and labguide
        # refuses the changed key with the line that removes the old one
        status, lines = await _qm(node, DESTROY)
        assert status == 0, lines
        second = await _clone_l4lb2(paths, node)
        assert second != first
        assert console_fingerprint(paths, L4LB2_IP) == _fingerprint(second)  # a new console
        with pytest.raises(HostError) as err:
            await SshTransport(l4lb2, accept_new_host_keys=True).connect()
        assert f"host key CHANGED for {L4LB2_IP}" in str(err.value)
        assert err.value.hint == f"if the change is expected: ssh-keygen -R {L4LB2_IP} -f " \
                                 f"{paths.known_hosts}"
    finally:
        await _qm(node, DESTROY)
        await node.close()
        NspawnMachines(paths).forget(L4LB2_VMID)
        lab_mod.down(paths)
        sshkeys.ensure_lab_keys(paths)  # what sandbox_base gave the session
        network.ensure_bridge(paths.bridge_record)
        firewall.install(paths.firewall_record)
    assert node1.emulator_pid(paths) is None
