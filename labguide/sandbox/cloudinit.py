"""The `cloudinit` layer over every VM, as cloud-init does on a Proxmox clone: with host keys
"strict", the template has no SSH host keys and a first-boot unit makes the guest's own before
sshd starts; sshd's drop-in says which keys it offers. Plain files, written, not installed."""

from __future__ import annotations

import hashlib
import os
import shutil

from labguide.sandbox.paths import LabPaths
from labguide.sandbox.progress import Reporter
from labguide.sandbox.ready import mark_ready

SSHD_DROPIN = """\
# labguide sandbox: key login only, with the guest's ed25519 host key.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

#: The template's stand-in for cloud-init's ssh module (`ssh_deletekeys`, `ssh_genkeytypes`):
#: the image has no host keys, and a guest's first boot makes its own before sshd starts and
#: prints their fingerprints on its console between the lines cloud-init writes there, where a
#: reader compares them with what ssh asks (`labguide lab console VM`, as `qm terminal`). A
#: clone's copied keys are deleted when its disk is made (machines.py), as a new instance-id
#: makes cloud-init do. With host keys "ca" the host puts a key there first: nothing to do.
#: It makes the one key sshd offers (the drop-in's HostKey): cloud-init's default also makes
#: RSA and ECDSA keys, which sshd here would never present, and RSA's 3072 bits were most of
#: a boot (0.85-1.1 s of 1.3 s per VM, four VMs on two cores at each `lab up`).
HOSTKEYS_UNIT_NAME = "labguide-ssh-hostkeys.service"
HOSTKEYS_UNIT = """\
[Unit]
Description=SSH host keys of a new instance (what cloud-init does at a clone's first boot)
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStartPost=/bin/sh -c 'echo "-----BEGIN SSH HOST KEY FINGERPRINTS-----"; \\
  for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$$k"; done; \\
  echo "-----END SSH HOST KEY FINGERPRINTS-----"'
StandardOutput=journal+console

[Install]
WantedBy=ssh.service
"""
#: The layer over every VM's disk that holds the unit above (and sshd's drop-in, which older
#: cached base images still carry with a HostCertificate line). Named by its content: a cache
#: built before a change of either keeps its old layer (stopped VMs' disks still name it) and
#: gets the new one beside it.
CLOUDINIT_LAYER = "cloudinit-" + hashlib.sha256(
    (HOSTKEYS_UNIT + SSHD_DROPIN).encode()).hexdigest()[:12]


def build_cloudinit_layer(paths: LabPaths, rep: Reporter) -> None:
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
    mark_ready(tmp)
    if layer.exists():
        shutil.rmtree(layer)
    tmp.rename(layer)
    rep.note(f"layer {CLOUDINIT_LAYER} written")


