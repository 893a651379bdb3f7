"""The public door from a step kind to the run: `StepContext`, and each host's `HostOutcome`.

A kind module runs its step only through this: emit output, run or capture a command on a
host, publish probe events, reach a host's transport. The engine makes one per step run.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from labguide.errors import HostError
from labguide.events import Event, HostFinished, InputDone, InputWanted, Output, StepStatus
from labguide.i18n import gettext as _
from labguide.plan import BoundStep
from labguide.transports.base import Ask, Captured, CommandResult, Transport
from labguide.transports.prompts import Prompt, may_ask

Mode = Literal["run", "check"]
TAIL_LINES = 200
#: Output a step keeps in memory per host (the last lines: where k6's summary and a check's
#: verdict are); older lines are still shown and written to the transcript.
KEPT_LINES = 10_000
#: Characters of one output line that are kept and shown; the rest is cut with a marker.
LINE_MAX = 16_384
#: Output lines of one step and host written to the transcript; beyond, they are counted.
TRANSCRIPT_LINES = 100_000
#: Worst first: the step's status is its hosts' worst.
SEVERITY = (StepStatus.FAILED, StepStatus.WARNED, StepStatus.PASSED)


@dataclass(frozen=True)
class Verdict:
    """How a step (or one host's part of it) ended; `detail` is kept with its result."""

    status: StepStatus
    message: str = ""
    detail: dict[str, Any] | None = None


@dataclass
class HostOutcome:
    """What one host did for the step: its last output lines, exit status and verdict."""

    exit_status: int | None = None
    duration: float = 0.0
    reason: str | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stdout: deque[str] = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    status: str = ""
    message: str = ""
    #: Output lines seen, and those left out of the transcript (over TRANSCRIPT_LINES).
    lines: int = 0
    unlogged: int = 0

    def as_record(self) -> dict[str, Any]:
        record = {"status": self.status, "message": self.message,
                  "exit_status": self.exit_status, "duration": round(self.duration, 3),
                  "reason": self.reason, "tail": list(self.tail)[-40:]}
        if self.unlogged:
            record["unlogged_lines"] = self.unlogged
        return record

    def took(self, result: CommandResult) -> None:
        self.exit_status = result.exit_status
        self.reason = result.reason


def cut(line: str) -> str:
    """A line of at most LINE_MAX characters, with what was cut said."""
    if len(line) <= LINE_MAX:
        return line
    return f"{line[:LINE_MAX]} … ({len(line) - LINE_MAX:,} more characters not kept)"


class RunServices(Protocol):
    """What the engine lends a step's context (implemented by the engine)."""

    mode: Mode
    #: A front-end answers prompts (the TUI, plain mode on a terminal): commands that may
    #: ask something then run on a terminal.
    answering: bool

    def transport(self, host: str) -> Transport: ...
    def redact(self, text: str) -> str: ...
    def keep_secret(self, text: str) -> None: ...
    def wait_answer(self, step_id: str, host: str) -> asyncio.Future[str | None]: ...
    def publish(self, event: Event) -> None: ...
    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]: ...
    def note(self, event: str, **data: Any) -> None: ...


