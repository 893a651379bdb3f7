"""An inventory file written from what `labguide init` learned (the format of inventory.py).
Text only: a secret never goes in it, only the path of the 0600 file that holds it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labguide.tomlloc import toml_string


@dataclass(frozen=True)
class ProxmoxAnswers:
    address: str
    node: str
    token_id: str
    token_secret_file: Path
    port: int = 8006
    ca: Path | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class LabAnswers:
    lab_id: str
    user: str
    identity_file: Path
    known_hosts: Path
    #: SSH hosts: name → address.
    hosts: Mapping[str, str]
    proxmox: Mapping[str, ProxmoxAnswers] = field(default_factory=dict)
    #: Variables that differ from the chapter's defaults.
    vars: Mapping[str, str] = field(default_factory=dict)


def _path(path: Path, base: Path) -> str:
    return toml_string(os.path.relpath(path, base) if path.is_absolute() else str(path))


def _proxmox(name: str, p: ProxmoxAnswers, base: Path) -> list[str]:
    lines = [f"[hosts.{name}]", 'transport = "proxmox"', f"address = {toml_string(p.address)}",
             f"[hosts.{name}.proxmox]", f"node = {toml_string(p.node)}",
             f"token_id = {toml_string(p.token_id)}",
             f"token_secret_file = {_path(p.token_secret_file, base)}  # mode 0600"]
    if p.port != 8006:
        lines.append(f"port = {p.port}")
    if p.ca is not None:
        lines.append(f"ca = {_path(p.ca, base)}")
    if p.fingerprint:
        lines.append(f"fingerprint = {toml_string(p.fingerprint)}")
    return [*lines, ""]


def inventory_toml(a: LabAnswers, base: Path) -> str:
    """The inventory; `base` is its folder (paths are written relative to it)."""
    lines = ["# Written by `labguide init`. Paths are relative to this file; secrets are in",
             "# the files named here (mode 0600), never in this one.", "",
             "[lab]", f"id = {toml_string(a.lab_id)}", "",
             "[defaults]", f"user = {toml_string(a.user)}",
             f"identity_file = {_path(a.identity_file, base)}",
             f"known_hosts = {_path(a.known_hosts, base)}", ""]
    if a.vars:
        lines += ["[vars]", *(f"{k} = {toml_string(v)}" for k, v in a.vars.items()), ""]
    for name, p in a.proxmox.items():
        lines += _proxmox(name, p, base)
    for name, address in a.hosts.items():
        lines += [f"[hosts.{name}]", f"address = {toml_string(address)}", ""]
    return "\n".join(lines)
