"""Writes the lab's inventory.toml (the format of labguide/inventory.py). Text only, no secrets:
the Proxmox token's secret stays in its 0600 file, named here by path."""

from __future__ import annotations

import os
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from labguide.atomic import write_atomic
from labguide.sandbox.labspec import LabSpec
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import NODE1_IP
from labguide.tomlloc import toml_string


@dataclass(frozen=True)
class ProxmoxAccess:
    """How node1's API is reached: the emulator's CA and token (the secret is in a file)."""

    url: str
    ca: Path
    token_id: str
    token_secret_file: Path


_q = toml_string


def _rel(path: Path, base: Path) -> str:
    return os.path.relpath(path, base)


def lab_identity(paths: LabPaths, *, new: bool) -> str:
    """This lab's identity: kept while the lab keeps its disks, new when they are new."""
    if not new:
        try:
            with open(paths.inventory, "rb") as fh:
                lab = tomllib.load(fh).get("lab", {})
            if isinstance(lab, dict) and isinstance(lab.get("id"), str) and lab["id"]:
                return str(lab["id"])
        except (OSError, tomllib.TOMLDecodeError):
            pass
    return f"sandbox-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"


def _value(value: str | int) -> str:
    return str(value) if isinstance(value, int) else _q(value)


def inventory_text(paths: LabPaths, proxmox: ProxmoxAccess | None, lab_id: str,
                   lab: LabSpec) -> str:
    """The inventory of `lab` (its lab file's VMs and vars) as `lab up` writes it."""
    base = paths.inventory.parent
    lines = [
        "# The sandbox lab's inventory, written by `labguide lab up`. Paths are relative to",
        "# this file. Removed by `labguide lab down`.",
        "",
        "[lab]",
        "# this lab's identity: saved run results are tied to it (a new lab, new results)",
        f"id = {_q(lab_id)}",
        "",
        "[defaults]",
        'user = "ubuntu"',
        f"identity_file = {_q(_rel(paths.identity_file, base))}",
        f"known_hosts = {_q(_rel(paths.known_hosts, base))}",
        "",
        "[vars]",
        *(f"{name} = {_value(value)}" for name, value in lab.vars.items()),
        "",
    ]
    if proxmox is not None:
        lines += [
            "[hosts.node1]",
            'transport = "proxmox"',
            f"address = {_q(NODE1_IP)}",
            "[hosts.node1.proxmox]",
            'node = "node1"',
            f"token_id = {_q(proxmox.token_id)}",
            f"token_secret_file = {_q(_rel(proxmox.token_secret_file, base))}",
            f"ca = {_q(_rel(proxmox.ca, base))}",
            "",
        ]
    for vm in (*lab.vms, *lab.created):
        lines += [f"[hosts.{vm.name}]", f"address = {_q(vm.ip)}", ""]
    return "\n".join(lines)


def write_inventory(paths: LabPaths, proxmox: ProxmoxAccess | None, lab_id: str,
                    lab: LabSpec) -> Path:
    write_atomic(paths.inventory, inventory_text(paths, proxmox, lab_id, lab), mode=0o644)
    return paths.inventory
