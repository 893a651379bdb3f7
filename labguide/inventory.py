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
from labguide.i18n import gettext as _
from labguide.inventory_proxmox import ProxmoxSettings, proxmox_settings
from labguide.redact import too_short
from labguide.suggest import did_you_mean

__all__ = ["HOST_NAME", "TRANSPORTS", "VAR_NAME", "Host", "Inventory", "ProxmoxSettings",
           "TransportName", "load_inventory", "parse_inventory", "read_secret_file"]

TransportName = Literal["ssh", "local", "proxmox"]
TRANSPORTS: tuple[str, ...] = ("ssh", "local", "proxmox")
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_HOST_KEYS = {
    "address", "user", "port", "identity_file", "known_hosts", "transport",
    "connect_timeout", "proxmox", "password_env",
}


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
                _("host {host!r} is not in the inventory").format(host=name),
                Location(file=self.path) if self.path else Location(host=name),
                hint=did_you_mean(name, self.hosts)
                or _("its hosts: {hosts}").format(hosts=", ".join(self.hosts)),
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
        raise LabguideError(_("cannot read {what}: {error}").format(what=what,
                                                                    error=exc.strerror),
                            Location(file=path)) from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LabguideError(
            _("{what} is readable by others (mode {mode})").format(
                what=what, mode=f"{stat.S_IMODE(st.st_mode):04o}"),
            Location(file=path), hint=f"chmod 600 {path}")  # i18n: not text
    return path.read_text().strip()


def load_inventory(path: str | Path, environ: Mapping[str, str] | None = None) -> Inventory:
    """Read and validate an inventory file; every problem found is reported at once."""
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabguideError(_("cannot read inventory: {error}").format(error=exc.strerror),
                            Location(file=path)) from None
    except UnicodeDecodeError:
        raise LabguideError(_("inventory is not UTF-8 text"), Location(file=path)) from None
    return parse_inventory(text, path, env)


