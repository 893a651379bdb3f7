"""The inventory: the lab's hosts (how to reach each) and its variables, read from TOML.

Format (paths are relative to the inventory file):

    [lab]
    id = "home-lab-2026"       # optional: saved results are tied to this lab (a new lab,
                               # e.g. each sandbox `lab up`, gets a new id)

    [defaults]                 # applied to every host that does not say otherwise
    user = "ubuntu"
    identity_file = "id_ed25519"
    known_hosts = "known_hosts"

    [vars]
    VIP = "198.18.16.140"
    API_PASSWORD = { env = "LAB_PASSWORD", secret = true }   # value from the environment

    [hosts.l4lb-1]
    address = "198.18.16.133"

    [hosts.node1]
    transport = "proxmox"
    address = "198.18.16.2"
    [hosts.node1.proxmox]
    node = "node1"
    token_id = "root@pam!labguide"
    token_secret_file = "pve-token"      # 0600; or token_secret_env = "PVE_TOKEN_SECRET"
    ca = "pve-ca.pem"                    # or fingerprint = "AB:CD:..."; or verify_tls = false

Nothing in here opens a connection.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labguide.errors import ErrorGroup, LabguideError, Location
from labguide.suggest import did_you_mean

TransportName = Literal["ssh", "local", "proxmox"]
TRANSPORTS: tuple[str, ...] = ("ssh", "local", "proxmox")
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_HOST_KEYS = {
    "address", "user", "port", "identity_file", "known_hosts", "transport",
    "connect_timeout", "proxmox", "password_env",
}
_PROXMOX_KEYS = {
    "node", "port", "token_id", "token_secret_env", "token_secret_file", "user",
    "password_env", "password_file", "ca", "fingerprint", "verify_tls",
}


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


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    transport: TransportName = "ssh"
    user: str | None = None
    port: int = 22
    identity_file: Path | None = None
    known_hosts: Path | None = None
    connect_timeout: float = 10.0
    proxmox: ProxmoxSettings | None = None

    @property
    def target(self) -> str:
        """user@address:port, for messages."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.address}:{self.port}"


@dataclass(frozen=True)
class Inventory:
    hosts: Mapping[str, Host]
    vars: Mapping[str, str] = field(default_factory=dict)
    #: Values that must never be shown (masked in every output).
    secrets: frozenset[str] = frozenset()
    path: Path | None = None
    #: The lab's identity ([lab] id): run results made on another lab do not hold here.
    lab_id: str | None = None

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise LabguideError(
                f"host {name!r} is not in the inventory",
                Location(file=self.path) if self.path else Location(host=name),
                hint=did_you_mean(name, self.hosts) or f"its hosts: {', '.join(self.hosts)}",
            ) from None


def _line_of(text: str, pattern: str) -> int | None:
    """1-based line of the first line matching pattern (a regex), for located errors."""
    rx = re.compile(pattern)
    for n, line in enumerate(text.splitlines(), start=1):
        if rx.search(line):
            return n
    return None


