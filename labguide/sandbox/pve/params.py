"""API errors and parameter checking the way PVE's JSONSchema reports them (400 + per-field errors).

The formats themselves are labguide.proxmox_params (shared with the qm parser). Pure
functions over strings; no HTTP framework here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from labguide.proxmox_params import MULTI_LINE, check_format, has_line_break

ParamType = Literal["integer", "boolean", "string", "number"]


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


def _typed(spec: Param, text: str) -> tuple[Any, str | None]:
    """The value of `text` for its type, or the API's words for why it is not one."""
    if spec.type == "boolean":
        if text not in ("0", "1"):
            return None, f"type check ('boolean') failed - got '{text}'"
        return text == "1", None
    if spec.type == "integer":
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            return None, f"type check ('integer') failed - got '{text}'"
        number = int(text)
        if spec.minimum is not None and number < spec.minimum:
            return None, f"value must have a minimum value of {spec.minimum}"
        if spec.maximum is not None and number > spec.maximum:
            return None, f"value may only be {spec.maximum}"
        return number, None
    return text, None


def _one(name: str, spec: Param, value: Any) -> tuple[Any, str | None]:
    """One parameter: its typed value, or why it is refused."""
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, bool):  # JSON bodies: true/false are not 1/0 for PVE either
        text = "True" if value else "False"
    if name not in MULTI_LINE and has_line_break(text):
        return None, "value must not contain a line break"
    typed, problem = _typed(spec, text)
    if problem:
        return None, problem
    if spec.enum is not None and text not in spec.enum:
        return None, (f"value '{text}' does not have a value in the enumeration "
                      f"'{', '.join(spec.enum)}'")
    if spec.format:
        problem = check_format(spec.format, text, name)
    return typed, problem


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
        typed, problem = _one(name, spec, value)
        if problem:
            errors[name] = problem
        else:
            out[name] = typed
    for name, spec in schema.items():
        if not spec.optional and name not in raw:
            errors[name] = "property is missing and it is not optional"
    if errors:
        raise param_error(errors)
    return out
