"""Starts, stops and re-rates the stream pane's own prober (GET the chapter's URL from this
machine, in the prober's worker process). Bounded: it stops by itself after `max_duration`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from labguide.errors import LabguideError
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.probes.http_prober import Prober
from labguide.tui.keymap import rate_step


class StreamControl:
    def __init__(self, url: str | None, publish: Callable[[Event], None], *, rate: int = 10,
                 max_duration: float = 900.0) -> None:
        self.url = url
        self.publish = publish
        self.rate = rate
        self.max_duration = max_duration
        self.prober: Prober | None = None

    @property
    def running(self) -> bool:
        return self.prober is not None and self.prober.running and self.prober.summary is None

    async def start(self, duration: float | None = None, connections: str = "auto") -> None:
        """Start the prober; `connections` "auto" connects per request at interactive rates
        (like curl) and keeps connections alive at load rates (like k6's VUs)."""
        if self.url is None:
            raise LabguideError(_("the chapter names no URL to stream (front matter watch.url)"))
        await self.stop()
        self.prober = Prober(self.url, self.rate, duration=min(duration or self.max_duration,
                                                               self.max_duration),
                             publish=self.publish, connections=connections)
        await self.prober.start()

    async def stop(self) -> None:
        prober, self.prober = self.prober, None
        if prober is not None and prober.running:
            with contextlib.suppress(LabguideError):
                await prober.stop()

    def change_rate(self, up: bool) -> int:
        self.rate = rate_step(self.rate, up)
        if self.running and self.prober is not None:
            self.prober.set_rate(self.rate)
        return self.rate
