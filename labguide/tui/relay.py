"""Turns the engine's bus events into the app's Textual messages, batching step output by
time (every ~80 ms) and passing VIP and probe events on at once. Runs in the app's loop."""

from __future__ import annotations

import asyncio

from textual.app import App

from labguide.events import Event, Output
from labguide.probes.events import OutageWindow, ProbeBatch, ProbeSummary
from labguide.tui.messages import OutputBatch, ProbeEvents, StepEvent, VipEvents
from labguide.tui.vip_model import VIP_EVENTS

PROBE_EVENTS = (ProbeBatch, OutageWindow, ProbeSummary)


class EventRelay:
    def __init__(self, app: App[object], interval: float = 0.08) -> None:
        self.app = app
        self.interval = interval
        self._lines: list[Output] = []
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Output):
            self._lines.append(event)
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self.flush)
        elif isinstance(event, VIP_EVENTS):
            self.app.post_message(VipEvents([event]))
        elif isinstance(event, PROBE_EVENTS):
            self.app.post_message(ProbeEvents([event]))
        else:
            self.flush()  # keep output before the step's end
            self.app.post_message(StepEvent(event))

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, self._lines = self._lines, []
            self.app.post_message(OutputBatch(lines))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