def read_secret_file(path: Path, what: str) -> str:
    """Read a secret from a file that only its owner may read (0600 or stricter)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise LabguideError(f"cannot read {what}: {exc.strerror}", Location(file=path)) from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LabguideError(
            f"{what} is readable by others (mode {stat.S_IMODE(st.st_mode):04o})",
            Location(file=path),
            hint=f"chmod 600 {path}",
        )
    return path.read_text().strip()


def load_inventory(path: str | Path, environ: Mapping[str, str] | None = None) -> Inventory:
    """Read and validate an inventory file; every problem found is reported at once."""
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabguideError(f"cannot read inventory: {exc.strerror}", Location(file=path)) from None
    except UnicodeDecodeError:
        raise LabguideError("inventory is not UTF-8 text", Location(file=path)) from None
    return parse_inventory(text, path, env)


def parse_inventory(text: str, path: Path, env: Mapping[str, str] | None = None) -> Inventory:
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        # "at end of document" has no line number: the last line is where it ends
        line = int(m.group(1)) if m else max(1, len(text.splitlines()))
        raise LabguideError(f"not valid TOML: {exc}", Location(file=path, line=line)) from None
    errors: list[LabguideError] = []
    base = path.parent

    def err(msg: str, key: str, pattern: str | None = None, hint: str | None = None) -> None:
        line = _line_of(text, pattern) if pattern else None
        errors.append(LabguideError(msg, Location(file=path, line=line, key=key), hint))

    for key in data:
        if key not in ("lab", "defaults", "vars", "hosts"):
            err(f"unknown section {key!r} (expected lab, defaults, vars, hosts)", key,
                rf"^\[?{re.escape(key)}")

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            err(f"{name!r} must be a table", name, rf"^{re.escape(name)}\s*=")
            return {}
        return value

    lab = table("lab")
    lab_id = lab.get("id")
    if set(lab) - {"id"} or (lab_id is not None and (not isinstance(lab_id, str) or not lab_id)):
        err("[lab] takes one key: id, a non-empty string", "lab", r"^\[lab\]")
        lab_id = None
    defaults = table("defaults")
    raw_vars = table("vars")
    raw_hosts = table("hosts")

    variables: dict[str, str] = {}
    secrets: set[str] = set()
    for name, value in raw_vars.items():
        where = rf"^\s*{re.escape(name)}\s*="
        if not VAR_NAME.match(name):
            err(f"bad variable name {name!r}", f"vars.{name}", where)
            continue
        if isinstance(value, dict):
            unknown = set(value) - {"value", "env", "file", "secret"}
            if unknown:
                err(f"unknown keys {sorted(unknown)} in variable {name}", f"vars.{name}", where)
                continue
            secret = bool(value.get("secret", False))
            if "value" in value:
                resolved: Any = value["value"]
            elif "env" in value:
                resolved = env.get(str(value["env"]))
                if resolved is None:
                    err(f"variable {name}: environment variable {value['env']} is not set",
                        f"vars.{name}", where)
                    continue
            elif "file" in value:
                try:
                    resolved = read_secret_file(base / str(value["file"]), f"variable {name}")
                except LabguideError as exc:
                    errors.append(exc)
                    continue
            else:
                err(f"variable {name} needs one of value, env, file", f"vars.{name}", where)
                continue
            if secret and str(resolved):
                secrets.add(str(resolved))
            value = resolved
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            err(f"variable {name} must be a string or a number", f"vars.{name}", where)
            continue
        variables[name] = str(value)

    hosts: dict[str, Host] = {}
    for name, spec in raw_hosts.items():
        header = rf"^\s*\[hosts\.\"?{re.escape(name)}\"?\]"
        key = f"hosts.{name}"
        if not HOST_NAME.match(name):
            err(f"bad host name {name!r}", key, header)
            continue
        if not isinstance(spec, dict):
            err(f"host {name} must be a table", key, header)
            continue
        merged = {**{k: v for k, v in defaults.items() if k != "proxmox"}, **spec}
        unknown = set(merged) - _HOST_KEYS
        if unknown:
            err(f"unknown keys {sorted(unknown)} for host {name}", key, header,
                hint=f"known keys: {', '.join(sorted(_HOST_KEYS))}")
            continue
        transport = merged.get("transport", "ssh")
        if transport not in TRANSPORTS:
            err(f"host {name}: transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}",
                key, header)
            continue
        address = merged.get("address", "127.0.0.1" if transport == "local" else None)
        if not isinstance(address, str) or not address:
            err(f"host {name} has no address", key, header)
            continue
        port = merged.get("port", 8006 if transport == "proxmox" else 22)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            err(f"host {name}: port must be a number from 1 to 65535", key, header)
            continue
        timeout = merged.get("connect_timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            err(f"host {name}: connect_timeout must be a positive number", key, header)
            continue
        paths: dict[str, Path | None] = {}
        for pkey in ("identity_file", "known_hosts"):
            pval = merged.get(pkey)
            if pval is not None and not isinstance(pval, str):
                err(f"host {name}: {pkey} must be a path", key, header)
            paths[pkey] = (base / os.path.expanduser(pval)) if isinstance(pval, str) else None
        user = merged.get("user")
        if user is not None and not isinstance(user, str):
            err(f"host {name}: user must be a string", key, header)
            continue
        proxmox = None
        if transport == "proxmox":
            try:
                proxmox = _proxmox_settings(spec.get("proxmox", {}), name, base, path, text)
            except LabguideError as exc:
                errors.append(exc)
                continue
        elif "proxmox" in spec:
            err(f"host {name}: [proxmox] settings need transport = \"proxmox\"", key, header)
            continue
        hosts[name] = Host(
            name=name, address=address, transport=transport, user=user, port=port,
            identity_file=paths["identity_file"], known_hosts=paths["known_hosts"],
            connect_timeout=float(timeout), proxmox=proxmox,
        )
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    return Inventory(hosts=hosts, vars=variables, secrets=frozenset(secrets), path=path,
                     lab_id=lab_id)


def _proxmox_settings(
    spec: Any, host: str, base: Path, path: Path, text: str
) -> ProxmoxSettings:
    key = f"hosts.{host}.proxmox"
    line = _line_of(text, rf"^\s*\[hosts\.\"?{re.escape(host)}\"?\.proxmox\]")
    where = Location(file=path, line=line, key=key)
    if not isinstance(spec, dict) or not spec:
        raise LabguideError(f"host {host} uses the proxmox transport but has no [{key}] table",
                            Location(file=path, key=key))
    unknown = set(spec) - _PROXMOX_KEYS
    if unknown:
        raise LabguideError(f"unknown keys {sorted(unknown)}", where,
                            hint=f"known keys: {', '.join(sorted(_PROXMOX_KEYS))}")
    node = spec.get("node")
    if not isinstance(node, str) or not node:
        raise LabguideError("missing node (the Proxmox node's name, e.g. \"node1\")", where)
    for skey, sval in spec.items():
        if skey in ("port", "verify_tls"):
            continue
        if not isinstance(sval, str):
            raise LabguideError(f"{skey} must be a string", where)
    if not spec.get("token_id") and not spec.get("user"):
        raise LabguideError("needs token_id (API token) or user (ticket login)", where)
    if spec.get("token_id"):
        if not re.match(r"^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$", spec["token_id"]):
            raise LabguideError(
                f"token_id must look like USER@REALM!NAME, not {spec['token_id']!r}", where)
        if not spec.get("token_secret_env") and not spec.get("token_secret_file"):
            raise LabguideError("token_id needs token_secret_env or token_secret_file", where,
                                hint="the secret never goes in the inventory itself")
    verify = spec.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise LabguideError("verify_tls must be true or false", where)
    port = spec.get("port", 8006)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise LabguideError("port must be a number from 1 to 65535", where)

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
