"""NspawnMachines for real: boot a VM, SSH in with checked host keys, apt install offline,
reboot (disk survives, enabled daemons come back), clone, hard stop, and crash clean-up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from sandbox_helpers import Base, connect, own_key, sh, vm_cgroups

from labguide.errors import LabguideError
from labguide.sandbox import cgroups, settings, sshkeys
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.vmrecord import pid_alive, read_pid

pytestmark = pytest.mark.sandbox

VMID, NAME, IP = 990, "sbt-990", "198.18.16.90"


def _leftovers(m: NspawnMachines, vmid: int, name: str) -> list[str]:
    found = []
    if Path(f"/run/netns/lg-{name}").exists():
        found.append("netns")
    if subprocess.run(["ip", "link", "show", f"lgv{vmid}"], capture_output=True).returncode == 0:
        found.append("veth")
    root = m.paths.vm_run(vmid) / "root"
    if os.path.ismount(root):
        found.append("mount")
    if m.is_running(vmid):
        found.append("supervisor")
    found += vm_cgroups(vmid)
    return found


@pytest.fixture
async def machines(sandbox_base: Base) -> AsyncIterator[NspawnMachines]:
    m = NspawnMachines(sandbox_base.paths)
    yield m
    for vmid in (VMID, VMID + 1):
        await m.stop(vmid)
        m.forget(vmid)
        m.destroy_disk(vmid)


async def test_boot_ssh_apt_install_and_reboot(machines: NspawnMachines) -> None:
    m = machines
    m.create_disk(VMID, None)  # a clone of the template: the bare base image
    await m.start(VMID, NAME, f"{IP}/32", "198.18.16.1")
    assert m.is_running(VMID)
    ifaces = m.guest_interfaces(VMID)
    assert ifaces is not None
    assert any(a["ip-address"] == IP for i in ifaces for a in i["ip-addresses"])

    conn = await connect(m.paths, IP, vmid=VMID)  # a new VM: its own key, from its disk
    async with conn:
        assert (await sh(conn, "hostname")).strip() == NAME
        await sh(conn, "sudo apt update && "
                       "sudo apt install -y --no-install-recommends keepalived", timeout=300)
        await sh(conn, "test -x /usr/sbin/keepalived && systemctl is-enabled keepalived")
        conf = ("vrrp_instance VI_T { state MASTER\n interface eth0\n virtual_router_id 90\n"
                " priority 100\n virtual_ipaddress { 198.18.16.91 }\n}\n")
        await sh(conn, f"echo '{conf}' | sudo tee /etc/keepalived/keepalived.conf >/dev/null")
        await sh(conn, "sudo systemctl restart keepalived && echo kept | sudo tee /root/mark")
        await sh(conn, "sudo systemd-run --unit=sbt-by-hand sleep 600")
        await sh(conn, "systemctl is-active sbt-by-hand")
        try:
            await conn.run("sudo reboot", timeout=10)
        except (asyncssh.Error, OSError, asyncio.TimeoutError):
            pass  # the connection may drop before the command returns
    await asyncio.sleep(1.0)
    conn = await connect(m.paths, IP, timeout=60, vmid=VMID)  # the same key after a reboot
    async with conn:
        assert (await sh(conn, "sudo cat /root/mark")).strip() == "kept"  # the disk survived
        for _ in range(50):  # enabled daemons come back by themselves
            res = await conn.run("systemctl is-active keepalived", check=False)
            if str(res.stdout).strip() == "active":
                break
            await asyncio.sleep(0.2)
        assert str(res.stdout).strip() == "active"
        res = await conn.run("systemctl is-active sbt-by-hand", check=False)
        assert str(res.stdout).strip() != "active"  # started by hand: gone after reboot
    log = (m.paths.vm_run(VMID) / "console.log").read_text()
    assert "exited with status 133" in log

    await m.shutdown(VMID, timeout=30)
    assert not m.is_running(VMID)
    assert _leftovers(m, VMID, NAME) == []

    # a clone of a non-template VM carries its disk, with a host key of its own (made at
    # its first boot, as cloud-init does)
    first = own_key(m.paths, VMID)
    m.create_disk(VMID + 1, VMID)
    assert (m.disk_upper(VMID + 1) / "usr/sbin/keepalived").exists()
    await m.start(VMID + 1, NAME, f"{IP}/32", "198.18.16.1")
    try:
        async with await connect(m.paths, IP, timeout=60, vmid=VMID + 1):
            pass
        assert own_key(m.paths, VMID + 1) != first
    finally:
        await m.stop(VMID + 1)
        m.destroy_disk(VMID + 1)


async def test_unknown_host_key_is_refused(machines: NspawnMachines, tmp_path: Path) -> None:
    m = machines
    m.create_disk(VMID, None)
    await m.start(VMID, NAME, f"{IP}/32", "198.18.16.1")
    async with await connect(m.paths, IP, timeout=60, vmid=VMID):
        pass  # up, with its own key made at first boot (slow under load)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await asyncssh.connect(IP, username="ubuntu", known_hosts=str(empty),
                               client_keys=[str(m.paths.identity_file)], connect_timeout=5)


async def test_hard_stop_and_crash_cleanup(machines: NspawnMachines) -> None:
    m = machines
    m.create_disk(VMID, None)
    await m.start(VMID, NAME, f"{IP}/32", None)
    await m.stop(VMID)
    assert not m.is_running(VMID)
    assert _leftovers(m, VMID, NAME) == []

    # the supervisor dies (kill -9): nspawn, the mount and the namespace are orphaned
    await m.start(VMID, NAME, f"{IP}/32", None)
    run_dir = m.paths.vm_run(VMID)
    nspawn = read_pid(run_dir / "nspawn.pid")
    sup = read_pid(run_dir / "supervisor.pid")
    assert nspawn and sup
    assert vm_cgroups(VMID) or cgroups.host_has_systemd()  # the supervisor's own cgroups
    os.kill(sup, signal.SIGKILL)
    await asyncio.sleep(0.2)
    assert Path(f"/proc/{nspawn}").exists()
    m.cleanup(VMID)  # what `lab down` does from the records
    assert not Path(f"/proc/{nspawn}").exists() or b"nspawn" not in Path(
        f"/proc/{nspawn}/cmdline").read_bytes()
    assert _leftovers(m, VMID, NAME) == []


async def test_a_guest_orphaned_by_nspawn_dies_with_its_cgroup(machines: NspawnMachines) -> None:
    """nspawn killed under a running guest (or stopped before it knew the guest's PID 1)
    leaves the guest's systemd running on its own; the VM's cgroup still holds it, and the
    teardown kills everything in it before removing it."""
    m = machines
    m.create_disk(VMID, None)
    await m.start(VMID, NAME, f"{IP}/32", None)
    run_dir = m.paths.vm_run(VMID)
    leader, nspawn = read_pid(run_dir / "leader.pid"), read_pid(run_dir / "nspawn.pid")
    assert leader and nspawn
    os.kill(nspawn, signal.SIGKILL)
    for _ in range(300):  # the supervisor sees nspawn gone and tears the VM down
        if not m.is_running(VMID):
            break
        await asyncio.sleep(0.05)
    await m.stop(VMID)
    for _ in range(100):
        if not pid_alive(leader):
            break
        await asyncio.sleep(0.05)
    assert not pid_alive(leader), "the guest's PID 1 outlived its VM"
    assert _leftovers(m, VMID, NAME) == []


async def test_links_a_guest_plants_never_lead_the_host_out(machines: NspawnMachines,
                                                           tmp_path: Path) -> None:
    """Guests are root: a link the guest leaves where the host writes at every start
    (authorized_keys, hostname, the .ssh folder, /etc/ssh) must not make the host write,
    chmod or chown a host file. The start is refused, naming the VM and the path."""
    m = machines
    host_file = tmp_path / "host-file"
    host_file.write_text("the host's own\n")
    host_file.chmod(0o640)
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()

    def untouched() -> None:
        assert host_file.read_text() == "the host's own\n"
        st = host_file.stat()
        assert (st.st_mode & 0o777, st.st_uid) == (0o640, 0)
        assert list(host_dir.iterdir()) == []
        assert _leftovers(m, VMID, NAME) == []

    m.create_disk(VMID, None)
    await m.start(VMID, NAME, f"{IP}/32", None)
    async with await connect(m.paths, IP, vmid=VMID) as conn:  # planted as the guest's root
        await sh(conn, f"sudo ln -sf {host_file} /home/ubuntu/.ssh/authorized_keys")
    await m.shutdown(VMID, timeout=30)
    with pytest.raises(LabguideError) as err:
        await m.start(VMID, NAME, f"{IP}/32", None)
    assert f"VM {VMID} ({NAME})" in str(err.value)
    assert f"/home/ubuntu/.ssh/authorized_keys in VM {VMID}" in str(err.value)
    assert f"symbolic link (to {host_file})" in str(err.value)
    untouched()

    upper = m.disk_upper(VMID)
    (upper / "home/ubuntu/.ssh/authorized_keys").unlink()
    for link, target in (("etc/hostname", host_file), ("home/ubuntu/.ssh", host_dir),
                         ("etc/ssh", host_dir)):
        path = upper / link
        saved = path.with_name(path.name + ".saved")
        if path.exists():
            path.rename(saved)
        path.symlink_to(target)
        if link == "etc/ssh" and settings.current(m.paths).host_keys == "strict":
            # strict: the host writes nothing there; it reads the key the guest made,
            # and that read refuses the link as the writes do
            await m.start(VMID, NAME, f"{IP}/32", None)
            rec = m.record(VMID)
            assert rec is not None
            with pytest.raises(LabguideError, match=f"refusing /{link}"):
                sshkeys.guest_host_key(GuestTree(Path(rec.root), f"VM {VMID} ({NAME})"))
            await m.stop(VMID)
        else:
            with pytest.raises(LabguideError, match=f"refusing /{link}"):
                await m.start(VMID, NAME, f"{IP}/32", None)
        untouched()
        path.unlink()
        if saved.exists() or saved.is_symlink():
            saved.rename(path)


async def test_a_name_that_would_leave_its_folders_is_refused(machines: NspawnMachines) -> None:
    """A VM's name becomes host names and paths (its namespace, nspawn's propagate folder
    that teardown removes): only DNS names get that far (the emulator checks them too)."""
    m = machines
    for name in ("../../x", "a/b", "x" * 64, "", "-a", "a..b"):
        with pytest.raises(LabguideError, match="not a name the sandbox can use"):
            await m.start(VMID, name, f"{IP}/32", None)
        assert not m.paths.vm_run(VMID).exists()
