"""Lab files (`CHAPTER.lab.toml` beside a chapter) → `LabSpec`, every error naming the file,
the line and the key; which lab file a chapter has; which lab the sandbox holds now.

Reading only: building the lab is image.py's and lab.py's. The format:
docs/writing-chapters.md; the bundled lab: chapters/l4lb-ha.lab.toml.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path
from typing import Any

from labguide.chapter_files import bundled_folder_files, split_name
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.proxmox_params import is_vmid
from labguide.sandbox.labspec import DEFAULT_LAB, TOOLS, GuestFile, LabSpec, RoleSpec, VmSpec
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.topology import GATEWAY, NODE1_IP, SUBNET, is_vm_name
from labguide.tomlloc import load_toml

SUFFIX = ".lab.toml"
KEYS = {"id", "template", "vms", "created", "offline", "vars", "roles"}
ROLE_KEYS = {"packages", "files", "services", "tools", "http", "lab_key", "home_dirs"}
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
UNIT = re.compile(r"^[A-Za-z0-9@_.:-]+$")
VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Where:
    """Finds the line of a key: at the top, in a table (`[roles.web]`) or in the n-th entry
    of an array of tables (`[[vms]]`), so that an error names the line it is about."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines, self.path = text.split("\n"), path

    def _block(self, table: str, index: int | None) -> tuple[int, int]:
        """0-based first and end line of the table's block (the whole file for '')."""
        if not table:
            end = next((n for n, ln in enumerate(self.lines) if ln.lstrip().startswith("[")),
                       len(self.lines))
            return 0, end
        name = re.escape(table).replace(r"\.", r"\s*\.\s*")
        rx = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]" if index is not None
                        else rf"^\s*\[\s*{name}\s*\]")
        starts = [n for n, ln in enumerate(self.lines) if rx.match(ln)]
        if not starts:
            return 0, len(self.lines)
        start = starts[min(index or 0, len(starts) - 1)]
        end = next((n for n in range(start + 1, len(self.lines))
                    if self.lines[n].lstrip().startswith("[")), len(self.lines))
        return start, end

    def line(self, table: str = "", key: str = "", index: int | None = None) -> int:
        start, end = self._block(table, index)
        if key:
            rx = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for n in range(start, end):
                if rx.match(self.lines[n]):
                    return n + 1
        return start + 1

    def error(self, msg: str, table: str = "", key: str = "", index: int | None = None,
              hint: str | None = None) -> LabguideError:
        entry = f"{table}[{index}]" if index is not None else table
        label = ".".join(p for p in (entry, key) if p) or None
        return LabguideError(msg, Location(file=self.path, line=self.line(table, key, index),
                                           key=label), hint)


