"""Events the engine and the probes publish; front-ends (TUI, plain, check) subscribe.

Plain frozen dataclasses: nothing here knows about Textual or about any front-end.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labguide.i18n import N_, gettext


def now() -> float:
    """Wall-clock time used in events and transcripts (seconds since the epoch)."""
    return time.time()


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    WARNED = "warned"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)

    @property
    def ok(self) -> bool:
        return self in (StepStatus.PASSED, StepStatus.WARNED, StepStatus.SKIPPED)

    @property
    def word(self) -> str:
        """The status as the reader reads it (the value stays English in files)."""
        return gettext(STATUS_WORDS[self])


STATUS_WORDS = {
    StepStatus.PENDING: N_("pending"), StepStatus.RUNNING: N_("running"),
    StepStatus.PASSED: N_("passed"), StepStatus.FAILED: N_("failed"),
    StepStatus.WARNED: N_("warned"), StepStatus.SKIPPED: N_("skipped"),
    StepStatus.CANCELLED: N_("cancelled"),
}


@dataclass(frozen=True)
class Event:
    t: float = field(default_factory=now, kw_only=True)


@dataclass(frozen=True)
class StepStarted(Event):
    """A step started; it acts after `delay` seconds (it waits that long first)."""

    step_id: str
    hosts: tuple[str, ...]
    delay: float = 0.0


@dataclass(frozen=True)
class Output(Event):
    """One line of output of a command on a host (stream is 'stdout', 'stderr' or 'info')."""

    step_id: str
    host: str
    stream: str
    line: str


@dataclass(frozen=True)
class HostFinished(Event):
    step_id: str
    host: str
    exit_status: int | None
    duration: float
    error: str | None = None


@dataclass(frozen=True)
class StepFinished(Event):
    step_id: str
    status: StepStatus
    duration: float
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadStarted(Event):
    """A load step started sending: `tool` is "k6" (on `origin`, a lab host) or
    "labguide-probe" (labguide's own prober, on this machine, which also publishes its
    batches)."""

    step_id: str
    tool: str
    origin: str
    rate: float
    duration: float

    def transcript(self) -> dict[str, object]:
        return {"event": "load_started", "step": self.step_id, "tool": self.tool,
                "origin": self.origin, "rate": self.rate, "duration": self.duration}


@dataclass(frozen=True)
class InputWanted(Event):
    """A step's command on `host` waits for an answer to `prompt` (secret: a password or
    the like, never echoed, shown or recorded). A front-end answers with Engine.answer."""

    step_id: str
    host: str
    prompt: str
    secret: bool


@dataclass(frozen=True)
class InputDone(Event):
    """The prompt of InputWanted was answered (or the command ended without an answer)."""

    step_id: str
    host: str
    answered: bool


@dataclass(frozen=True)
class RunFinished(Event):
    status: StepStatus
    last_step_id: str | None


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out of events to listeners, synchronously, in publication order.

    Listeners must be cheap (append to a buffer, post a message); a listener that
    raises is a bug and its exception propagates.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
