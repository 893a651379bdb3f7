"""An inventory host's `[hosts.NAME.proxmox]` table: how to reach a Proxmox VE node's API
(node, port, an API token or a user, where their secrets are, the TLS check). Reading and
checking the table only: inventory.py reads the file, transports/proxmox.py connects.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _

PROXMOX_KEYS = {
    "node", "port", "token_id", "token_secret_env", "token_secret_file", "user",
    "password_env", "password_file", "ca", "fingerprint", "verify_tls",
}
TOKEN_ID = re.compile(r"^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ProxmoxSettings:
    """How to reach a Proxmox VE node's API. Secrets are never stored here, only where they are."""

    node: str
    port: int = 8006
    token_id: str | None = None
    token_secret_env: str | None = None
    token_secret_file: Path | None = None
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    ca: Path | None = None
    fingerprint: str | None = None
    verify_tls: bool = True


def check_login(spec: dict[str, Any], where: Location) -> None:
    """An API token (with where its secret is) or a user for a ticket login."""
    if not spec.get("token_id") and not spec.get("user"):
        raise LabguideError(_("needs token_id (API token) or user (ticket login)"), where)
    if spec.get("token_id"):
        if not TOKEN_ID.match(spec["token_id"]):
            raise LabguideError(_("token_id must look like USER@REALM!NAME, not {value!r}"
                                  ).format(value=spec["token_id"]), where)
        if not spec.get("token_secret_env") and not spec.get("token_secret_file"):
            raise LabguideError(_("token_id needs token_secret_env or token_secret_file"),
                                where, hint=_("the secret never goes in the inventory itself"))


def proxmox_settings(spec: Any, host: str, base: Path, path: Path,
                     line: int | None) -> ProxmoxSettings:
    """The table of `host` (at `line` of the inventory `path`; paths relative to `base`)."""
    key = f"hosts.{host}.proxmox"
    where = Location(file=path, line=line, key=key)
    if not isinstance(spec, dict) or not spec:
        raise LabguideError(_("host {host} uses the proxmox transport but has no [{key}] table"
                              ).format(host=host, key=key), Location(file=path, key=key))
    unknown = set(spec) - PROXMOX_KEYS
    if unknown:
        raise LabguideError(_("unknown keys {keys}").format(keys=sorted(unknown)), where,
                            hint=_("known keys: {keys}").format(
                                keys=", ".join(sorted(PROXMOX_KEYS))))
    node = spec.get("node")
    if not isinstance(node, str) or not node:
        raise LabguideError(_("missing node (the Proxmox node's name, e.g. \"node1\")"), where)
    for skey, sval in spec.items():
        if skey not in ("port", "verify_tls") and not isinstance(sval, str):
            raise LabguideError(_("{key} must be a string").format(key=skey), where)
    check_login(spec, where)
    verify = spec.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise LabguideError(_("verify_tls must be true or false"), where)
    port = spec.get("port", 8006)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise LabguideError(_("port must be a number from 1 to 65535"), where)

    def p(k: str) -> Path | None:
        v = spec.get(k)
        return base / os.path.expanduser(v) if isinstance(v, str) else None

    return ProxmoxSettings(
        node=node, port=port, token_id=spec.get("token_id"),
        token_secret_env=spec.get("token_secret_env"), token_secret_file=p("token_secret_file"),
        user=spec.get("user"), password_env=spec.get("password_env"),
        password_file=p("password_file"), ca=p("ca"), fingerprint=spec.get("fingerprint"),
        verify_tls=verify,
    )
