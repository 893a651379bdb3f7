"""GuestTree on a real directory tree: what a guest (real root) may leave in its tree never
leads the host's reads and writes outside it. Fast: no lab, no VM."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labguide.sandbox.guest_files import GuestPathError, GuestTree


@pytest.fixture
def tree(tmp_path: Path) -> tuple[GuestTree, Path]:
    root = tmp_path / "guest"
    (root / "etc/ssh").mkdir(parents=True)
    (root / "home/ubuntu").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n"
                                     "ubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n")
    host = tmp_path / "host-file"
    host.write_text("the host's own\n")
    return GuestTree(root, "VM 990 (sbt)"), host


def test_writes_reads_and_owners(tree: tuple[GuestTree, Path]) -> None:
    t, _ = tree
    t.make_dir("home/ubuntu/.ssh", 0o700, 1000, 1000)
    t.write("home/ubuntu/.ssh/authorized_keys", b"key\n", 0o600, 1000, 1000)
    st = (t.root / "home/ubuntu/.ssh/authorized_keys").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1000, 1000)
    st = (t.root / "home/ubuntu/.ssh").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, 1000)
    assert t.read("home/ubuntu/.ssh/authorized_keys") == b"key\n"
    t.write("home/ubuntu/.ssh/authorized_keys", b"new\n", 0o600)  # replaced
    assert t.read("home/ubuntu/.ssh/authorized_keys") == b"new\n"
    assert t.user_ids("ubuntu") == (1000, 1000)
    assert os.listdir(t.root / "home/ubuntu/.ssh") == ["authorized_keys"]  # no temp left


@pytest.mark.parametrize("link, target_is_dir, path", [
    ("home/ubuntu/.ssh/authorized_keys", False, "home/ubuntu/.ssh/authorized_keys"),
    ("etc/hostname", False, "etc/hostname"),
    ("home/ubuntu/.ssh", True, "home/ubuntu/.ssh/authorized_keys"),
    ("etc/ssh", True, "etc/ssh/ssh_host_ed25519_key"),
    ("home", True, "home/ubuntu/.ssh/authorized_keys"),
])
def test_a_link_anywhere_is_refused(tree: tuple[GuestTree, Path], link: str,
                                    target_is_dir: bool, path: str) -> None:
    t, host = tree
    outside = host.parent / "host-dir"
    outside.mkdir()
    (outside / "ubuntu").mkdir()
    (t.root / "home/ubuntu/.ssh").mkdir()
    target = t.root / link
    if target.is_dir():
        os.rename(target, str(target) + ".old")
    target.unlink(missing_ok=True)
    target.symlink_to(outside if target_is_dir else host)
    before = sorted(str(p) for p in outside.rglob("*"))
    host_stat = (host.stat().st_mode, host.stat().st_uid, outside.stat().st_mode)
    with pytest.raises(GuestPathError) as err:
        if path.startswith("home/"):
            t.make_dir("home/ubuntu/.ssh", 0o700, 1000, 1000)
        t.write(path, b"lab key\n", 0o600, 1000, 1000)
    assert "VM 990 (sbt)" in str(err.value) and "symbolic link" in str(err.value)
    assert f"/{link}" in str(err.value)
    assert host.read_text() == "the host's own\n"
    assert (host.stat().st_mode, host.stat().st_uid, outside.stat().st_mode) == host_stat
    assert sorted(str(p) for p in outside.rglob("*")) == before
    with pytest.raises(GuestPathError):
        t.read(path)


def test_reads_refuse_links_fifos_and_huge_files(tree: tuple[GuestTree, Path]) -> None:
    t, host = tree
    (t.root / "etc/ssh/ssh_host_ed25519_key.pub").symlink_to(host)
    with pytest.raises(GuestPathError, match="symbolic link"):
        t.read("etc/ssh/ssh_host_ed25519_key.pub")
    assert not t.exists("etc/ssh/ssh_host_ed25519_key.pub")
    os.mkfifo(t.root / "etc/fifo")
    with pytest.raises(GuestPathError, match="not a regular file"):
        t.read("etc/fifo")  # and does not hang on open
    with pytest.raises(GuestPathError, match="not a regular file"):
        t.write("etc/fifo", b"x")
    (t.root / "etc/big").write_bytes(b"x" * 100)
    with pytest.raises(GuestPathError, match="larger than 10 bytes"):
        t.read("etc/big", limit=10)
    with pytest.raises(ValueError):
        t.read("etc/../../host-file")


def test_remove_takes_the_link_not_its_target(tree: tuple[GuestTree, Path]) -> None:
    t, host = tree
    (t.root / "etc/ssh/ssh_host_ed25519_key").symlink_to(host)
    t.remove("etc/ssh/ssh_host_ed25519_key")
    t.remove("etc/ssh/absent")
    assert host.exists() and t.names("etc/ssh") == []
    (t.root / "etc/ssh").rmdir()
    (t.root / "etc/ssh").symlink_to(host.parent)
    with pytest.raises(GuestPathError):
        t.remove("etc/ssh/host-file")
    assert host.exists() and t.names("etc/ssh") == []
