"""Textual messages the app posts to itself from the engine's and probes' events.

Small dataclasses; output lines arrive in batches (the relay flushes every ~80 ms)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from labguide.events import Event, Output


@dataclass
class StepEvent(Message, bubble=False):
    """A step started, a host finished, or a step finished (low rate, in order)."""

    event: Event


@dataclass
class OutputBatch(Message, bubble=False):
    """Output lines of running steps gathered over one flush interval."""

    lines: list[Output]


@dataclass
class VipEvents(Message, bubble=False):
    """VIP watcher events (ownership, keepalived state, reachability, split brain)."""

    events: list[Event]


@dataclass
class ProbeEvents(Message, bubble=False):
    """HTTP prober events: ProbeBatch (every ~100 ms), OutageWindow, ProbeSummary."""

    events: list[Event]


@dataclass
class CurrentStepChanged(Message, bubble=False):
    step_id: str