def parse_inventory(text: str, path: Path, env: Mapping[str, str] | None = None) -> Inventory:
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        # "at end of document" has no line number: the last line is where it ends
        line = int(m.group(1)) if m else max(1, len(text.splitlines()))
        raise LabguideError(_("not valid TOML: {error}").format(error=exc),
                            Location(file=path, line=line)) from None
    reader = _Reader(text, path, env)
    for key in data:
        if key not in ("lab", "defaults", "vars", "hosts"):
            reader.err(_("unknown section {key!r} (expected lab, defaults, vars, hosts)"
                         ).format(key=key), key, rf"^\[?{re.escape(key)}")
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
            self.err(_("[lab] takes one key: id, a non-empty string"), "lab", r"^\[lab\]")
            return None
        return lab_id if isinstance(lab_id, str) else None

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.err(_("{name!r} must be a table").format(name=name), name,
                     rf"^{re.escape(name)}\s*=")
            return {}
        return value

    # -- [vars] -------------------------------------------------------------------------

    def variables(self, raw_vars: dict[str, Any]) -> tuple[dict[str, str], set[str]]:
        variables: dict[str, str] = {}
        secrets: set[str] = set()
        for name, value in raw_vars.items():
            where = rf"^\s*{re.escape(name)}\s*="
            if not VAR_NAME.match(name):
                self.err(_("bad variable name {name!r}").format(name=name), f"vars.{name}",
                         where)
                continue
            if isinstance(value, dict):
                value = self._variable_table(name, value, where, secrets)
                if value is None:
                    continue
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.err(_("variable {name} must be a string or a number").format(name=name),
                         f"vars.{name}", where)
                continue
            variables[name] = str(value)
        return variables, secrets

    def _variable_table(self, name: str, spec: dict[str, Any], where: str,
                        secrets: set[str]) -> Any:
        """`NAME = { value|env|file = …, secret = true }`: the value, or None (an error)."""
        key = f"vars.{name}"
        unknown = set(spec) - {"value", "env", "file", "secret"}
        if unknown:
            self.err(_("unknown keys {keys} in variable {name}").format(
                keys=sorted(unknown), name=name), key, where)
            return None
        if "value" in spec:
            resolved: Any = spec["value"]
        elif "env" in spec:
            resolved = self.env.get(str(spec["env"]))
            if resolved is None:
                self.err(_("variable {name}: environment variable {env} is not set").format(
                    name=name, env=spec["env"]), key, where)
                return None
        elif "file" in spec:
            try:
                resolved = read_secret_file(self.base / str(spec["file"]),
                                            _("variable {name}").format(name=name))
            except LabguideError as exc:
                self.errors.append(exc)
                return None
        else:
            self.err(_("variable {name} needs one of value, env, file").format(name=name), key,
                     where)
            return None
        if bool(spec.get("secret", False)):
            why = too_short(str(resolved))
            if why:
                self.err(_("variable {name}: {why}").format(name=name, why=why), key, where,
                         hint=_("a value this short is no secret (and masking it would hide "
                                "ordinary text): drop secret = true, or use a longer value"))
                return None
            secrets.add(str(resolved))
        return resolved

    # -- [hosts.*] ------------------------------------------------------------------------

    def host(self, name: str, spec: Any, defaults: dict[str, Any]) -> Host | None:
        """One host (with the defaults applied), or None after recording its error."""
        header = rf"^\s*\[hosts\.\"?{re.escape(name)}\"?\]"
        key = f"hosts.{name}"
        if not HOST_NAME.match(name):
            self.err(_("bad host name {name!r}").format(name=name), key, header)
            return None
        if not isinstance(spec, dict):
            self.err(_("host {host} must be a table").format(host=name), key, header)
            return None
        merged = {**{k: v for k, v in defaults.items() if k != "proxmox"}, **spec}
        unknown = set(merged) - _HOST_KEYS
        if unknown:
            self.err(_("unknown keys {keys} for host {host}").format(keys=sorted(unknown),
                                                                      host=name), key, header,
                     hint=_("known keys: {keys}").format(keys=", ".join(sorted(_HOST_KEYS))))
            return None
        transport = merged.get("transport", "ssh")
        if transport not in TRANSPORTS:
            self.err(_("host {host}: transport must be one of {names}, not {value!r}").format(
                host=name, names=", ".join(TRANSPORTS), value=transport), key, header)
            return None
        try:
            return self._host(name, transport, merged, spec)
        except _Bad as bad:
            self.err(str(bad), key, header)
        except LabguideError as exc:
            self.errors.append(exc)
        return None

    def _host(self, name: str, transport: str, merged: dict[str, Any],
              spec: dict[str, Any]) -> Host:
        address = merged.get("address", "127.0.0.1" if transport == "local" else None)
        if not isinstance(address, str) or not address:
            raise _Bad(_("host {host} has no address").format(host=name))
        port = merged.get("port", 8006 if transport == "proxmox" else 22)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise _Bad(_("host {host}: port must be a number from 1 to 65535").format(host=name))
        timeout = merged.get("connect_timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise _Bad(_("host {host}: connect_timeout must be a positive number").format(
                host=name))
        paths: dict[str, Path | None] = {}
        for pkey in ("identity_file", "known_hosts"):
            pval = merged.get(pkey)
            if pval is not None and not isinstance(pval, str):
                raise _Bad(_("host {host}: {key} must be a path").format(host=name, key=pkey))
            paths[pkey] = (self.base / os.path.expanduser(pval)) if pval is not None else None
        user = merged.get("user")
        if user is not None and not isinstance(user, str):
            raise _Bad(_("host {host}: user must be a string").format(host=name))
        proxmox = None
        if transport == "proxmox":
            proxmox = proxmox_settings(spec.get("proxmox", {}), name, self.base, self.path,
                                       _line_of(self.text, rf"^\s*\[hosts\.\"?{re.escape(name)}"
                                                           r"\"?\.proxmox\]"))
        elif "proxmox" in spec:
            raise _Bad(_('host {host}: [proxmox] settings need transport = "proxmox"').format(
                host=name))
        return Host(
            name=name, address=address, transport=transport,  # type: ignore[arg-type]
            user=user, port=port, identity_file=paths["identity_file"],
            known_hosts=paths["known_hosts"], connect_timeout=float(timeout), proxmox=proxmox,
        )


class _Bad(Exception):
    """A host setting is wrong: the error's text, naming the host."""


