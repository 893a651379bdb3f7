"""A sandbox lab's start state as data (`LabSpec`): the template VM, the VMs and their roles,
the VMs the chapter creates, what each role installs and sets up, what the chapter installs
itself. Plain frozen dataclasses and what follows from them; reading a lab file with its
located errors is labfile.py's, building images and VMs from it the rest of the sandbox's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labguide.sandbox.topology import GATEWAY

#: The tools a role may copy from labguide's own environment (by the executable's name).
TOOLS = ("k6",)


@dataclass(frozen=True)
class VmSpec:
    """One VM of the lab: running at the start (with a role) or made by the chapter."""

    vmid: int
    name: str
    ip: str
    role: str  # a role of the lab file ("" for a VM the chapter creates)

    @property
    def ipconfig0(self) -> str:
        return f"ip={self.ip}/32,gw={GATEWAY}"


@dataclass(frozen=True)
class GuestFile:
    """A file a role writes into its layer (owned by root)."""

    path: str  # absolute, inside the guest
    text: str
    mode: int = 0o644


@dataclass(frozen=True)
class RoleSpec:
    """What a role's cached layer holds over the base image, and what `lab up` waits for."""

    name: str
    packages: tuple[str, ...] = ()
    files: tuple[GuestFile, ...] = ()
    services: tuple[str, ...] = ()  # systemd units enabled in the layer (".service" implied)
    tools: tuple[str, ...] = ()  # executables copied from labguide's environment (TOOLS)
    http: bool = False  # `lab up` waits until GET /hostname on port 80 answers 200
    lab_key: bool = False  # gets the lab's SSH identity and known_hosts (the chapter's client)
    home_dirs: tuple[str, ...] = ()  # folders made under /home/ubuntu, owned by ubuntu


@dataclass(frozen=True)
class LabSpec:
    """A whole lab, as its lab file describes it."""

    id: str
    path: Path
    template_vmid: int
    template_name: str
    vms: tuple[VmSpec, ...]
    created: tuple[VmSpec, ...]
    roles: dict[str, RoleSpec]
    chapter_packages: tuple[str, ...]
    #: Values the lab's inventory gives the chapter's variables (strings or integers).
    vars: dict[str, str | int]

    @property
    def host_addresses(self) -> dict[str, str]:
        """Every name the lab's hosts may have, with its address (created VMs too)."""
        return {vm.name: vm.ip for vm in (*self.vms, *self.created)}

    @property
    def repo_packages(self) -> tuple[str, ...]:
        """What the offline repository must hold: the roles' packages and the chapter's."""
        names = {p for r in self.roles.values() for p in r.packages} | set(self.chapter_packages)
        return tuple(sorted(names))

    @property
    def used_roles(self) -> tuple[str, ...]:
        """The roles the start VMs have, in the order of the file's roles."""
        have = {vm.role for vm in self.vms}
        return tuple(r for r in self.roles if r in have)

    def layer_key(self, role: str) -> str:
        """The cache name of a role's layer: the bundled lab's keep their plain names (the
        caches built before lab files hold them); another lab's are its own."""
        return role if self.id == DEFAULT_LAB else f"{self.id}.{role}"

    def vm(self, vmid: int) -> VmSpec | None:
        return next((v for v in (*self.vms, *self.created) if v.vmid == vmid), None)


#: The lab `labguide lab up` builds when no chapter is named.
DEFAULT_LAB = "l4lb-ha"
