"""The sandbox's fixed shape, the same for every lab: the bridge, its network, node1's address,
where the offline repository is mounted, and the names derived from a VM's. Constants and
pure functions only, no I/O; a lab's VMs, roles and template are its lab file's (labspec.py)."""

from __future__ import annotations

from labguide.proxmox_params import is_dns_name

SUBNET = "198.18.16.0/24"
PREFIX = "198.18.16."
BRIDGE = "lgbr0"
GATEWAY = "198.18.16.1"
NODE1_IP = "198.18.16.2"
PVE_PORT = 8006
#: Where the offline apt repository is bind-mounted (read-only) inside every VM.
REPO_MOUNT = "/srv/labguide-repo"


def is_vm_name(name: str) -> bool:
    """A name the lab may turn into host names (namespace, nspawn machine, run paths): a DNS
    name (no `/`, no `..`) of at most 63 characters (nspawn's machine names stop at 64)."""
    return len(name) <= 63 and is_dns_name(name)


def netns_name(name: str) -> str:
    """The network namespace of the VM called `name` (`lg-<name>`)."""
    return f"lg-{name}"


def veth_name(vmid: int) -> str:
    """The host end of a VM's veth pair (at most 15 characters)."""
    return f"lgv{vmid}"


def machine_name(name: str) -> str:
    return f"lg-{name}"
