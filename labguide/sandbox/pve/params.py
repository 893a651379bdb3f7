"""API errors and parameter checking the way PVE's JSONSchema reports them (400 + per-field errors).

Pure functions over strings; no HTTP framework here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ParamType = Literal["integer", "boolean", "string", "number"]

_DNS_NAME = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$"
)
_NODE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
_IPV4_CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


#: Parameters whose value may span lines: the store writes them %-encoded (`#` lines).
MULTI_LINE = frozenset({"description"})


def has_line_break(text: str) -> bool:
    """Whether `text` holds anything str.splitlines splits on (\\n, \\r, \\v, \\f, \\x1c-\\x1e,
    U+0085, U+2028, U+2029): one line per value is what keeps a config file's keys apart."""
    return "".join(text.splitlines()) != text


def is_dns_name(text: str) -> bool:
    return bool(_DNS_NAME.match(text))


class ApiError(Exception):
    """An error answer: HTTP status, message (also the reason phrase), optional per-field errors."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors else None


def param_error(errors: Mapping[str, str]) -> ApiError:
    return ApiError(400, "Parameter verification failed.", errors)


def fail(message: str) -> ApiError:
    """What a `die "...\\n"` in a PVE API handler becomes: 500 with that message."""
    return ApiError(500, message)


@dataclass(frozen=True)
class Param:
    type: ParamType = "string"
    optional: bool = True
    format: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None


VMID = Param("integer", optional=False, format="pve-vmid")
NODE = Param("string", optional=False, format="pve-node")
BOOL = Param("boolean")


def _ipv4_ok(parts: tuple[str, ...]) -> bool:
    return all(0 <= int(p) <= 255 for p in parts)


def check_ipconfig(value: str) -> str | None:
    """PVE's pve-qm-ipconfig format: ip=CIDR|dhcp, gw=IP, ip6=…, gw6=…; returns an error or None."""
    seen: set[str] = set()
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if not sep:
            return f"invalid format - format error\n{key}: property is not defined in schema"
        if key in seen:
            return f"invalid format - duplicate key in comma-separated list property: {key}"
        seen.add(key)
        if key == "ip":
            m = _IPV4_CIDR.match(val)
            if val != "dhcp" and not (m and _ipv4_ok(m.groups()[:4]) and int(m.group(5)) <= 32):
                return ("invalid format - format error\nipconfig0.ip: invalid format - "
                        "value does not look like a valid ipv4 network configuration")
        elif key == "gw":
            m = _IPV4.match(val)
            if not (m and _ipv4_ok(m.groups())):
                return ("invalid format - format error\nipconfig0.gw: invalid format - "
                        f"value does not look like a valid IPv4 address: {val}")
        elif key in ("ip6", "gw6"):
            continue
        else:
            return f"invalid format - format error\n{key}: property is not defined in schema"
    return None


def _check_format(fmt: str, value: str) -> str | None:
    if fmt == "pve-vmid":
        if not re.fullmatch(r"[1-9][0-9]{2,8}", value):
            return "invalid format - value does not look like a valid VM ID"
    elif fmt == "dns-name":
        if not is_dns_name(value):
            return "invalid format - value does not look like a valid DNS name"
    elif fmt == "pve-node":
        if not _NODE.match(value):
            return "invalid format - value does not look like a valid node name"
    elif fmt == "ipconfig":
        return check_ipconfig(value)
    return None


def check(schema: Mapping[str, Param], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check raw (string) parameters against schema; return typed values or raise a 400."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        spec = schema.get(name)
        if spec is None:
            errors[name] = ("property is not defined in schema and the schema does not allow "
                            "additional properties")
            continue
        text = value if isinstance(value, str) else str(value)
        if isinstance(value, bool):  # JSON bodies: true/false are not 1/0 for PVE either
            text = "True" if value else "False"
        if name not in MULTI_LINE and has_line_break(text):
            errors[name] = "value must not contain a line break"
            continue
        if spec.type == "boolean":
            if text not in ("0", "1"):
                errors[name] = f"type check ('boolean') failed - got '{text}'"
                continue
            out[name] = text == "1"
        elif spec.type == "integer":
            if not re.fullmatch(r"[+-]?[0-9]+", text):
                errors[name] = f"type check ('integer') failed - got '{text}'"
                continue
            number = int(text)
            if spec.minimum is not None and number < spec.minimum:
                errors[name] = f"value must have a minimum value of {spec.minimum}"
                continue
            if spec.maximum is not None and number > spec.maximum:
                errors[name] = f"value may only be {spec.maximum}"
                continue
            out[name] = number
        else:
            out[name] = text
        if spec.enum is not None and text not in spec.enum:
            errors[name] = f"value '{text}' does not have a value in the enumeration " \
                           f"'{', '.join(spec.enum)}'"
            continue
        if spec.format:
            problem = _check_format(spec.format, text)
            if problem:
                errors[name] = problem
    for name, spec in schema.items():
        if not spec.optional and name not in raw:
            errors[name] = "property is missing and it is not optional"
    if errors:
        raise param_error(errors)
    return out
