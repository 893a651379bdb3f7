"""What the real `qm` prints for `status`, `config` and `list`, from the API's answers, so
that a qm block's output reads as it would on the Proxmox host. Text only."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def _perl_num(value: float) -> str:
    """A number as Perl stringifies it (2048, 1536.5)."""
    return f"{value:.15g}"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return _perl_num(value)
    return str(value)


def _recursive(prefix: str, value: Any, key: str | None, out: list[str]) -> None:
    """qm's print_recursive_hash: nested maps and lists indented with tabs."""
    if isinstance(value, dict):
        if key is not None:
            out.append(f"{prefix}{key}:")
        for k in sorted(value):
            _recursive("\t" + prefix, value[k], k, out)
    elif isinstance(value, list):
        if key is not None:
            out.append(f"{prefix}{key}:")
        for item in value:
            _recursive("\t" + prefix, item, None, out)
    elif value is not None:
        out.append(f"{prefix}{key}: {_scalar(value)}" if key is not None
                   else f"{prefix}{_scalar(value)}")


def format_status(status: dict[str, Any], verbose: bool) -> list[str]:
    """`qm status VMID [--verbose]` output from GET .../status/current."""
    if not verbose:
        return [f"status: {status.get('qmpstatus') or 'unknown'}"]
    out: list[str] = []
    for key in sorted(status):
        # cpu/relcpu are skipped by qm; ha/agent/spice/clipboard are added by the API only
        if key in ("cpu", "relcpu", "ha", "agent", "spice", "clipboard"):
            continue
        _recursive("", status[key], key, out)
    return out


def _encode_text(text: str) -> str:


    safe = "".join(chr(c) for c in range(0x20, 0x7F) if c != 0x3A)
    return quote(text, safe=safe)


def format_config(config: dict[str, Any]) -> list[str]:
    """`qm config VMID` output: keys sorted, digest left out, description escaped."""
    out = []
    for key in sorted(config):
        if key == "digest":
            continue
        value = config[key]
        text = _encode_text(str(value)) if key == "description" else _scalar(value)
        out.append(f"{key}: {text}")
    return out


def format_list(vms: list[dict[str, Any]]) -> list[str]:
    """`qm list` output (nothing at all when there is no VM)."""
    if not vms:
        return []
    out = ["%10s %-20s %-10s %-10s %12s %-10s" % ("VMID", "NAME", "STATUS", "MEM(MB)",
                                                  "BOOTDISK(GB)", "PID")]
    for vm in sorted(vms, key=lambda v: int(v["vmid"])):
        out.append("%10s %-20s %-10s %-10s %12.2f %-10s" % (
            vm["vmid"], vm.get("name", ""), vm.get("qmpstatus") or vm.get("status", ""),
            _perl_num((vm.get("maxmem") or 0) / (1024 * 1024)),
            (vm.get("maxdisk") or 0) / (1024 ** 3), vm.get("pid") or 0))
    return out


