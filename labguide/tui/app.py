"""The Textual app of `labguide run`: walks through a chapter step by step over the engine,
with the VIP pane and the HTTP stream pane. It turns engine/probe events into messages and
widget updates; all I/O stays in the engine and the probes."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from labguide.engine import Engine
from labguide.errors import LabguideError
from labguide.events import (
    InputDone,
    InputWanted,
    LoadStarted,
    Output,
    StepFinished,
    StepStarted,
    StepStatus,
)
from labguide.fold import RepeatFolder
from labguide.i18n import gettext as _
from labguide.steps.load import LoadOptions
from labguide.transports.hostkey import HostKeyQuestion
from labguide.tui import keymap
from labguide.tui import textual_fixes as _textual_fixes  # noqa: F401  (a leak, patched)
from labguide.tui.driver import driver_for
from labguide.tui.flow_actions import FlowActions
from labguide.tui.messages import (
    CurrentStepChanged,
    OutputBatch,
    ProbeEvents,
    StepEvent,
    VipEvents,
)
from labguide.tui.output_actions import OutputActions
from labguide.tui.relay import EventRelay
from labguide.tui.screens.hostkey import HostKeyScreen
from labguide.tui.step_info import StepInfo, output_line
from labguide.tui.stream_actions import StreamActions
from labguide.tui.stream_control import StreamControl
from labguide.tui.widgets.answer import AnswerLine
from labguide.tui.widgets.output import OutputPane
from labguide.tui.widgets.picker import StepPicker
from labguide.tui.widgets.step_view import FailurePanel, StepView
from labguide.tui.widgets.steps import StepTree
from labguide.tui.widgets.stream_pane import StreamPane
from labguide.tui.widgets.vip_pane import VipPane


class LabguideApp(FlowActions, StreamActions, OutputActions):
    CSS_PATH = str(Path(__file__).with_name("labguide.tcss"))  # also for subclasses
    TITLE = "labguide"
    BINDINGS = keymap.bindings()
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    def __init__(self, engine: Engine, *, start: str | None = None,
                 settings: keymap.TuiSettings | None = None, theme: str | None = None,
                 watch: bool = True) -> None:
        super().__init__(driver_class=driver_for(os.environ))
        self.engine = engine
        self.plan = engine.plan
        self.settings = settings or keymap.TuiSettings()
        self.watch_vips = watch
        self.infos: dict[str, StepInfo] = {
            b.id: StepInfo.from_record(engine.results.get(b.id) or (
                engine.state.steps.get(b.id) if engine.state else None), engine.status(b.id))
            for b in self.plan.steps}
        self.current: str = start or engine.next_step() or self.plan.steps[-1].id
        #: Resuming past saved results: check first that the lab still holds them.
        self.resuming = start is None and self.current != self.plan.steps[0].id and any(
            engine.status(b.id).ok for b in self.plan.steps)
        self.plan.bound(self.current)  # an unknown --from is a located error, before the UI
        self.relay = EventRelay(self)  # type: ignore[arg-type]
        self._unsubscribe: Callable[[], None] | None = None
        self.stream = StreamControl(self.plan.url, engine.bus.publish,
                                    rate=self.settings.stream_rate)
        self.watcher: object | None = None
        self._closed = False
        self.folder = RepeatFolder()
        self.asking = asyncio.Lock()  # one question on the screen at a time
        self.title = self.plan.chapter.title
        self.sub_title = f"labguide run {self.plan.chapter.id}"  # i18n: not text
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        chosen = theme or self.settings.theme
        if chosen:
            if chosen not in self.available_themes:
                raise LabguideError(_("unknown theme {theme!r}").format(theme=chosen), hint=_(
                    "themes: {names}").format(names=", ".join(sorted(self.available_themes))))
            self.theme = chosen

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The app keeps its panes rather than calling query_one for each event: Textual's
        # query_one cache is keyed on a counter that every mount below the screen bumps, so
        # each step change would add an entry per selector (1,024 kept) for nothing.
        self.step_tree = StepTree(self.plan, id="steps")
        self.step_view = StepView(self.plan, id="step")
        self.failure_panel = FailurePanel(id="failure")
        self.output_pane = OutputPane(id="output")
        self.answer_line = AnswerLine(id="answer")
        self.vip_pane = VipPane(self.plan.vips, self.plan.chapter.watch.candidates,
                                absent=self.not_created, id="vip")
        # a chapter that watches no VIP (more-web) has nothing true to say there: no pane
        self.vip_pane.display = bool(self.plan.vips)
        self.stream_pane = StreamPane(self.plan.shown_url, id="stream")
        self.jump_panel = StepPicker(self.plan, self.step_view)
        yield Header(icon="≡")
        with Horizontal(id="main"):
            yield self.step_tree
            with Vertical(id="center"):
                yield self.step_view
                yield self.failure_panel
                yield self.output_pane
                yield self.answer_line
            with Vertical(id="live"):
                yield self.vip_pane
                yield self.stream_pane
        yield Footer()

    def on_mount(self) -> None:
        if self._unsubscribe is not None:
            # Textual calls on_mount of every class in the MRO: a subclass that also calls
            # super().on_mount() must not subscribe twice (every event would count twice)
            return
        self.step_tree.build(self.infos)
        # what start-up built lives as long as the app: out of the collector's full passes
        # (each walked ~150,000 objects: a 20–40 ms pause now and then under a key press)
        self.call_after_refresh(gc.freeze)
        self._unsubscribe = self.engine.bus.subscribe(self.relay)
        self.engine.ask_host_keys(self.ask_host_key)
        self.engine.answering = True  # commands that ask run on a terminal; we answer
        self.set_current(self.current)
        self.stream_pane.set_target(self.stream.rate, False)
        if self.watch_vips:
            self.start_watcher()
        if self.resuming:
            self.run_worker(self.verify_resume(), group="resume", exit_on_error=False,
                            description=_("check that the lab holds the saved results"))
        if self.engine.state is not None and self.engine.state.warning:
            self.notify(self.engine.state.warning, title=_("saved results"), severity="warning",
                        timeout=20)

    def on_unmount(self) -> None:
        gc.unfreeze()  # the app is gone: what it kept may be collected again

    # -- helpers ---------------------------------------------------------------------------

    def key_for(self, binding_id: str) -> str:
        for bid, keys, *_rest in keymap.FLOW_KEYS:
            if bid == binding_id:
                return self.settings.keymap.get(bid, keys).split(",")[0]
        return "?"

    def not_created(self, host: str) -> bool:
        """A host that a pending step creates (it waits for its SSH) does not exist yet."""
        for b in self.plan.steps:
            if host in b.step.reaches:
                return not self.infos[b.id].status.ok
        return False

    @property
    def step_running(self) -> bool:
        return any(w.group == "step" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.workers)

    def set_current(self, step_id: str) -> None:
        self.current = step_id
        info = self.infos[step_id]
        with self.batch_update():  # one screen update for the four panes
            self.step_tree.set_current(step_id, self.infos)
            self.step_view.show(step_id, info)
            self.failure_panel.show_for(self.plan, step_id, info, self.keys)
            self.hosts_shown(step_id)
            self.output_pane.show(step_id, info.output)
        self.post_message(CurrentStepChanged(step_id))

    @property
    def keys(self) -> dict[str, str]:
        return {bid: self.key_for(bid) for bid, *_ in keymap.FLOW_KEYS}

    def refresh_step(self, step_id: str) -> None:
        info = self.infos[step_id]
        self.step_tree.update_step(step_id, info)
        if step_id == self.current:
            self.step_view.show_status(info)
            self.failure_panel.show_for(self.plan, step_id, info, self.keys)

    # -- events from the engine and the probes ---------------------------------------------

    def on_step_event(self, message: StepEvent) -> None:
        event = message.event
        step_id = getattr(event, "step_id", None)
        if step_id is None or step_id not in self.infos:
            return
        if isinstance(event, LoadStarted):
            self.load_started(event, self.plan.url is not None)
            return
        if isinstance(event, InputWanted):
            if step_id != self.current:  # show the output that asks
                self.set_current(step_id)
            self.answer_line.ask(step_id, event.host, event.prompt, event.secret)
            return
        if isinstance(event, InputDone):
            self.answer_line.done(step_id, event.host)
            return
        self.infos[step_id].apply(event)
        if isinstance(event, StepStarted) and step_id == self.current:
            self.output_pane.show(step_id, [])
        if isinstance(event, StepFinished):
            self.output_pane.add(self.add_output(step_id, self.folder.flush((step_id,))))
            self.vip_pane.refresh_view()  # a created host now exists
            if isinstance(self.plan.bound(step_id).step.options, LoadOptions) and event.detail:
                self.stream_pane.show_result(step_id, event.detail)
        self.refresh_step(step_id)

    def on_output_batch(self, message: OutputBatch) -> None:
        shown: list[str] = []
        for out in message.lines:
            if out.step_id in self.infos:
                shown += self.add_output(out.step_id, self.folder.feed(
                    (out.step_id, out.host, out.stream), out.line, out.t))
        self.output_pane.add(shown)

    def add_output(self, step_id: str, lines: list[tuple[tuple[str, ...], str]]) -> list[str]:
        """Keep a step's output lines (repeats folded: the transcript has each one); return
        those to show now."""
        info = self.infos[step_id]
        kept = [output_line(Output(step_id, host, stream, line))
                for (_step, host, stream), line in lines]
        info.output.extend(kept)
        return kept if step_id == self.output_pane.step_id else []

    def on_vip_events(self, message: VipEvents) -> None:
        self.vip_pane.feed(message.events)

    def on_probe_events(self, message: ProbeEvents) -> None:
        self.stream_pane.feed(message.events)

    def on_answer_line_given(self, message: AnswerLine.Given) -> None:
        if not self.engine.answer(message.step_id, message.host, message.text):
            self.notify(_("that question is no longer asked"), severity="warning", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the answer line has the keyboard, keys are for the answer (even q)."""
        if self.answer_line.has_focus and action in ("quit", "cancel"):
            return False
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background job that failed says so (workers run with exit_on_error=False)."""
        if event.state == WorkerState.ERROR:
            worker = event.worker
            self.notify(_("{job} failed: {error}").format(
                job=worker.description or worker.name, error=worker.error),
                title=_("error"), severity="error", timeout=15)

    async def ask_host_key(self, question: HostKeyQuestion) -> bool:
        """A host key seen for the first time: the reader decides, one dialog at a time."""
        async with self.asking:
            if await self.push_screen_wait(HostKeyScreen(question)):
                return True
            return False

    async def verify_resume(self) -> None:
        """The earlier checks again; when some fail, the reader chooses what to do."""
        from labguide.resume import verify_resume
        from labguide.tui.screens.resume import START_OVER, ResumeScreen

        self.notify(_("checking that the lab still looks like the earlier steps passed"),
                    timeout=4)
        found = await verify_resume(self.engine, self.current)
        if found.holds or found.first_failing is None:
            self.notify(found.lines()[0], timeout=6)
            return
        choice = await self.push_screen_wait(ResumeScreen(found))
        if choice == START_OVER and self.engine.state is not None:
            self.engine.state.reset()
            self.engine.results.clear()
            for step_id in self.infos:
                self.infos[step_id] = StepInfo.from_record(None, StepStatus.PENDING)
                self.refresh_step(step_id)
            self.set_current(self.plan.steps[0].id)
        else:
            self.set_current(found.first_failing)

    # -- the flow --------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.jump_panel.is_open:
            self.jump_panel.close()
            return
        if self.end_search():
            return
        if isinstance(self.screen, ModalScreen):
            self.screen.dismiss(None)
        if self.step_running:
            self.workers.cancel_group(self, "step")
            self.notify(_("cancelling the running step"), timeout=3)
        elif self.engine.background:
            self.run_worker(self.engine.cancel_background(), group="cancel-bg",
                            description=_("cancel background load steps"))
            self.notify(_("cancelling the background load test"), timeout=3)

    # -- the VIP watcher -----------------------------------------------------------------------

    def start_watcher(self) -> None:
        from labguide.probes.plan_watch import watcher_for

        watcher = watcher_for(self.plan, self.engine.pool, self.engine.bus.publish)
        if watcher is None:
            return
        self.watcher = watcher
        self.run_worker(watcher.run(), group="vip-watch", exit_on_error=False,
                        description=_("VIP watcher"))

    # -- leaving ------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop everything this app started, close the engine (state is saved per step)."""
        if self._closed:
            return
        self._closed = True
        for group in ("step", "vip-watch", "stream"):
            self.workers.cancel_group(self, group)
        await self.stream.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.relay.close()
        await asyncio.shield(self.engine.close())

    def exit_code(self) -> int:
        return 1 if any(i.status == StepStatus.FAILED for i in self.infos.values()) else 0

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit(self.exit_code())


def make_app(engine: Engine, *, start: str | None = None, theme: str | None = None,
             settings: keymap.TuiSettings | None = None, watch: bool = True) -> LabguideApp:
    """The one app factory, used by `labguide run` and by the tests."""
    return LabguideApp(engine, start=start, theme=theme,
                       settings=settings if settings is not None else keymap.load_settings(),
                       watch=watch)
