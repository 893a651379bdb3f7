"""The lab's SSH identity: the user key, and the guests' host keys in the lab's two modes.

- "ca": the lab has a host CA; each VM's host key is made on the host, signed for the VM's
  name and address, and put into the guest at every start; known_hosts trusts the CA.
- "strict" (a real lab): each guest makes its own keys at its first boot; known_hosts holds
  the plain keys of the start VMs, read from their trees. No CA anywhere.

Files only; nothing here connects anywhere. Which mode a lab has: settings.py.
"""

from __future__ import annotations

from pathlib import Path

from labguide.errors import Location
from labguide.sandbox import settings
from labguide.sandbox.guest_files import GuestPathError, GuestTree
from labguide.sandbox.labfile import current_lab
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.proc import run
from labguide.sandbox.topology import PREFIX

KEY_COMMENT = "labguide-sandbox"
UBUNTU_SSH = "home/ubuntu/.ssh"
GUEST_HOST_KEY = "etc/ssh/ssh_host_ed25519_key"
#: "ca" only: tells the guest's sshd to present the certificate the host signed.
HOST_CERT_DROPIN = "etc/ssh/sshd_config.d/60-labguide-host-ca.conf"
HOST_CERT_CONFIG = (f"# labguide sandbox, host keys \"ca\": the lab's host CA signed this key.\n"
                    f"HostCertificate /{GUEST_HOST_KEY}-cert.pub\n")


def _keygen(path: Path, comment: str) -> None:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    path.chmod(0o600)


def ensure_lab_keys(paths: LabPaths) -> None:
    """The user key (id_ed25519) and, with host keys "ca", the host CA and the known_hosts
    that trusts it; created once, kept until down. With "strict", known_hosts is left to
    `lab up` (the start VMs' own keys), and made empty if missing."""
    d = paths.ssh_dir
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o700)
    if not paths.identity_file.exists():
        _keygen(paths.identity_file, f"ubuntu@{KEY_COMMENT}")
    if settings.current(paths).host_keys == "ca":
        if not paths.host_ca.exists():
            _keygen(paths.host_ca, f"host-ca@{KEY_COMMENT}")
        paths.known_hosts.write_text(known_hosts_text(paths))
    elif not paths.known_hosts.exists():
        paths.known_hosts.write_text("")
    paths.known_hosts.chmod(0o644)


def known_hosts_text(paths: LabPaths) -> str:
    """One @cert-authority line for every lab address and name: clones are trusted too."""
    ca = Path(str(paths.host_ca) + ".pub").read_text().strip()
    names = current_lab(paths).host_addresses  # the lab's, the chapter's new VMs' too
    patterns = ",".join([f"{PREFIX}*", *sorted(names)])
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
    """Host keys "ca": the host key, its certificate (and sshd's setting that presents it)
    and the lab's authorized key, into a guest tree (never through a link the guest left
    there: guest_files.py)."""
    for src, dst, mode in (
        (key, "ssh_host_ed25519_key", 0o600),
        (Path(str(key) + ".pub"), "ssh_host_ed25519_key.pub", 0o644),
        (cert, "ssh_host_ed25519_key-cert.pub", 0o644),
    ):
        tree.write(f"etc/ssh/{dst}", src.read_bytes(), mode)
    tree.write(HOST_CERT_DROPIN, HOST_CERT_CONFIG.encode(), 0o644)
    install_authorized_keys(tree, authorized_keys)


def install_authorized_keys(tree: GuestTree, authorized_keys: str) -> None:
    """The lab's key as the only authorized key of the guest's ubuntu user (what Proxmox's
    cloud-init `sshkeys` option does in a real lab)."""
    uid, gid = tree.user_ids("ubuntu")
    tree.make_dir(UBUNTU_SSH, 0o700, uid, gid)
    tree.write(f"{UBUNTU_SSH}/authorized_keys", authorized_keys.encode(), 0o600, uid, gid)


def install_client_identity(paths: LabPaths, tree: GuestTree, uid: int, gid: int) -> None:
    """Give the guest's ubuntu user the lab key (the client VM: scp, ssh)."""
    tree.make_dir(UBUNTU_SSH, 0o700, uid, gid)
    for src, dst, mode in (
        (paths.identity_file, "id_ed25519", 0o600),
        (Path(str(paths.identity_file) + ".pub"), "id_ed25519.pub", 0o644),
    ):
        tree.write(f"{UBUNTU_SSH}/{dst}", src.read_bytes(), mode, uid, gid)


def install_known_hosts(tree: GuestTree, text: str, uid: int, gid: int) -> None:
    """The guest's ubuntu user's known_hosts (the client's own ssh and scp check it)."""
    tree.make_dir(UBUNTU_SSH, 0o700, uid, gid)
    tree.write(f"{UBUNTU_SSH}/known_hosts", text.encode(), 0o644, uid, gid)


def drop_host_keys(tree: GuestTree) -> None:
    """Delete the host keys a new disk copied from its source: a clone is a new instance
    and makes its own at first boot (cloud-init's `ssh_deletekeys`)."""
    for name in tree.names("etc/ssh"):
        if name.startswith("ssh_host_"):
            tree.remove(f"etc/ssh/{name}")


def guest_host_key(tree: GuestTree) -> str:
    """The guest's own ed25519 host key (`ssh-ed25519 BASE64`), read from its tree and
    parsed: whatever else the file holds never reaches a known_hosts."""
    # imported here: every VM's supervisor imports this module, and asyncssh is most of its
    # start-up (0.14 of 0.18 s of CPU, four supervisors at once on each `lab up`)
    import asyncssh

    rel = GUEST_HOST_KEY + ".pub"
    raw = tree.read(rel, limit=4096)
    try:
        lines = [ln for ln in raw.decode("ascii").splitlines() if ln.strip()]
        if len(lines) != 1:
            raise ValueError(f"{len(lines)} lines")
        key = asyncssh.import_public_key(lines[0])
        if key.get_algorithm() != "ssh-ed25519":
            raise ValueError(f"a {key.get_algorithm()} key")
    except (UnicodeDecodeError, ValueError, asyncssh.KeyImportError) as exc:
        raise GuestPathError(f"{tree.vm}: /{rel} is not one ed25519 public key ({exc})",
                             Location(file=tree.root / rel, host=tree.vm),
                             hint="the guest makes it at its first boot "
                                  "(labguide-ssh-hostkeys.service)") from None
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {blob}"
