"""What the TUI knows about each step (status, duration, message, per-host exit status),
built from the engine's saved records and then its events. Pure: no Textual."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from labguide.events import Event, HostFinished, Output, StepFinished, StepStarted, StepStatus
from labguide.state import StepRecord

OUTPUT_KEEP = 2000

MARKS = {
    StepStatus.PENDING: ("·", "dim"), StepStatus.RUNNING: ("▶", "bold yellow"),
    StepStatus.PASSED: ("✓", "green"), StepStatus.FAILED: ("✗", "bold red"),
    StepStatus.WARNED: ("!", "yellow"), StepStatus.SKIPPED: ("»", "dim"),
    StepStatus.CANCELLED: ("⊘", "magenta"),
}


@dataclass
class StepInfo:
    status: StepStatus = StepStatus.PENDING
    duration: float | None = None
    message: str = ""
    exits: dict[str, int | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    output: deque[str] = field(default_factory=lambda: deque(maxlen=OUTPUT_KEEP))

    @classmethod
    def from_record(cls, rec: StepRecord | None, status: StepStatus) -> StepInfo:
        info = cls(status=status)
        if rec is None:
            return info
        info.duration = rec.duration if status.done else None
        info.message = rec.message
        for host, h in rec.hosts.items():
            info.exits[host] = h.get("exit_status")
            if h.get("reason"):
                info.errors[host] = str(h["reason"])
            info.output.extend(f"{host} │ {line}" for line in h.get("tail", []))
        return info

    def apply(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.status = StepStatus.RUNNING
            self.duration = None
            self.message = ""
            self.exits.clear()
            self.errors.clear()
            self.output.clear()
        elif isinstance(event, Output):
            self.output.append(output_line(event))
        elif isinstance(event, HostFinished):
            self.exits[event.host] = event.exit_status
            if event.error:
                self.errors[event.host] = event.error
        elif isinstance(event, StepFinished):
            self.status = event.status
            self.duration = event.duration
            self.message = event.message


def output_line(event: Output) -> str:
    mark = {"stderr": "!", "info": "·", "diff": "±"}.get(event.stream, "│")
    return f"{event.host} {mark} {event.line}"
