"""The emulator's VM configs: one file per VM in Proxmox's own `key: value` format, like /etc/pve.

Files live under STATE/qemu-server/<vmid>.conf and are written atomically. No HTTP, no machines.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, unquote

from labguide.proxmox_params import has_line_break

_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if c != 0x3A)  # quote() escapes the rest


def encode_text(text: str) -> str:
    """PVE's encode_text: control characters, non-ASCII and ':' are %-escaped."""
    return quote(text, safe=_SAFE)


def decode_text(text: str) -> str:
    return unquote(text)


def parse_config(raw: str) -> dict[str, str]:
    """Parse the main section of a PVE guest config (snapshots and [PENDING] are ignored)."""
    conf: dict[str, str] = {}
    description: list[str] = []
    for line in raw.split("\n"):  # as PVE: \r, U+2028… are not line breaks in these files
        if line.startswith("["):
            break
        if line.startswith("#"):
            description.append(decode_text(line[1:]))
            continue
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if sep and _KEY.match(key):
            conf[key] = value.strip()
    if description:
        conf["description"] = "\n".join(description)
    return conf


def format_config(conf: Mapping[str, str]) -> str:
    """Write a config the way PVE does: description as leading # lines, then keys sorted."""
    out: list[str] = []
    if conf.get("description"):
        out += ["#" + encode_text(line) for line in conf["description"].split("\n")]
    for key in sorted(conf):
        if key in ("description", "digest"):
            continue
        value = conf[key]
        if has_line_break(value) or has_line_break(key):
            raise ValueError(f"config value for {key} contains a line break")
        out.append(f"{key}: {value}")
    return "\n".join(out) + "\n"


def random_mac() -> str:
    """A locally administered MAC, as PVE generates (BC:24:11 is PVE 8's default prefix)."""
    tail = secrets.token_bytes(3)
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in tail)


def new_uuid() -> str:
    return str(uuid.uuid4())


class VmStore:
    """The VM config files of one emulated node. Everything here survives a restart."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.dir = self.state_dir / "qemu-server"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, vmid: int) -> Path:
        return self.dir / f"{vmid}.conf"

    def exists(self, vmid: int) -> bool:
        return self.path(vmid).is_file()

    def vmids(self) -> list[int]:
        ids = []
        for p in self.dir.glob("*.conf"):
            if p.stem.isdigit():
                ids.append(int(p.stem))
        return sorted(ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.vmids())

    def raw(self, vmid: int) -> str:
        return self.path(vmid).read_text(encoding="utf-8")

    def load(self, vmid: int) -> dict[str, str]:
        return parse_config(self.raw(vmid))

    def digest(self, vmid: int) -> str:
        return hashlib.sha1(self.raw(vmid).encode()).hexdigest()

    def write(self, vmid: int, conf: Mapping[str, str]) -> None:
        self._write_raw(vmid, format_config(conf))

    def _write_raw(self, vmid: int, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{vmid}.", suffix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path(vmid))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create(self, vmid: int, config: Mapping[str, str]) -> None:
        """Create a VM's config; refuses to overwrite one that exists (as PVE does)."""
        if self.exists(vmid):
            raise FileExistsError(f"unable to create VM {vmid}: config file already exists")
        self.write(vmid, config)

    def create_placeholder(self, vmid: int, lock: str) -> None:
        """The temporary file PVE writes while a clone runs."""
        path = self.path(vmid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"# qm{lock} temporary file\nlock: {lock}\n")

    def remove(self, vmid: int) -> None:
        self.path(vmid).unlink(missing_ok=True)


def vm_config(
    vmid: int,
    name: str,
    *,
    ip_cidr: str | None = None,
    gateway: str | None = None,
    memory: int = 2048,
    cores: int = 2,
    template: bool = False,
    onboot: bool = False,
    disk_gb: int = 32,
) -> dict[str, str]:
    """A config like one made from a cloud image in the chapters: scsi0 disk, cloud-init, agent."""
    prefix = "base" if template else "vm"
    conf = {
        "agent": "1",
        "boot": "order=scsi0",
        "cores": str(cores),
        "cpu": "x86-64-v2-AES",
        "ide2": f"local-lvm:vm-{vmid}-cloudinit,media=cdrom",
        "memory": str(memory),
        "meta": "creation-qemu=8.1.5,ctime=1714000000",
        "name": name,
        "net0": f"virtio={random_mac()},bridge=vmbr0",
        "numa": "0",
        "ostype": "l26",
        "scsi0": f"local-lvm:{prefix}-{vmid}-disk-0,iothread=1,size={disk_gb}G",
        "scsihw": "virtio-scsi-single",
        "serial0": "socket",
        "smbios1": f"uuid={new_uuid()}",
        "sockets": "1",
        "vga": "serial0",
        "vmgenid": new_uuid(),
    }
    if ip_cidr:
        conf["ipconfig0"] = f"ip={ip_cidr}" + (f",gw={gateway}" if gateway else "")
    if template:
        conf["template"] = "1"
    if onboot:
        conf["onboot"] = "1"
    return conf