class _Reader:
    """One lab file's data, checked key by key."""

    def __init__(self, data: dict[str, Any], where: _Where) -> None:
        self.data, self.where = data, where

    def table(self, value: Any, table: str, allowed: set[str],
              index: int | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.where.error(_("{table} must be a table").format(table=table), table,
                                   index=index)
        for key in value:
            if key not in allowed:
                raise self.where.error(_("unknown key {key!r} (known: {known})").format(
                    key=key, known=", ".join(sorted(allowed))), table, key, index)
        return value

    def names(self, value: Any, table: str, key: str, rx: re.Pattern[str],
              what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and rx.match(v)
                                                  for v in value):
            raise self.where.error(_("{key} must be a list of {what}").format(
                key=key, what=what), table, key)
        return tuple(value)

    def vm(self, raw: Any, table: str, index: int, roles: set[str] | None) -> VmSpec:
        keys = {"vmid", "name", "address"} | ({"role"} if roles is not None else set())
        entry = self.table(raw, table, keys, index)
        for key in sorted(keys - set(entry)):
            raise self.where.error(_("a VM needs {key}").format(key=key), table, index=index)
        vmid, name, ip = entry["vmid"], entry["name"], entry["address"]
        if isinstance(vmid, bool) or not isinstance(vmid, int) or not is_vmid(str(vmid)):
            raise self.where.error(_("vmid must be a Proxmox VM id (100 to 999999999)"),
                                   table, "vmid", index)
        if not isinstance(name, str) or not is_vm_name(name):
            raise self.where.error(_("name must be a DNS name of at most 63 characters"),
                                   table, "name", index)
        self.address(ip, table, "address", index)
        role = entry.get("role", "")
        if roles is not None and role not in roles:
            raise self.where.error(_("role {role!r} is not a role of this lab (roles: {roles})"
                                     ).format(role=role, roles=", ".join(sorted(roles)) or "-"),
                                   table, "role", index)
        return VmSpec(vmid, name, ip, role)

    def address(self, ip: Any, table: str, key: str, index: int | None = None) -> None:
        try:
            addr = ipaddress.ip_address(ip) if isinstance(ip, str) else None
        except ValueError:
            addr = None
        if addr is None or addr not in ipaddress.ip_network(SUBNET) or ip in (
                GATEWAY, NODE1_IP) or ip.endswith((".0", ".255")):
            raise self.where.error(
                _("{key} must be an address of the sandbox's network {subnet} (not the bridge "
                  "{gateway}, node1 {node1}, nor the network or broadcast address)").format(
                      key=key, subnet=SUBNET, gateway=GATEWAY, node1=NODE1_IP),
                table, key, index)

    def role(self, name: str, raw: Any) -> RoleSpec:
        table = f"roles.{name}"
        entry = self.table(raw, table, ROLE_KEYS)
        files = entry.get("files", [])
        if not isinstance(files, list):
            raise self.where.error(_("files must be an array of tables ([[roles.NAME.files]])"),
                                   table, "files")
        tools = self.names(entry.get("tools", []), table, "tools", re.compile(r"^\S+$"), "tools")
        for tool in tools:
            if tool not in TOOLS:
                raise self.where.error(_("unknown tool {tool!r} (known: {known})").format(
                    tool=tool, known=", ".join(TOOLS)), table, "tools")
        flags = {k: entry.get(k, False) for k in ("http", "lab_key")}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise self.where.error(_("{key} must be true or false").format(key=key), table,
                                       key)
        home = self.names(entry.get("home_dirs", []), table, "home_dirs",
                          re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[\w.-]+(/[\w.-]+)*$"),
                          _("folders relative to /home/ubuntu"))
        return RoleSpec(
            name, self.names(entry.get("packages", []), table, "packages", PACKAGE,
                             _("Debian package names")),
            tuple(self.file(f, f"{table}.files", i) for i, f in enumerate(files)),
            self.names(entry.get("services", []), table, "services", UNIT, _("systemd units")),
            tools, flags["http"], flags["lab_key"], home)

    def file(self, raw: Any, table: str, index: int) -> GuestFile:
        entry = self.table(raw, table, {"path", "text", "mode"}, index)
        path, text, mode = entry.get("path"), entry.get("text"), entry.get("mode", "0644")
        if not isinstance(path, str) or not re.match(r"^(/[\w.@+-]+)+$", path) or "/../" in (
                path + "/"):
            raise self.where.error(_("path must be an absolute path in the guest"), table,
                                   "path", index)
        if not isinstance(text, str):
            raise self.where.error(_("text must be the file's content (a string)"), table,
                                   "text", index)
        if not isinstance(mode, str) or not re.match(r"^0?[0-7]{3}$", mode):
            raise self.where.error(_('mode must be octal in a string, e.g. "0644"'), table,
                                   "mode", index)
        return GuestFile(path, text, int(mode, 8))

    def vars(self) -> dict[str, str | int]:
        raw = self.data.get("vars", {})
        if not isinstance(raw, dict):
            raise self.where.error(_("vars must be a table"), "vars")
        for key, value in raw.items():
            if not VAR.match(key) or isinstance(value, bool) or not isinstance(value, str | int):
                raise self.where.error(_("vars.{key} must be a string or an integer").format(
                    key=key), "vars", key)
        return dict(raw)

    def vm_list(self, key: str, roles: set[str] | None) -> tuple[VmSpec, ...]:
        raw = self.data.get(key, [])
        if not isinstance(raw, list):
            raise self.where.error(_("{key} must be an array of tables ([[{key}]])").format(
                key=key), key=key)
        return tuple(self.vm(entry, key, i, roles) for i, entry in enumerate(raw))


def _unique(where: _Where, vms: list[tuple[str, int, VmSpec]], template: int) -> None:
    """No two VMs share an id, a name or an address; none is the template's id."""
    seen: dict[tuple[str, object], str] = {}
    for table, index, vm in vms:
        if vm.vmid == template:
            raise where.error(_("vmid {vmid} is the template's").format(vmid=vm.vmid), table,
                              "vmid", index)
        for key, value in (("vmid", vm.vmid), ("name", vm.name), ("address", vm.ip)):
            if (key, value) in seen:
                raise where.error(_("{key} {value} is also {vm}'s").format(
                    key=key, value=value, vm=seen[(key, value)]), table, key, index)
            seen[(key, value)] = vm.name


def parse_lab(text: str, path: Path) -> LabSpec:
    data = load_toml(text, path, what=_("lab file"))
    where = _Where(text, path)
    reader = _Reader(data, where)
    for key in data:
        if key not in KEYS:  # a table's header line, or a key's
            table = key if isinstance(data[key], dict | list) else ""
            raise where.error(_("unknown key {key!r} (known: {known})").format(
                key=key, known=", ".join(sorted(KEYS))), table, "" if table else key,
                0 if isinstance(data[key], list) else None)
    lab_id = data.get("id", split_name(path)[0].removesuffix(".lab"))
    if not isinstance(lab_id, str) or not re.match(r"^[a-z0-9][a-z0-9-]*$", lab_id):
        raise where.error(_("id must be lower-case letters, digits and dashes"), key="id")
    tpl = reader.table(data.get("template", {}), "template", {"vmid", "name"})
    vmid, name = tpl.get("vmid", 999), tpl.get("name", "ubuntu-template")
    if isinstance(vmid, bool) or not isinstance(vmid, int) or not is_vmid(str(vmid)):
        raise where.error(_("template.vmid must be a Proxmox VM id"), "template", "vmid")
    if not isinstance(name, str) or not is_vm_name(name):
        raise where.error(_("template.name must be a DNS name"), "template", "name")
    raw_roles = reader.table(data.get("roles", {}), "roles", set(data.get("roles", {})))
    roles = {n: reader.role(n, r) for n, r in raw_roles.items()}
    vms, created = reader.vm_list("vms", set(roles)), reader.vm_list("created", None)
    if not vms:
        raise where.error(_("a lab needs at least one VM ([[vms]])"), key="vms")
    _unique(where, [*(("vms", i, v) for i, v in enumerate(vms)),
                    *(("created", i, v) for i, v in enumerate(created))], vmid)
    offline = reader.table(data.get("offline", {}), "offline", {"packages"})
    packages = reader.names(offline.get("packages", []), "offline", "packages", PACKAGE,
                            "Debian package names")
    return LabSpec(lab_id, path, vmid, name, vms, created, roles, packages, reader.vars())


def load_lab(path: Path) -> LabSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabguideError(_("cannot read lab file: {reason}").format(reason=exc.strerror),
                            Location(file=path)) from None
    except UnicodeDecodeError:
        raise LabguideError(_("lab file is not UTF-8 text"), Location(file=path)) from None
    return parse_lab(text, path)


def bundled_lab_file(name: str) -> Path | None:
    folder = {p.parent for p in bundled_folder_files()}
    return next((d / f"{name}{SUFFIX}" for d in folder if (d / f"{name}{SUFFIX}").is_file()),
                None)


def lab_file_of(name_or_path: str) -> Path:
    """The lab file of a chapter: a bundled chapter's name, a chapter file (its lab file is
    `NAME.lab.toml` beside it, whatever its language) or a lab file itself."""
    given = Path(name_or_path)
    if name_or_path.endswith(SUFFIX):
        found: Path | None = given
    elif name_or_path.endswith(".md") or "/" in name_or_path:
        found = given.with_name(split_name(given)[0] + SUFFIX)
    else:
        found = bundled_lab_file(name_or_path)
    if found is None:
        raise LabguideError(_("no bundled chapter {name!r} with a lab file").format(
                            name=name_or_path),
                            hint=_("a chapter's lab is {file} beside NAME.md").format(
                                file=f"NAME{SUFFIX}"))
    if not found.is_file():
        raise LabguideError(_("no lab file {file} beside the chapter").format(file=found.name),
                            Location(file=found),
                            hint=_("docs/writing-chapters.md describes the lab file"))
    return found


def default_lab() -> LabSpec:
    """The bundled l4lb-ha lab: what `labguide lab up` builds when no chapter is named."""
    return load_lab(lab_file_of(DEFAULT_LAB))


def current_lab(paths: LabPaths) -> LabSpec:
    """The lab the sandbox holds (the copy `lab up` kept of its lab file), else the default."""
    return load_lab(paths.lab_file) if paths.lab_file.is_file() else default_lab()


def record_lab(paths: LabPaths, lab: LabSpec) -> None:
    """Keep a copy of the lab file `up` builds from: `down`, `status`, the VMs' supervisors
    and node1 read it, whatever happens to the chapter's file meanwhile."""
    paths.lab_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.lab_file.with_suffix(".tmp")
    shutil.copyfile(lab.path, tmp)
    tmp.rename(paths.lab_file)
