"""Checks before the lab touches the host: root, the host packages it needs. No side effects."""

from __future__ import annotations

import os
import shutil

from labguide.errors import LabguideError, Location

#: command the lab runs -> the Debian package that provides it (scripts/host-packages.txt)
HOST_TOOLS: dict[str, str] = {
    "systemd-nspawn": "systemd-container",
    "mmdebstrap": "mmdebstrap",
    "apt-ftparchive": "apt-utils",
    "ssh-keygen": "openssh-client",
    "ip": "iproute2",
    "setsid": "util-linux",
    "mount": "mount",
    "nft": "nftables",
}


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise LabguideError(
            f"`labguide lab {action}` needs root (it makes namespaces, a bridge and mounts)",
            Location(host="localhost"), hint=f"sudo labguide lab {action}",
        )


def require_tools(tools: tuple[str, ...] | None = None) -> None:
    missing = sorted({pkg for tool, pkg in HOST_TOOLS.items()
                      if (tools is None or tool in tools) and shutil.which(tool) is None})
    if missing:
        raise LabguideError(
            f"the sandbox needs these host packages: {', '.join(missing)}",
            Location(host="localhost"),
            hint=f"apt-get update && apt-get install -y {' '.join(missing)}",
        )
