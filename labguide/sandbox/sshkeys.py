"""The lab's SSH identity: the user key, the host CA, per-VM host keys and their certificates,
and the known_hosts that trusts the CA. Files only; nothing here connects anywhere."""

from __future__ import annotations

from pathlib import Path

from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.proc import run
from labguide.sandbox.topology import HOST_ADDRESSES, PREFIX

KEY_COMMENT = "labguide-sandbox"
UBUNTU_SSH = "home/ubuntu/.ssh"


def _keygen(path: Path, comment: str) -> None:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    path.chmod(0o600)


def ensure_lab_keys(paths: LabPaths) -> None:
    """The user key (id_ed25519), the host CA and known_hosts; created once, kept until down."""
    d = paths.ssh_dir
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o700)
    if not paths.identity_file.exists():
        _keygen(paths.identity_file, f"ubuntu@{KEY_COMMENT}")
    if not paths.host_ca.exists():
        _keygen(paths.host_ca, f"host-ca@{KEY_COMMENT}")
    paths.known_hosts.write_text(known_hosts_text(paths))
    paths.known_hosts.chmod(0o644)


def known_hosts_text(paths: LabPaths) -> str:
    """One @cert-authority line for every lab address and name: clones are trusted too."""
    ca = Path(str(paths.host_ca) + ".pub").read_text().strip()
    patterns = ",".join([f"{PREFIX}*", *sorted(HOST_ADDRESSES)])
    return f"@cert-authority {patterns} {ca}\n"


def user_public_key(paths: LabPaths) -> str:
    return Path(str(paths.identity_file) + ".pub").read_text()


def ensure_host_key(key_dir: Path) -> Path:
    """A VM's own host key (kept beside its disk, not in the guest image)."""
    key_dir.mkdir(parents=True, exist_ok=True)
    key = key_dir / "ssh_host_ed25519_key"
    if not key.exists():
        _keygen(key, "root@labguide-vm")
    return key


def sign_host_key(paths: LabPaths, key: Path, name: str, ip: str) -> Path:
    """Certify `key` for the VM's name and address with the lab's host CA; returns the cert."""
    cert = Path(str(key) + "-cert.pub")
    if cert.exists():
        cert.unlink()
    run([
        "ssh-keygen", "-q", "-s", str(paths.host_ca), "-h", "-I", f"labguide-{name}",
        "-n", f"{name},{ip}", "-V", "-5m:+3650d", str(key) + ".pub",
    ])
    return cert


def install_guest_ssh(tree: GuestTree, key: Path, cert: Path, authorized_keys: str) -> None:
    """Put the host key, its certificate and the lab's authorized key into a guest tree
    (never through a link the guest left there: guest_files.py)."""
    for src, dst, mode in (
        (key, "ssh_host_ed25519_key", 0o600),
        (Path(str(key) + ".pub"), "ssh_host_ed25519_key.pub", 0o644),
        (cert, "ssh_host_ed25519_key-cert.pub", 0o644),
    ):
        tree.write(f"etc/ssh/{dst}", src.read_bytes(), mode)
    install_authorized_keys(tree, authorized_keys)


def install_authorized_keys(tree: GuestTree, authorized_keys: str) -> None:
    """The lab's key as the only authorized key of the guest's ubuntu user."""
    uid, gid = tree.user_ids("ubuntu")
    tree.make_dir(UBUNTU_SSH, 0o700, uid, gid)
    tree.write(f"{UBUNTU_SSH}/authorized_keys", authorized_keys.encode(), 0o600, uid, gid)


def install_client_identity(paths: LabPaths, tree: GuestTree, uid: int, gid: int) -> None:
    """Give the guest's ubuntu user the lab key and known_hosts (the client VM: scp, ssh)."""
    tree.make_dir(UBUNTU_SSH, 0o700, uid, gid)
    for src, dst, mode in (
        (paths.identity_file, "id_ed25519", 0o600),
        (Path(str(paths.identity_file) + ".pub"), "id_ed25519.pub", 0o644),
        (paths.known_hosts, "known_hosts", 0o644),
    ):
        tree.write(f"{UBUNTU_SSH}/{dst}", src.read_bytes(), mode, uid, gid)
