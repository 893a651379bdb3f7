"""The stream pane's actions, mixed into the app: the pane's own prober (start, stop,
re-rate) and what a load step does to the pane (its prober feeds it; real k6 on a lab host
is sampled from here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from labguide.errors import LabguideError
from labguide.events import LoadStarted
from labguide.i18n import gettext as _
from labguide.steps.load import K6

if TYPE_CHECKING:
    from labguide.engine import Engine
    from labguide.tui.stream_control import StreamControl
    from labguide.tui.widgets.stream_pane import StreamPane

#: While real k6 carries a load step, the pane only samples the VIP from here at this rate:
#: enough to see an outage to within 20 ms, without adding a second full load to the lab.
MIRROR_RATE = 50


class StreamActions(App[int]):
    """The app's stream-pane half (LabguideApp is built on it); needs the app's `engine`,
    `stream` (StreamControl) and `stream_pane`."""

    engine: Engine
    stream: StreamControl
    stream_pane: StreamPane

    def load_started(self, event: LoadStarted, can_mirror: bool) -> None:
        """A load step sends its load: labguide's prober feeds the stream pane itself; while
        real k6 carries it on a lab host, the pane samples the same URL from here, lightly,
        for the rest of its duration."""
        self.run_worker(self.stream.stop(), group="stream", exclusive=True,
                        description=_("stop the stream for a load step"))
        pane = self.stream_pane
        if event.tool != K6 or not can_mirror:
            pane.start(_("load step {step} (labguide's prober, {origin})").format(
                step=event.step_id, origin=event.origin), event.rate)
            return
        rate = int(min(event.rate, MIRROR_RATE))
        pane.start(_("load step {step}: k6 on {origin} sends {rate}/s; sampled from here at "
                     "{sample}/s").format(step=event.step_id, origin=event.origin,
                                          rate=f"{event.rate:g}", sample=rate), rate)
        self.stream.rate = rate
        # kept alive like k6's VUs, so the sample sees what k6's connections see
        self.run_worker(self._start_stream(event.duration, "keepalive"), group="stream",
                        exclusive=True, exit_on_error=False,
                        description=_("mirror load step {step}").format(step=event.step_id))

    def action_toggle_stream(self) -> None:
        pane = self.stream_pane
        if self.engine.background:
            self.notify(_("a load step drives the stream now"), severity="warning")
            return
        if self.stream.running:
            self.run_worker(self.stream.stop(), group="stream", exclusive=True,
                            description=_("stop the stream"))
            pane.set_target(self.stream.rate, False)
            return
        pane.start(_("interactive"), self.stream.rate)
        self.run_worker(self._start_stream(), group="stream", exclusive=True,
                        exit_on_error=False, description=_("start the stream"))

    async def _start_stream(self, duration: float | None = None,
                            connections: str = "auto") -> None:
        try:
            await self.stream.start(duration, connections)
        except LabguideError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            self.stream_pane.set_target(self.stream.rate, False)

    def action_rate_up(self) -> None:
        self.stream_pane.set_target(self.stream.change_rate(True), self.stream.running)

    def action_rate_down(self) -> None:
        self.stream_pane.set_target(self.stream.change_rate(False), self.stream.running)