class StepContext:
    """One run of one step: what a kind may do, and the per-host outcomes it fills."""

    def __init__(self, bound: BoundStep, services: RunServices) -> None:
        self.bound = bound
        self.step = bound.step
        self.services = services
        self.mode: Mode = services.mode
        self.outcomes: dict[str, HostOutcome] = {h: HostOutcome() for h in bound.step.hosts}
        #: What the kind keeps from `starting` to `run` (this run of this step only).
        self.kept: dict[str, Any] = {}

    # -- what a kind reaches -----------------------------------------------------------

    def transport(self, host: str) -> Transport:
        return self.services.transport(host)

    def redact(self, text: str) -> str:
        return self.services.redact(text)

    def publish(self, event: Event) -> None:
        self.services.publish(event)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Hear the run's events (other steps, VIP moves) until the returned call."""
        return self.services.subscribe(listener)

    def note(self, event: str, **data: Any) -> None:
        """A record in the run's transcript (masked by the caller where it holds values)."""
        self.services.note(event, step=self.bound.id, **data)

    def emit(self, host: str, stream: str, line: str, *, keep: bool = True,
             kept_by: str | None = None) -> None:
        """One line of output of `host` (masked), to the transcript and the front-ends; kept
        in the outcome of `kept_by` (default: `host`) for the step's record."""
        line = self.redact(cut(line))
        outcome = self.outcomes.get(kept_by or host)
        if keep and outcome is not None:
            outcome.tail.append(line)
            if stream == "stdout":
                outcome.stdout.append(line)
        if outcome is None or outcome.lines < TRANSCRIPT_LINES:
            self.services.note("output", step=self.bound.id, host=host, stream=stream,
                               line=line)
        else:
            outcome.unlogged += 1
        if outcome is not None:
            outcome.lines += 1
        self.publish(Output(self.bound.id, host, stream, line))

    def say_unlogged(self) -> None:
        """At the step's end: how many output lines the transcript did not get."""
        for host, outcome in self.outcomes.items():
            if outcome.unlogged:
                line = (f"{outcome.unlogged:,} more output lines were shown but not written "
                        f"to the transcript (it keeps the first {TRANSCRIPT_LINES:,} of a step)")
                self.services.note("output", step=self.bound.id, host=host, stream="info",
                                   line=line)
                self.publish(Output(self.bound.id, host, "info", line))

    # -- commands ------------------------------------------------------------------------

    async def run(self, host: str, script: str, timeout: float, *,
                  interactive: bool | None = False) -> CommandResult:
        """Run `script` on `host`, its output shown as it comes; fills the host's outcome.
        `interactive`: what the command asks is put to the reader (when a front-end
        answers), the command running on a terminal; None: if the script runs a command that
        may ask (prompts.may_ask)."""
        outcome = self.outcomes[host]
        outcome.stdout.clear()
        wanted = may_ask(script) if interactive is None else interactive
        ask = self.asker(host) if wanted and self.services.answering else None
        result = await self.transport(host).run(
            script, lambda stream, line: self.emit(host, stream, line), timeout=timeout,
            ask=ask)
        outcome.took(result)
        self._noted(host, result)
        return result

    def asker(self, host: str) -> Ask:
        """Puts a command's prompt to the reader (InputWanted) and waits for the answer; a
        secret answer is masked wherever it might show up afterwards."""

        async def ask(prompt: Prompt) -> str | None:
            waiting = self.services.wait_answer(self.bound.id, host)
            self.note("input_wanted", host=host, prompt=self.redact(prompt.text),
                      secret=prompt.secret)
            self.publish(InputWanted(self.bound.id, host, self.redact(prompt.text),
                                     prompt.secret))
            try:
                answer = await waiting
            finally:
                self.publish(InputDone(self.bound.id, host, waiting.done()
                                       and not waiting.cancelled()
                                       and waiting.result() is not None))
            if answer is not None and prompt.secret:
                self.services.keep_secret(answer)
            if answer is not None:
                self.note("input_given", host=host,
                          answer=None if prompt.secret else self.redact(answer))
            return answer

        return ask

    async def capture(self, host: str, script: str, timeout: float) -> Captured:
        """Run `script` on `host` without showing its output (show it later with `show`)."""
        captured = await self.transport(host).capture(script, timeout=timeout)
        outcome = self.outcomes.get(host)
        if outcome is not None:
            outcome.took(captured.result)
            outcome.stdout.clear()
            outcome.stdout.extend(self.redact(cut(line)) for line in captured.stdout)
            outcome.tail.clear()
            outcome.tail.extend(self.redact(cut(line)) for line in captured.lines)
        self._noted(host, captured.result)
        return captured

    def show(self, host: str, lines: list[str] | tuple[str, ...] | deque[str]) -> None:
        """Show lines already kept in the host's outcome (a wait's last try)."""
        for line in lines:
            self.emit(host, "stdout", line, keep=False)

    def _noted(self, host: str, result: CommandResult) -> None:
        self.note("command", host=host, exit_status=result.exit_status, reason=result.reason,
                  duration=round(result.duration, 3))

    # -- steps that act on every host at once ---------------------------------------------

    async def per_host(self, action: Callable[[str], Awaitable[Verdict]], *,
                       timeout: float | None = None) -> Verdict:
        """Run `action` on every host concurrently; the step gets the worst verdict. With a
        `timeout`, an action still running then is cancelled (what it runs on the host
        ends with it) and fails."""

        async def one(host: str) -> Verdict:
            t0 = time.monotonic()
            outcome = self.outcomes[host]
            try:
                async with asyncio.timeout(timeout):
                    verdict = await action(host)
            except TimeoutError:
                outcome.reason = "timeout"
                verdict = Verdict(StepStatus.FAILED, _("timed out after {seconds} s").format(
                    seconds=f"{timeout:g}"))
                self.emit(host, "stderr", verdict.message)
            except HostError as exc:
                verdict = Verdict(StepStatus.FAILED, self.redact(str(exc)))
                outcome.reason = "unreachable"
                self.emit(host, "stderr", verdict.message)
            outcome.duration = time.monotonic() - t0
            # a kind's message may quote what it found on the host (a secret in a file)
            verdict = Verdict(verdict.status, self.redact(verdict.message), verdict.detail)
            outcome.status, outcome.message = verdict.status.value, verdict.message
            self.publish(HostFinished(self.bound.id, host, outcome.exit_status,
                                      outcome.duration,
                                      None if verdict.status.ok else verdict.message))
            return verdict

        hosts = self.step.hosts
        results = await asyncio.gather(*(one(h) for h in hosts))
        worst = min((v.status for v in results),
                    key=lambda s: SEVERITY.index(s) if s in SEVERITY else len(SEVERITY))
        said = [f"{h}: {v.message}" for h, v in zip(hosts, results, strict=True)
                if v.message and v.status == worst]
        if worst == StepStatus.PASSED:
            only = said[0].split(": ", 1)[1] if len(said) == 1 else ""
            return Verdict(worst, self.bound.message or only)
        return Verdict(worst, "; ".join(said))

    def host_records(self) -> Mapping[str, dict[str, Any]]:
        return {h: o.as_record() for h, o in self.outcomes.items()}
