"""The inventory: the lab's hosts (how to reach each) and its variables, read from TOML.

Format (paths are relative to the inventory file):

    [lab]
    id = "home-lab-2026"       # optional: saved results are tied to this lab (a new lab,
                               # e.g. each sandbox `lab up` with new disks, gets a new id)

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
from labguide.redact import too_short

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
    #: The line of each variable in the file (for errors found when a chapter is bound).
    var_lines: Mapping[str, int] = field(default_factory=dict)
    #: The lab's identity ([lab] id): run results made on another lab do not hold here.
    lab_id: str | None = None

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise LabguideError(
                f"host {name!r} is not in the inventory",
                Location(file=self.path) if self.path else Location(host=name),
            ) from None


def _line_of(text: str, pattern: str) -> int | None:
    """1-based line of the first line matching pattern (a regex), for located errors."""
    rx = re.compile(pattern)
    for n, line in enumerate(text.splitlines(), start=1):
        if rx.search(line):
            return n
    return None


def _var_line(text: str, name: str) -> int | None:
    """The line of variable `name`: in the [vars] table if there is one, else anywhere."""
    pattern = rf"^\s*{re.escape(name)}\s*="
    start = _line_of(text, r"^\s*\[\s*vars\s*\]") or 0
    after = _line_of("\n".join(text.splitlines()[start:]), pattern)
    return start + after if after is not None else _line_of(text, pattern)


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
    reader = _Reader(text, path, env)
    for key in data:
        if key not in ("lab", "defaults", "vars", "hosts"):
            reader.err(f"unknown section {key!r} (expected lab, defaults, vars, hosts)", key,
                       rf"^\[?{re.escape(key)}")
    lab_id = reader.lab_id(reader.table(data, "lab"))
    defaults = reader.table(data, "defaults")
    variables, secrets = reader.variables(reader.table(data, "vars"))
    var_lines = {name: _var_line(text, name) for name in variables}
    hosts: dict[str, Host] = {}
    for name, spec in reader.table(data, "hosts").items():
        host = reader.host(name, spec, defaults)
        if host is not None:
            hosts[name] = host
    if reader.errors:
        raise reader.errors[0] if len(reader.errors) == 1 else ErrorGroup(reader.errors)
    return Inventory(hosts=hosts, vars=variables, secrets=frozenset(secrets), path=path,
                     var_lines={k: v for k, v in var_lines.items() if v is not None},
                     lab_id=lab_id)


class _Reader:
    """Reads the parts of one inventory file, collecting every error (located) on the way."""

    def __init__(self, text: str, path: Path, env: Mapping[str, str]) -> None:
        self.text, self.path, self.env = text, path, env
        self.base = path.parent
        self.errors: list[LabguideError] = []

    def err(self, msg: str, key: str, pattern: str | None = None,
            hint: str | None = None) -> None:
        line = _line_of(self.text, pattern) if pattern else None
        self.errors.append(LabguideError(msg, Location(file=self.path, line=line, key=key),
                                         hint))

    def lab_id(self, lab: dict[str, Any]) -> str | None:
        """[lab] id: the lab's identity, a non-empty string."""
        lab_id = lab.get("id")
        if set(lab) - {"id"} or (lab_id is not None and (not isinstance(lab_id, str)
                                                          or not lab_id)):
            self.err("[lab] takes one key: id, a non-empty string", "lab", r"^\[lab\]")
            return None
        return lab_id if isinstance(lab_id, str) else None

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.err(f"{name!r} must be a table", name, rf"^{re.escape(name)}\s*=")
            return {}
        return value

    # -- [vars] -------------------------------------------------------------------------

    def variables(self, raw_vars: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
        variables: dict[str, str] = {}
        secrets: set[str] = set()
        for name, value in raw_vars.items():
            where = rf"^\s*{re.escape(name)}\s*="
            if not VAR_NAME.match(name):
                self.err(f"bad variable name {name!r}", f"vars.{name}", where)
                continue
            if isinstance(value, dict):
                value = self._variable_table(name, value, where, secrets)
                if value is None:
                    continue
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.err(f"variable {name} must be a string or a number", f"vars.{name}", where)
                continue
            variables[name] = str(value)
        return variables, secrets

    def _variable_table(self, name: str, spec: dict[str, Any], where: str,
                        secrets: set[str]) -> Any:
        """`NAME = { value|env|file = …, secret = true }`: the value, or None (an error)."""
        key = f"vars.{name}"
        unknown = set(spec) - {"value", "env", "file", "secret"}
        if unknown:
            self.err(f"unknown keys {sorted(unknown)} in variable {name}", key, where)
            return None
        if "value" in spec:
            resolved: Any = spec["value"]
        elif "env" in spec:
            resolved = self.env.get(str(spec["env"]))
            if resolved is None:
                self.err(f"variable {name}: environment variable {spec['env']} is not set",
                         key, where)
                return None
        elif "file" in spec:
            try:
                resolved = read_secret_file(self.base / str(spec["file"]), f"variable {name}")
            except LabguideError as exc:
                self.errors.append(exc)
                return None
        else:
            self.err(f"variable {name} needs one of value, env, file", key, where)
            return None
        if bool(spec.get("secret", False)):
            why = too_short(str(resolved))
            if why:
                self.err(f"variable {name}: {why}", key, where,
                         hint="a value this short is no secret (and masking it would hide "
                         "ordinary text): drop secret = true, or use a longer value")
                return None
            secrets.add(str(resolved))
        return resolved

    # -- [hosts.*] ------------------------------------------------------------------------

    def host(self, name: str, spec: Any, defaults: dict[str, Any]) -> Host | None:
        """One host (with the defaults applied), or None after recording its error."""
        header = rf"^\s*\[hosts\.\"?{re.escape(name)}\"?\]"
        key = f"hosts.{name}"
        if not HOST_NAME.match(name):
            self.err(f"bad host name {name!r}", key, header)
            return None
        if not isinstance(spec, dict):
            self.err(f"host {name} must be a table", key, header)
            return None
        merged = {**{k: v for k, v in defaults.items() if k != "proxmox"}, **spec}
        unknown = set(merged) - _HOST_KEYS
        if unknown:
            self.err(f"unknown keys {sorted(unknown)} for host {name}", key, header,
                     hint=f"known keys: {', '.join(sorted(_HOST_KEYS))}")
            return None
        transport = merged.get("transport", "ssh")
        if transport not in TRANSPORTS:
            self.err(f"host {name}: transport must be one of {', '.join(TRANSPORTS)}, "
                     f"not {transport!r}", key, header)
            return None
        try:
            return self._host(name, transport, merged, spec)
        except _Bad as bad:
            self.err(f"host {name}{bad}", key, header)
        except LabguideError as exc:
            self.errors.append(exc)
        return None

    def _host(self, name: str, transport: str, merged: dict[str, Any],
              spec: dict[str, Any]) -> Host:
        address = merged.get("address", "127.0.0.1" if transport == "local" else None)
        if not isinstance(address, str) or not address:
            raise _Bad(" has no address")
        port = merged.get("port", 8006 if transport == "proxmox" else 22)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise _Bad(": port must be a number from 1 to 65535")
        timeout = merged.get("connect_timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise _Bad(": connect_timeout must be a positive number")
        paths: dict[str, Path | None] = {}
        for pkey in ("identity_file", "known_hosts"):
            pval = merged.get(pkey)
            if pval is not None and not isinstance(pval, str):
                raise _Bad(f": {pkey} must be a path")
            paths[pkey] = (self.base / os.path.expanduser(pval)) if pval is not None else None
        user = merged.get("user")
        if user is not None and not isinstance(user, str):
            raise _Bad(": user must be a string")
        proxmox = None
        if transport == "proxmox":
            proxmox = _proxmox_settings(spec.get("proxmox", {}), name, self.base, self.path,
                                        self.text)
        elif "proxmox" in spec:
            raise _Bad(': [proxmox] settings need transport = "proxmox"')
        return Host(
            name=name, address=address, transport=transport,  # type: ignore[arg-type]
            user=user, port=port, identity_file=paths["identity_file"],
            known_hosts=paths["known_hosts"], connect_timeout=float(timeout), proxmox=proxmox,
        )


class _Bad(Exception):
    """A host setting is wrong: the text after "host NAME" in the error."""


def _check_proxmox_login(spec: dict[str, Any], where: Location) -> None:
    """An API token (with where its secret is) or a user for a ticket login."""
    if not spec.get("token_id") and not spec.get("user"):
        raise LabguideError("needs token_id (API token) or user (ticket login)", where)
    if spec.get("token_id"):
        if not re.match(r"^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$", spec["token_id"]):
            raise LabguideError(
                f"token_id must look like USER@REALM!NAME, not {spec['token_id']!r}", where)
        if not spec.get("token_secret_env") and not spec.get("token_secret_file"):
            raise LabguideError("token_id needs token_secret_env or token_secret_file", where,
                                hint="the secret never goes in the inventory itself")


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
        if skey not in ("port", "verify_tls") and not isinstance(sval, str):
            raise LabguideError(f"{skey} must be a string", where)
    _check_proxmox_login(spec, where)
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
