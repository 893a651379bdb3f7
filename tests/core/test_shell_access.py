"""A shell on a lab host (issue 13, item 7): `labguide ssh HOST [COMMAND]` with the
inventory's user, key and known_hosts, against a real sshd."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.inventory import Host, ProxmoxSettings
from labguide.shell_access import shell_command
from tests.conftest import Sshd


def test_a_command_runs_with_the_inventorys_key_and_known_hosts(sshd: Sshd,
                                                                tmp_path: Path) -> None:
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    res = subprocess.run([sys.executable, "-m", "labguide", "ssh", "--inventory", str(inv),
                          "box", "echo", "hello from $(hostname)", "'quoted'"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                         env={**os.environ, "HOME": str(tmp_path)})  # no ~/.ssh of ours
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "hello from $(hostname) 'quoted'"


def test_an_unknown_host_key_is_not_trusted_silently(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    argv = shell_command(sshd.host("box", known_hosts=empty), ["true"])
    res = subprocess.run(["setsid", *argv], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)  # no terminal: ssh cannot ask, so it refuses
    assert res.returncode == 255 and "Host key verification failed" in res.stderr
    assert empty.read_text() == ""


def test_no_shell_through_the_proxmox_api() -> None:
    node = Host(name="node1", address="198.18.16.2", transport="proxmox",
                proxmox=ProxmoxSettings(node="node1"))
    with pytest.raises(LabguideError) as err:
        shell_command(node)
    assert "Proxmox API" in str(err.value) and err.value.location is not None
