"""The wire format between the prober's worker process and its parent: JSON lines.

Worker → parent: {"type": "batch"|"outage"|"summary"|"error", ...}. Parent → worker:
{"cmd": "rate", "rate": N} and {"cmd": "stop"}. Also the worker's configuration. No I/O here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from labguide.probes.events import (
    CurrentOutage,
    LatencySummary,
    OutageWindow,
    ProbeAnswer,
    ProbeBatch,
    ProbeSummary,
)

ENGINES: tuple[str, ...] = ("aiohttp", "httpx-aiohttp", "httpx")


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker process does. Times in seconds; rate in requests per second."""

    url: str
    rate: float
    timeout: float = 2.0
    duration: float | None = None
    engine: str = "aiohttp"
    max_in_flight: int = 1000
    #: A regular expression the body must match (searched), or None to accept any body.
    expect: str | None = None
    #: Write every result as JSON Lines to this file.
    out: str | None = None
    batch_interval: float = 0.1
    recent: int = 20
    #: A start later than this (seconds) after its schedule counts as late.
    late_threshold: float = 0.010
    #: A start that would be later than this is not made and counts as dropped.
    max_lateness: float = 1.0
    #: "auto" (by rate), "new" (a connection per request) or "keepalive" (http_engines).
    connections: str = "auto"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        return cls(**json.loads(text))


def encode(kind: str, event: Any) -> str:
    """One JSON line for a batch, outage or summary event (without the newline)."""
    data = dataclasses.asdict(event)
    data["type"] = kind
    return json.dumps(data, separators=(",", ":"))


def _latency(data: dict[str, Any]) -> LatencySummary:
    return LatencySummary(**data)


def _outage(data: dict[str, Any]) -> OutageWindow:
    return OutageWindow(
        start=data["start"], end=data["end"], lost=data["lost"],
        first_failure=data["first_failure"], last_failure=data["last_failure"],
        causes=data["causes"], t=data["t"],
    )


def decode(line: str) -> ProbeBatch | OutageWindow | ProbeSummary | str:
    """The event of one line from the worker; an "error" line gives its message (a str)."""
    data = json.loads(line)
    kind = data.pop("type")
    if kind == "batch":
        outage = data["outage"]
        return ProbeBatch(
            **{
                **data,
                "latency": _latency(data["latency"]),
                "recent": tuple(ProbeAnswer(**a) for a in data["recent"]),
                "outage": CurrentOutage(**outage) if outage is not None else None,
            }
        )
    if kind == "outage":
        return _outage(data)
    if kind == "summary":
        return ProbeSummary(
            **{
                **data,
                "http_req_duration": _latency(data["http_req_duration"]),
                "lateness_ms": _latency(data["lateness_ms"]),
                "outages": tuple(_outage(o) for o in data["outages"]),
                "connections": tuple(data.get("connections", ())),
            }
        )
    if kind == "error":
        return str(data["message"])
    raise ValueError(f"unknown line type from the prober worker: {kind!r}")


def summary_dict(summary: ProbeSummary) -> dict[str, Any]:
    """The summary as plain JSON-able data, with the derived ratios (for `--json`)."""
    data = dataclasses.asdict(summary)
    data["ok"] = summary.ok
    data["success_ratio"] = summary.success_ratio
    data["failed_ratio"] = summary.failed_ratio
    data["achieved_ratio"] = summary.achieved_ratio
    for window, outage in zip(data["outages"], summary.outages, strict=True):
        window["duration"] = outage.duration
    return data
