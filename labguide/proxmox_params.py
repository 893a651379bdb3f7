"""Proxmox VE parameter formats, one set for every part of labguide that checks them: the qm
parser (a chapter's `qm` lines, at load time) and the PVE API emulator (each request).

Pure functions over strings, with PVE's own wording where an answer quotes it. Imports
nothing of labguide: no transport, no sandbox, no HTTP.
"""

from __future__ import annotations

import re

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_NODE_NAME = re.compile(_LABEL)
_VMID = re.compile(r"[1-9][0-9]{2,8}")
_IPV4 = r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})"
_IPV4_CIDR = re.compile(rf"{_IPV4}/(\d{{1,2}})")
_IPV4_ADDRESS = re.compile(_IPV4)

#: Config keys with a format of their own (the rest are free strings, one line each).
CONFIG_FORMATS: dict[str, str] = {
    "name": "dns-name",
    **{f"ipconfig{n}": "ipconfig" for n in range(10)},
}
#: Parameters whose value may span lines: PVE stores them %-encoded in `#` lines.
MULTI_LINE = frozenset({"description"})


def has_line_break(text: str) -> bool:
    """Whether `text` holds anything str.splitlines splits on (\\n, \\r, \\v, \\f,
    \\x1c-\\x1e, U+0085, U+2028, U+2029): one line per value keeps a config file's keys apart."""
    return "".join(text.splitlines()) != text


def is_dns_name(text: str) -> bool:
    """PVE's `dns-name` (a VM's name): dot-separated labels of letters, digits, hyphens."""
    return _DNS_NAME.fullmatch(text) is not None


def is_vmid(text: str) -> bool:
    """PVE's `pve-vmid`: 100 to 999999999, written without leading zeros."""
    return _VMID.fullmatch(text) is not None


def _ipv4_ok(parts: tuple[str, ...]) -> bool:
    return all(0 <= int(p) <= 255 for p in parts)


def check_ipconfig(value: str, key: str = "ipconfig0") -> str | None:
    """PVE's `pve-qm-ipconfig`: ip=IPv4/PREFIX|dhcp, gw=IPv4, ip6=…, gw6=…; the error PVE
    answers, or None."""
    seen: set[str] = set()
    for part in value.split(","):
        name, sep, val = part.partition("=")
        if not sep:
            return f"invalid format - format error\n{name}: property is not defined in schema"
        if name in seen:
            return f"invalid format - duplicate key in comma-separated list property: {name}"
        seen.add(name)
        if name == "ip":
            m = _IPV4_CIDR.fullmatch(val)
            if val != "dhcp" and not (m and _ipv4_ok(m.groups()[:4]) and int(m.group(5)) <= 32):
                return (f"invalid format - format error\n{key}.ip: invalid format - "
                        "value does not look like a valid ipv4 network configuration")
        elif name == "gw":
            m = _IPV4_ADDRESS.fullmatch(val)
            if not (m and _ipv4_ok(m.groups())):
                return (f"invalid format - format error\n{key}.gw: invalid format - "
                        f"value does not look like a valid IPv4 address: {val}")
        elif name not in ("ip6", "gw6"):
            return f"invalid format - format error\n{name}: property is not defined in schema"
    return None


def check_format(fmt: str, value: str, key: str = "") -> str | None:
    """The problem PVE reports for `value` in format `fmt` (pve-vmid, pve-node, dns-name,
    ipconfig), or None. An unknown format checks nothing."""
    if fmt == "pve-vmid":
        if not is_vmid(value):
            return "invalid format - value does not look like a valid VM ID"
    elif fmt == "dns-name":
        if not is_dns_name(value):
            return "invalid format - value does not look like a valid DNS name"
    elif fmt == "pve-node":
        if _NODE_NAME.fullmatch(value) is None:
            return "invalid format - value does not look like a valid node name"
    elif fmt == "ipconfig":
        return check_ipconfig(value, key or "ipconfig0")
    return None


def check_value(key: str, value: str) -> str | None:
    """What is wrong with `value` for config key `key` (a line break, its format), or None."""
    if key not in MULTI_LINE and has_line_break(value):
        return "value must not contain a line break"
    fmt = CONFIG_FORMATS.get(key)
    return check_format(fmt, value, key) if fmt else None
