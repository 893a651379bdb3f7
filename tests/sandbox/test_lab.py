"""The lab as a whole: `lab up` gives the chapter's start state, reachable with checked host
keys; status and inventory are usable by scripts; nothing leaves the lab; clear errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_helpers import connect, sh

from labguide.errors import LabguideError
from labguide.inventory import load_inventory
from labguide.sandbox import lab as lab_mod
from labguide.sandbox import network, preflight
from labguide.sandbox.labfile import default_lab
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import BRIDGE, netns_name
from labguide.sandbox.vmrecord import read_pid

pytestmark = pytest.mark.sandbox
START_VMS = default_lab().vms
IPS = {vm.name: vm.ip for vm in START_VMS}


async def test_web_through_l4lb1_from_client(lab: LabPaths) -> None:
    async with await connect(lab, IPS["client"]) as conn:
        seen = (await sh(conn, "for i in 1 2 3 4 5 6; do curl -s -m 5 "
                               f"http://{IPS['l4lb-1']}/hostname; done")).split()
        assert set(seen) == {"web-1", "web-2"}
        for web in ("web-1", "web-2"):
            assert (await sh(conn, f"curl -s -m 5 http://{IPS[web]}/hostname")).strip() == web
        # the chapter's remote-to-remote copy, from the client, host keys checked by OpenSSH
        await sh(conn, f"scp ubuntu@{IPS['l4lb-1']}:/etc/haproxy/haproxy.cfg "
                       f"ubuntu@{IPS['web-1']}:/tmp")
        await sh(conn, "test -x /usr/local/bin/k6 && test -d ~/intro-for-high-availability/k6")
    async with await connect(lab, IPS["l4lb-1"]) as conn:
        await sh(conn, "systemctl is-active haproxy")
        if not NspawnMachines(lab).disk_exists(501):  # the chapter has not started yet
            assert (await conn.run("systemctl is-active keepalived")).exit_status != 0
        assert (await sh(conn, "cat /proc/sys/net/ipv4/ip_nonlocal_bind")).strip() == "1"
        await sh(conn, "sudo -n true")


async def test_each_guest_boots_clean_in_a_cgroup_of_its_own(lab: LabPaths) -> None:
    """Guests must not share a cgroup tree: side by side, their systemd instances raced on the
    same unit directories (units failed with 219/CGROUP at boot, one lab in four under load),
    and a guest whose systemd-user-sessions failed kept /run/nologin and refused every login."""
    m = NspawnMachines(lab)
    vmids = m.running_vmids()
    trees = {}
    for vmid in vmids:
        leader = read_pid(lab.vm_run(vmid) / "leader.pid")
        for line in Path(f"/proc/{leader}/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                tree = line[3:].split("/payload", 1)[0]
                assert tree not in ("", "/"), f"VM {vmid} boots in the root cgroup"
                trees[vmid] = tree
    assert len(set(trees.values())) == len(vmids) >= 4, trees
    for vmid in vmids:
        rec = m.record(vmid)
        assert rec is not None
        async with await connect(lab, rec.ip_cidr.split("/")[0]) as conn:
            state = await conn.run("systemctl is-system-running --wait; "
                                   "systemctl --failed --no-legend --plain", check=False)
            assert str(state.stdout).strip() == "running", f"{rec.name}: {state.stdout}"


def test_status_json(lab: LabPaths) -> None:
    out = subprocess.run([sys.executable, "-m", "labguide.cli", "lab", "status", "--json"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip().startswith("{"):
        st = lab_mod.status(lab)  # the CLI module may not be runnable as __main__
    else:
        st = json.loads(out.stdout)
    assert {"hosts", "inventory", "proxmox"} <= set(st)
    assert {"url", "ca", "token_id", "token_secret_file"} <= set(st["proxmox"])
    assert st["inventory"] == str(lab.inventory)
    running = {h["name"] for h in st["hosts"] if h["running"]}
    assert {vm.name for vm in START_VMS} <= running
    web1 = next(h for h in st["hosts"] if h["name"] == "web-1")
    assert web1["services"].get("nginx") == "active"
    if st["proxmox"]["token_secret_file"]:
        mode = stat.S_IMODE(Path(st["proxmox"]["token_secret_file"]).stat().st_mode)
        assert mode == 0o600


def test_inventory_loads(lab: LabPaths) -> None:
    inv = load_inventory(lab.inventory)
    for vm in START_VMS:
        assert inv.host(vm.name).address == vm.ip
        assert inv.host(vm.name).user == "ubuntu"
        assert inv.host(vm.name).known_hosts == lab.known_hosts
    assert inv.host("l4lb-2").address == "198.18.16.134"
    assert inv.vars["VIP"] == "198.18.16.140" and inv.vars["VIP2"] == "198.18.16.141"
    assert inv.vars["TEMPLATE_VMID"] == "999" and inv.vars["L4LB2_VMID"] == "501"
    if "node1" in inv.hosts:
        px = inv.host("node1").proxmox
        assert px is not None and px.node == "node1" and px.token_secret_file is not None


def test_up_twice_is_harmless(lab: LabPaths) -> None:
    m = NspawnMachines(lab)
    before = {vm.vmid: (m.paths.vm_run(vm.vmid) / "supervisor.pid").read_text()
              for vm in START_VMS}
    lines: list[str] = []
    lab_mod.up(lab, say=lines.append)
    after = {vm.vmid: (m.paths.vm_run(vm.vmid) / "supervisor.pid").read_text()
             for vm in START_VMS}
    assert before == after
    assert any("start 0 VM(s)" in line for line in lines)


def test_no_route_out(lab: LabPaths) -> None:
    assert Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/forwarding").read_text().strip() == "0"
    links = json.loads(subprocess.run(["ip", "-j", "-d", "link", "show", "master", BRIDGE],
                                      capture_output=True, text=True).stdout)
    assert all(link["ifname"].startswith("lgv") for link in links)  # no uplink on the bridge
    for vm in START_VMS:
        ns = netns_name(vm.name)
        routes = subprocess.run(["ip", "-n", ns, "-j", "route"], capture_output=True,
                                text=True, check=True).stdout
        assert all(r["dst"] != "default" for r in json.loads(routes))
        # route lookup only: nothing is sent
        probe = subprocess.run(["ip", "-n", ns, "route", "get", "192.0.2.1"],
                               capture_output=True, text=True)
        assert probe.returncode != 0 and "unreachable" in probe.stderr.lower()
    # on the host, only node1's API listens on a lab address
    ss = subprocess.run(["ss", "-Htln"], capture_output=True, text=True).stdout
    lab_listeners = {ln.split()[3] for ln in ss.splitlines() if "198.18.16." in ln}
    assert lab_listeners <= {"198.18.16.2:8006"}


def test_clear_errors(lab: LabPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    # not root
    code = "from labguide.sandbox import lab; lab.up()"
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "HOME": "/tmp"})
    assert proc.returncode != 0 and "needs root" in proc.stderr
    # a missing host package is named with the command that installs it
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LabguideError) as err:
        preflight.require_tools()
    assert "systemd-container" in str(err.value) and "apt-get install" in str(err.value)
    monkeypatch.undo()
    # an address of the lab's subnet held by something else
    dummy = "lgt-sb-dummy0"
    subprocess.run(["ip", "link", "add", dummy, "type", "veth", "peer", "name", "lgt-sb-dummy1"],
                   check=True)
    try:
        subprocess.run(["ip", "addr", "add", "198.18.16.250/32", "dev", dummy], check=True)
        with pytest.raises(LabguideError) as err:
            network.check_addresses_free()
        assert dummy in str(err.value)
    finally:
        subprocess.run(["ip", "link", "del", dummy], check=True)


def test_a_lab_under_another_root_is_refused(lab: LabPaths, tmp_path: Path) -> None:
    """The bridge and node1's address exist once per machine: a second root's `up` says
    whose they are and changes nothing, the lab that is up keeps running."""
    other = LabPaths.default(tmp_path / "root")
    with pytest.raises(LabguideError, match="another sandbox lab is up on this machine: the "
                                            f"bridge {BRIDGE}, made under another lab root"):
        lab_mod.up(other)
    assert not other.lab_file.exists() and not NspawnMachines(other).recorded_vmids()
    assert lab_mod.is_up(lab) and network.bridge_is_ours() is True
    # its own lab's `up` is not refused by its own bridge and node1
    assert network.foreign_lab(lab.bridge_record, lab.pve_pidfile) is None


async def test_a_guest_that_refuses_logins_is_named(lab: LabPaths) -> None:
    """`lab up` logs in to every guest: one that answers with a banner but refuses logins
    (here /run/nologin, as a guest whose boot failed half-way keeps it) stops it, by name."""
    vm = next(v for v in START_VMS if v.name == "web-2")
    async with await connect(lab, vm.ip) as conn:
        await sh(conn, "echo 'still booting' | sudo tee /run/nologin >/dev/null")
    try:
        with pytest.raises(LabguideError) as err:
            await lab_mod._check_login(lab, vm, lambda _: None)
        assert err.value.location is not None and err.value.location.host == "web-2"
        assert "cannot log in to web-2 (198.18.16.152)" in str(err.value)
        assert "journalctl" in str(err.value.hint)
    finally:
        leader = read_pid(lab.vm_run(vm.vmid) / "leader.pid")
        subprocess.run(["nsenter", "-t", str(leader), "-a", "rm", "-f", "/run/nologin"],
                       check=True)
    warnings: list[str] = []
    await lab_mod._check_login(lab, vm, warnings.append)
    assert warnings == []
