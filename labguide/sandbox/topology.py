"""The lab's fixed shape: bridge, addresses, VM ids and roles, and the names derived from
them. Constants and pure functions only, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from labguide.proxmox_params import is_dns_name

SUBNET = "198.18.16.0/24"
PREFIX = "198.18.16."
BRIDGE = "lgbr0"
GATEWAY = "198.18.16.1"
NODE1_IP = "198.18.16.2"
PVE_PORT = 8006
VIP = "198.18.16.140"
VIP2 = "198.18.16.141"
TEMPLATE_VMID = 999
TEMPLATE_NAME = "ubuntu-template"
L4LB2_VMID = 501
L4LB2_NAME = "l4lb-2"
L4LB2_IP = "198.18.16.134"
#: Where the offline apt repository is bind-mounted (read-only) inside every VM.
REPO_MOUNT = "/srv/labguide-repo"


@dataclass(frozen=True)
class VmSpec:
    """One VM of the chapter's start state."""

    vmid: int
    name: str
    ip: str
    role: str  # "client", "web", "lb": which cached layer sits over the base image

    @property
    def ipconfig0(self) -> str:
        return f"ip={self.ip}/32,gw={GATEWAY}"


START_VMS: tuple[VmSpec, ...] = (
    VmSpec(100, "client", "198.18.16.10", "client"),
    VmSpec(301, "web-1", "198.18.16.151", "web"),
    VmSpec(302, "web-2", "198.18.16.152", "web"),
    VmSpec(500, "l4lb-1", "198.18.16.133", "lb"),
)

#: Every name the lab's hosts may have, with its address (l4lb-2 before it exists, too).
HOST_ADDRESSES: dict[str, str] = {
    **{vm.name: vm.ip for vm in START_VMS},
    L4LB2_NAME: L4LB2_IP,
}


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
