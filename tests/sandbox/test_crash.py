"""`lab down` from the lab's records: after a clean `up`, and after `up` is killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_helpers import Base, leftovers, phase_spans

from labguide.sandbox import lab as lab_mod
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.vmrecord import STOP_MARK, VmRecord

pytestmark = pytest.mark.sandbox


def _up_process() -> subprocess.Popen[bytes]:
    """`labguide lab up`, its output a pipe (as in CI's logs)."""
    return subprocess.Popen([sys.executable, "-m", "labguide", "lab", "up"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _check_phases(out: str) -> None:
    """Every phase's start line comes before its end line, in `up`'s order; plain text."""
    assert "\x1b" not in out
    spans = phase_spans(out.splitlines())
    order = ["images (cached)", "network: bridge lgbr0, 198.18.16.1 and .2",
             "firewall: nftables table inet labguide_sandbox",
             "SSH keys (host keys 'strict')", "disks for 4 VM(s)",
             "start 4 VM(s) through node1's API", "wait for sshd, nginx and HAProxy",
             "known_hosts: the start VMs' own host keys",
             "log in to each VM (host keys checked)"]
    for title in order:
        start, end = spans[title]
        assert end is not None and start < end, (title, out)
    starts = [spans[t][0] for t in order]
    assert starts[1:] == sorted(starts[1:]), out  # the images build beside the host side


def _kill_up_half_way(paths: LabPaths) -> None:
    proc = _up_process()
    deadline = time.monotonic() + 120
    vm_dir = paths.run / "vm"
    while time.monotonic() < deadline:
        if vm_dir.exists() and any((d / "supervisor.pid").exists() for d in vm_dir.iterdir()):
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_down_after_up_and_after_crash(sandbox_base: Base) -> None:
    paths: LabPaths = sandbox_base.paths
    if lab_mod.is_up(paths):
        pytest.skip("the lab is up already (a session fixture or a person uses it)")
    lab_mod.down(paths)  # start clean (also drops the fixture's bridge; it is re-made below)

    proc = _up_process()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()
    _check_phases(out.decode())
    assert lab_mod.is_up(paths)
    lab_mod.down(paths)
    assert leftovers(paths) == []

    # kill -9 `lab up` once some VMs are booting, then `down`
    _kill_up_half_way(paths)
    assert leftovers(paths) != []  # it did leave things behind
    lab_mod.down(paths)
    assert leftovers(paths) == []

    # kill -9 `lab up` half-way, then `up` again with no `down` in between: it works (its
    # boot check logs in to every VM), and one `down` still removes everything
    _kill_up_half_way(paths)
    proc = _up_process()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()
    assert b"log in to each VM" in out
    lab_mod.down(paths)
    assert leftovers(paths) == []

    # the session's other tests expect the bridge and keys of sandbox_base back
    from labguide.sandbox import firewall, network, sshkeys

    sshkeys.ensure_lab_keys(paths)
    network.ensure_bridge(paths.bridge_record)
    firewall.install(paths.firewall_record)


def test_a_supervisor_started_after_its_stop_boots_nothing(tmp_path: Path) -> None:
    """`up` killed between spawning a VM's supervisor and its pid file: `down` could not find
    the supervisor, so the stop mark it left must keep the late supervisor from booting (the
    crash test above met this race once: a supervisor outlived `down`)."""
    run_dir = tmp_path / "vm" / "901"
    VmRecord(vmid=901, name="late", ip_cidr="198.18.16.250/24", gateway=None,
             netns="lg-late-test", veth="lgv901", machine="lg-late-test",
             root=str(run_dir / "root"), lowers=(), upper="", work="", repo="",
             host_key="", host_cert="", authorized_keys="", host_keys="strict").save(run_dir)
    (run_dir / STOP_MARK).touch()
    res = subprocess.run([sys.executable, "-m", "labguide.sandbox.supervisor", str(run_dir)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "late was stopped before it booted: nothing started" in res.stdout + res.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [STOP_MARK, "vm.json"]
