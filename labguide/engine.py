"""The engine: runs a plan's steps on their hosts, in order, and publishes what happens.

It sequences steps and records their results (state on disk for resume and --from, a JSONL
transcript); what a step does is its kind's (labguide/steps/), reached through the registry
and a `StepContext`. It knows no step kind, no front-end and no UI library: the TUI, the
plain runner and --check subscribe to its bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from labguide.errors import LabguideError
from labguide.events import (
    Event,
    EventBus,
    Output,
    RunFinished,
    StepFinished,
    StepStarted,
    StepStatus,
)
from labguide.i18n import gettext as _
from labguide.plan import BoundStep, Plan
from labguide.redact import Redactor
from labguide.state import RunState, StepRecord, Transcript
from labguide.steps import kind_of
from labguide.steps.context import Mode, StepContext, Verdict
from labguide.transports.base import Transport
from labguide.transports.hostkey import AskHostKey, HostKeyQuestion
from labguide.transports.pool import TransportPool

__all__ = ["Confirm", "Engine", "Mode", "TransportPool"]

Confirm = Callable[[BoundStep], Awaitable[bool]]
#: Results that end a walk-through: the next step does not run after them.
STOPS = (StepStatus.FAILED, StepStatus.CANCELLED)


class Engine:
    """Runs steps of one plan. Also the `RunServices` that each step's context uses."""

    def __init__(
        self,
        plan: Plan,
        *,
        bus: EventBus | None = None,
        state: RunState | None = None,
        transcript: Transcript | None = None,
        mode: Mode = "run",
        pool: TransportPool | None = None,
        accept_new_host_keys: bool = False,
    ) -> None:
        self.plan = plan
        self.bus = bus or EventBus()
        self.state = state
        self.transcript = transcript
        self.mode: Mode = mode
        self.pool = pool or TransportPool(plan, accept_new_host_keys=accept_new_host_keys)
        self.redactor = Redactor(plan.secrets)
        self._background: dict[str, asyncio.Task[StepRecord]] = {}
        self.results: dict[str, StepRecord] = {}
        #: Whether a front-end answers commands' prompts (then `run` steps get a terminal).
        self.answering = False
        self._answers: dict[tuple[str, str], asyncio.Future[str | None]] = {}
        if transcript is not None:
            self.bus.subscribe(self._keep_in_transcript)

    # -- what a step's context reaches (RunServices) ------------------------------------

    def transport(self, host: str) -> Transport:
        return self.pool.get(host)

    def redact(self, text: str) -> str:
        return self.redactor(text)

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    def keep_secret(self, text: str) -> None:
        """A secret typed by the reader (a password at a prompt): masked from now on."""
        self.redactor.add(text)

    def wait_answer(self, step_id: str, host: str) -> asyncio.Future[str | None]:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._answers[(step_id, host)] = future
        future.add_done_callback(lambda _f: self._answers.pop((step_id, host), None))
        return future

    def answer(self, step_id: str, host: str, text: str | None) -> bool:
        """The reader's answer to a prompt of `step_id` on `host` (InputWanted); None: no
        answer (the command goes on waiting until its timeout). False if none is pending."""
        future = self._answers.get((step_id, host))
        if future is None or future.done():
            return False
        if text is None:
            return True
        future.set_result(text)
        return True

    @property
    def waiting_for(self) -> tuple[tuple[str, str], ...]:
        """(step, host) of the prompts waiting for an answer now."""
        return tuple(self._answers)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self.bus.subscribe(listener)

    def note(self, event: str, **data: Any) -> None:
        """A record in the transcript."""
        if self.transcript is not None:
            self.transcript.write({"t": round(time.time(), 4), "event": event, **data})

    def _keep_in_transcript(self, event: Event) -> None:
        """Events that give a record of themselves (`transcript()`: VIP ownership, hosts'
        reachability, a load's start and the prober's windows) go to the transcript at their
        own time, for `labguide report`."""
        record = getattr(event, "transcript", None)
        if callable(record) and self.transcript is not None:
            self.transcript.write({"t": round(event.t, 4), **record()})

    def ask_host_keys(self, ask: AskHostKey | None) -> None:
        """Who answers a host key seen for the first time (a front-end: the TUI's dialog, a
        terminal's prompt; None: such keys are refused). Refusals go to the transcript;
        accepted keys are said at the end of the step that met them."""
        if ask is None:
            self.pool.ask_host_key = None
            return

        async def asked(question: HostKeyQuestion) -> bool | None:
            answer = await ask(question)
            if answer is False:
                self.note("host_key_refused", host=question.host, address=question.where,
                          key_type=question.key_type, fingerprint=question.fingerprint)
            return answer

        self.pool.ask_host_key = asked

    # -- queries ------------------------------------------------------------------------

    def status(self, step_id: str) -> StepStatus:
        if step_id in self._background:
            return StepStatus.RUNNING
        if step_id in self.results:
            return self.results[step_id].status
        return self.state.status(step_id) if self.state else StepStatus.PENDING

    def next_step(self) -> str | None:
        """The first step that has not passed (where a resumed run continues)."""
        for b in self.plan.steps:
            if not self.status(b.id).ok:
                return b.id
        return None

    def _record(self, step_id: str, rec: StepRecord) -> None:
        self.results[step_id] = rec
        # a step run on part of its hosts (--limit) did not pass or fail as a whole
        if self.state is not None and self.mode == "run" and step_id not in self.plan.partial:
            self.state.cursor = step_id
            self.state.record(step_id, rec)

    def skip(self, step_id: str, reason: str = "") -> StepRecord:
        """Record a step as skipped by the user (saved, in the transcript, on the bus)."""
        reason = reason or StepStatus.SKIPPED.word
        bound = self.plan.bound(step_id)
        rec = StepRecord(status=StepStatus.SKIPPED, finished_at=time.time(), message=reason)
        self._record(step_id, rec)
        self.note("step_finished", step=step_id, status="skipped", duration=0, message=reason)
        self.publish(StepFinished(bound.id, StepStatus.SKIPPED, 0.0, reason))
        return rec

    # -- running one step ------------------------------------------------------------------

    async def run_step(self, step_id: str, *, hosts: tuple[str, ...] | None = None
                       ) -> StepRecord:
        """Run one step and record the result. Cancelling records CANCELLED.

        `hosts` narrows a step to some of its hosts (--check leaves out hosts that do not
        exist yet).
        """
        bound = self.plan.bound(step_id)
        if hosts is not None:
            assert set(hosts) <= set(bound.step.hosts), hosts
            bound = dataclasses.replace(
                bound, step=dataclasses.replace(bound.step, hosts=hosts))
        if self.mode == "check" and not kind_of(bound.step).allowed_in_check(bound):
            raise LabguideError(
                _("step {step} changes the lab; --check runs only read-only checks").format(
                    step=step_id), bound.step.location)
        ctx = self._start(bound)
        if bound.step.background:
            return self._start_background(ctx)
        return await self._run_recorded(ctx)

    def _start(self, bound: BoundStep) -> StepContext:
        """The step starts now (its kind hears of it at once, even if it runs later)."""
        step = bound.step
        ctx = StepContext(bound, self)
        self.publish(StepStarted(step.id, step.hosts, step.delay))
        self.note("step_started", step=step.id, kind=step.kind, hosts=list(step.hosts),
                  script=self.redact(bound.shown), path=bound.shown_path,
                  disruptive=step.disruptive, section=step.section, delay=step.delay)
        kind_of(step).starting(ctx)
        return ctx

    async def _run_recorded(self, ctx: StepContext) -> StepRecord:
        step = ctx.step
        started = time.monotonic()
        try:
            if step.delay:
                for host in step.hosts:
                    ctx.emit(host, "info", _("waiting {seconds} s before running (delay={delay})"
                                             ).format(seconds=f"{step.delay:g}",
                                                      delay=f"{step.delay:g}"), keep=False)
                await asyncio.sleep(step.delay)
            verdict = await kind_of(step).run(ctx)
        except asyncio.CancelledError:
            self._finish(ctx, Verdict(StepStatus.CANCELLED, StepStatus.CANCELLED.word), started)
            raise
        except LabguideError as exc:
            verdict = Verdict(StepStatus.FAILED, self.redact(str(exc)))
        except Exception as exc:  # a bug or an unforeseen input: recorded, never lost
            self.note("error", step=step.id, traceback=self.redact(traceback.format_exc()))
            verdict = Verdict(StepStatus.FAILED, self.redact(_(
                "labguide could not run this step ({error}); the transcript has the traceback"
            ).format(error=f"{type(exc).__name__}: {exc}")))
        ctx.say_unlogged()
        return self._finish(ctx, verdict, started)

    def _finish(self, ctx: StepContext, verdict: Verdict, started: float) -> StepRecord:
        bound = ctx.bound
        duration = time.monotonic() - started
        detail = verdict.detail or {}
        message = self.redact(verdict.message)  # a kind's message may quote a host's file
        rec = StepRecord(status=verdict.status, duration=duration, finished_at=time.time(),
                         message=message, hosts=dict(ctx.host_records()), detail=detail)
        self._record(bound.id, rec)
        self.note("step_finished", step=bound.id, status=verdict.status.value,
                  duration=round(duration, 3), message=message, detail=detail,
                  hosts={h: {k: v for k, v in o.items() if k != "tail"}
                         for h, o in rec.hosts.items()})
        self._say_accepted_keys(bound)
        if self.transcript is not None:
            self.transcript.sync()
        self.publish(StepFinished(bound.id, verdict.status, duration, message, detail))
        return rec

    def _say_accepted_keys(self, bound: BoundStep) -> None:
        """Host keys accepted on first contact during the step: in the transcript and shown."""
        for host in bound.step.hosts:
            accepted = self.pool.get(host).accepted_keys
            while accepted:
                key = accepted.pop(0)
                self.note("host_key_accepted", host=host, fingerprint=key)
                self.publish(Output(bound.id, host, "info",
                                    f"accepted and recorded a new host key: {key}"))

    async def preview(self, step_id: str) -> dict[str, list[str]]:
        """What a step would change, per host, read now (a file step's diff), or {}."""
        bound = self.plan.bound(step_id)
        return await kind_of(bound.step).preview(StepContext(bound, self))

    # -- background steps (load tests that run while the next steps break things) -------

    def _start_background(self, ctx: StepContext) -> StepRecord:
        step_id = ctx.bound.id
        task = asyncio.create_task(self._run_recorded(ctx), name=f"background:{step_id}")
        self._background[step_id] = task
        task.add_done_callback(lambda _t: self._background.pop(step_id, None))
        return StepRecord(status=StepStatus.RUNNING, message=_("running in the background"))

    @property
    def background(self) -> tuple[str, ...]:
        return tuple(self._background)

    def background_elsewhere(self, step_id: str) -> tuple[str, ...]:
        """Background steps of other sections than `step_id`'s: they end before it starts,
        so that one test's numbers never include the next one's faults."""
        section = self.plan.bound(step_id).step.section
        return tuple(s for s in self._background
                     if self.plan.bound(s).step.section != section)

    async def wait_background(self) -> None:
        while self._background:
            await asyncio.gather(*self._background.values(), return_exceptions=True)

    async def cancel_background(self) -> None:
        for task in list(self._background.values()):
            task.cancel()
        await self.wait_background()

    # -- whole runs (used by the plain runner; the TUI drives run_step itself) ----------

    def _first(self, start: str | None) -> int | None:
        if start:
            return self.plan.index(start)
        nxt = self.next_step()
        return None if nxt is None else self.plan.index(nxt)

    async def run(self, *, start: str | None = None, confirm: Confirm | None = None,
                  stop_after: str | None = None) -> StepStatus:
        """Run steps in order from start (default: where the last run stopped)."""
        first = self._first(start)
        final, last = StepStatus.PASSED, None
        try:
            for bound in self.plan.steps[first:] if first is not None else ():
                if self.background_elsewhere(bound.id):
                    await self.wait_background()
                if confirm is not None and bound.step.disruptive and not await confirm(bound):
                    self.results[bound.id] = StepRecord(status=StepStatus.CANCELLED,
                                                        message=_("not confirmed"))
                    final, last = StepStatus.CANCELLED, bound.id
                    break
                rec = await self.run_step(bound.id)
                last = bound.id
                if rec.status in STOPS:
                    final = rec.status
                    break
                if stop_after and bound.id == stop_after:
                    break
            await self.wait_background()
            failed = [sid for sid, r in self.results.items() if r.status == StepStatus.FAILED]
            if failed and final == StepStatus.PASSED:
                final, last = StepStatus.FAILED, failed[0]
        finally:
            self.publish(RunFinished(final, last))
        return final

    async def close(self) -> None:
        await self.cancel_background()
        await self.pool.close()
        if self.transcript is not None:
            self.transcript.close()
