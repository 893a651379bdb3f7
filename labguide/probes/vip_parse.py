"""Parsers for what the VIP watcher reads on a host: `ip -o [-ts] monitor address` and
`ip -o addr show` lines, and keepalived's log lines. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from dataclasses import dataclass

# `[2026-11-25T12:26:41.657050] Deleted 3: eth0    inet 10.0.0.140/24 scope global eth0\ ...`
_ADDR = re.compile(
    r"^(?:\[(?P<ts>[0-9T:.\-]+)\]\s*)?"
    r"(?:\[ADDR\]\s*)?"
    r"(?P<deleted>Deleted\s+)?"
    r"(?P<index>\d+):\s+(?P<ifname>[^\s@]+)(?:@\S+)?\s+"
    r"(?P<family>inet6?)\s+(?P<address>[0-9A-Fa-f.:]+)(?:/(?P<prefix>\d+))?"
)


@dataclass(frozen=True)
class AddressChange:
    """One address line: an address added (or listed) or deleted on an interface."""

    address: str
    interface: str
    deleted: bool
    #: The host's timestamp of the event (`ip -ts`, printed in UTC by our command), or None.
    host_t: float | None = None


def normalize_ip(text: str) -> str:
    """The canonical text of an IP address (so that IPv6 spellings compare equal)."""
    return str(ipaddress.ip_address(text.split("/")[0]))


def parse_address_line(line: str) -> AddressChange | None:
    """The address change of one `ip -o` address line, or None for any other line."""
    m = _ADDR.match(line.strip())
    if m is None:
        return None
    try:
        address = normalize_ip(m["address"])
    except ValueError:
        return None
    host_t: float | None = None
    if m["ts"]:
        try:
            stamp = dt.datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%f")
            host_t = stamp.replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            host_t = None
    return AddressChange(address, m["ifname"], bool(m["deleted"]), host_t)


# --------------------------------------------------------------------------- keepalived


@dataclass(frozen=True)
class KeepalivedLine:
    """What one keepalived log line says: an instance's state, its priority, or a stop.

    instance is "*" for the whole daemon (state "STOPPED" or "RUNNING": a start).
    """

    instance: str
    state: str | None = None
    priority: int | None = None
    host_t: float | None = None


_STATE = re.compile(r"\((?P<instance>[^)\s]+)\)\s+Entering\s+(?P<state>[A-Z]+)\s+STATE", re.I)
_PRIORITY = re.compile(
    r"\((?P<instance>[^)\s]+)\)\s+Changing effective priority from\s+\d+\s+to\s+(?P<to>\d+)",
    re.I,
)
_STOPPED = re.compile(
    r"Stopped Keepalived|Stopped keepalived\.service|keepalived\.service: (?:Main process "
    r"exited|Failed with result|Deactivated successfully)|Stopped .*[Kk]eepalive",
)
_STARTING = re.compile(r"Starting Keepalived v|Started keepalived\.service|Started Keepalive")
_UNIX_TIME = re.compile(r"^(?P<t>\d{9,}\.\d+)\s")
#: keepalived's own console log (`-l`): `Wed Dec  2 02:52:04 2026: ...`, local time
_CONSOLE_TIME = re.compile(r"^(?P<t>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}): ")


def _line_time(line: str) -> float | None:
    """The time a log line carries: journalctl's short-unix, or keepalived's console form."""
    if (m := _UNIX_TIME.match(line)) is not None:
        return float(m["t"])
    if (c := _CONSOLE_TIME.match(line)) is not None:
        try:
            return time.mktime(time.strptime(c["t"], "%a %b %d %H:%M:%S %Y"))
        except ValueError:
            return None
    return None


def parse_keepalived_line(line: str) -> KeepalivedLine | None:
    """The keepalived fact of one log line (journalctl short-unix, console or syslog)."""
    host_t = _line_time(line)
    if (s := _STATE.search(line)) is not None:
        return KeepalivedLine(s["instance"], state=s["state"].upper(), host_t=host_t)
    if (p := _PRIORITY.search(line)) is not None:
        return KeepalivedLine(p["instance"], priority=int(p["to"]), host_t=host_t)
    if _STOPPED.search(line):
        return KeepalivedLine("*", state="STOPPED", host_t=host_t)
    if _STARTING.search(line):
        return KeepalivedLine("*", state="RUNNING", host_t=host_t)
    return None


def parse_active_line(line: str) -> KeepalivedLine | None:
    """The `@active STATE` line our command prints from `systemctl is-active keepalived`
    (`not-found`: keepalived is not installed, state ABSENT)."""
    if not line.startswith("@active"):
        return None
    value = line.removeprefix("@active").strip()
    if value in ("active", "reloading", "activating"):
        return KeepalivedLine("*", state="RUNNING")
    if value in ("inactive", "failed", "deactivating"):
        return KeepalivedLine("*", state="STOPPED")
    if value == "not-found":
        return KeepalivedLine("*", state="ABSENT")
    return None  # no systemd, no such unit ("unknown"), or no answer: say nothing
