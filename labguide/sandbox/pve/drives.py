"""What the drive and address lines of a VM's config say: which keys are disks, a volume's
id and size, the static address of ipconfig0. Pure functions over config strings.
"""

from __future__ import annotations

import re

DRIVE = re.compile(r"^(ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|"
                   r"efidisk0|tpmstate0)$")
_SIZE = re.compile(r"(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
MiB = 1024 * 1024


def fmt_bytes(n: float) -> str:
    """A size the way PVE's task logs print it (`32.0 GiB`)."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.1f} B"


def drives(conf: dict[str, str]) -> list[tuple[str, str]]:
    """The (key, value) of every disk-like line (cdroms and cloud-init drives included)."""
    return [(k, conf[k]) for k in sorted(conf) if DRIVE.match(k)]


def is_cdrom(value: str) -> bool:
    return "media=cdrom" in value and "cloudinit" not in value


def volid(value: str) -> str:
    return value.split(",", 1)[0]


def size_bytes(value: str) -> int:
    m = _SIZE.search(value)
    return int(float(m.group(1)) * _UNITS[m.group(2)]) if m else 0


def parse_ipconfig(value: str) -> tuple[str | None, str | None]:
    """(static address or None for dhcp/none, gateway) of an ipconfigN value."""
    parts = dict(p.partition("=")[::2] for p in value.split(",") if "=" in p)
    ip = parts.get("ip")
    return (None if ip in (None, "dhcp") else ip), parts.get("gw")
