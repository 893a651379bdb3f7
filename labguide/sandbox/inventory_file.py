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
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import (
    GATEWAY,
    L4LB2_IP,
    L4LB2_NAME,
    L4LB2_VMID,
    NODE1_IP,
    START_VMS,
    TEMPLATE_VMID,
    VIP,
    VIP2,
)
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


def inventory_text(paths: LabPaths, proxmox: ProxmoxAccess | None, lab_id: str) -> str:
    base = paths.inventory.parent
    by_name = {vm.name: vm for vm in START_VMS}
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
        f"VIP = {_q(VIP)}",
        f"VIP2 = {_q(VIP2)}",
        f"GATEWAY = {_q(GATEWAY)}",
        f"L4LB1_IP = {_q(by_name['l4lb-1'].ip)}",
        f"L4LB2_IP = {_q(L4LB2_IP)}",
        f"WEB1_IP = {_q(by_name['web-1'].ip)}",
        f"WEB2_IP = {_q(by_name['web-2'].ip)}",
        f"CLIENT_IP = {_q(by_name['client'].ip)}",
        f"TEMPLATE_VMID = {TEMPLATE_VMID}",
        f"L4LB2_VMID = {L4LB2_VMID}",
        f"L4LB2_NAME = {_q(L4LB2_NAME)}",
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
    for vm in START_VMS:
        lines += [f"[hosts.{vm.name}]", f"address = {_q(vm.ip)}", ""]
    lines += [f"[hosts.{L4LB2_NAME}]", f"address = {_q(L4LB2_IP)}", ""]
    return "\n".join(lines)


def write_inventory(paths: LabPaths, proxmox: ProxmoxAccess | None, lab_id: str) -> Path:
    write_atomic(paths.inventory, inventory_text(paths, proxmox, lab_id), mode=0o644)
    return paths.inventory
