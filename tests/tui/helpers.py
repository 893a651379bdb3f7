"""Helpers of the TUI tests: wait on real conditions (bus events, screens), never sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerError

from labguide.engine import Engine
from labguide.events import Event

WAIT = 30.0


class Expect:
    """Subscribes now (before the key press that causes the event) to the engine's bus."""

    def __init__(self, engine: Engine, match: Callable[[Event], bool]) -> None:
        self.found: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self.match = match
        self.unsubscribe = engine.bus.subscribe(self._listener)

    def _listener(self, event: Event) -> None:
        if self.match(event) and not self.found.done():
            self.found.set_result(event)

    async def wait(self, pilot: Pilot[Any], timeout: float = WAIT) -> Event:
        try:
            event = await asyncio.wait_for(asyncio.shield(self.found), timeout)
        finally:
            self.unsubscribe()
        await pilot.pause()
        return event


async def until_event(engine: Engine, pilot: Pilot[Any],
                      match: Callable[[Event], bool], timeout: float = WAIT) -> Event:
    """Wait until the engine's bus carries an event that matches, then let the app catch up."""
    return await Expect(engine, match).wait(pilot, timeout)


async def until_screen(pilot: Pilot[Any], kind: type[Screen[Any]],
                       rounds: int = 400) -> Screen[Any]:
    """Process messages until a screen of `kind` is on top (bounded)."""
    for _ in range(rounds):
        if isinstance(pilot.app.screen, kind):
            return pilot.app.screen
        await pilot.pause()
    raise AssertionError(f"no {kind.__name__} appeared; top screen is {pilot.app.screen!r}")


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for every worker of the app, then for the messages they posted."""
    for worker in list(pilot.app.workers):
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerError):
            pass  # cancelled on purpose, or not started (it will be seen by the caller)
    await pilot.pause()
    await pilot.pause()
