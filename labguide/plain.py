"""The plain (headless) front-end: prints prose headings, commands and host-prefixed output.

Also the dry run (every command with its values bound, nothing executed).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

import click

from labguide.clock import clock_ms
from labguide.engine import Engine
from labguide.events import (
    Event,
    HostFinished,
    InputWanted,
    Output,
    StepFinished,
    StepStarted,
    StepStatus,
)
from labguide.fold import RepeatFolder
from labguide.i18n import gettext as _
from labguide.i18n import ngettext
from labguide.plan import BoundStep, Plan
from labguide.probes.events import VipAcquired, VipReleased
from labguide.steps import kind_of
from labguide.transports.hostkey import AskHostKey, HostKeyQuestion

#: The first word of a step's result line: stable, for CI logs to grep (`^FAIL `), the same
#: in every language (the message after it is in the reader's). A cancelled step stopped
#: the run as a failure does; its message says it was cancelled.
RESULT = {
    StepStatus.PASSED: "PASS", StepStatus.FAILED: "FAIL", StepStatus.WARNED: "WARN",
    StepStatus.SKIPPED: "SKIP", StepStatus.CANCELLED: "FAIL", StepStatus.RUNNING: "RUN",
}
RESULT_COLOR = {"PASS": "green", "FAIL": "red", "WARN": "yellow"}


def describe(bound: BoundStep) -> str:
    step = bound.step
    kind = kind_of(step)
    hosts = ", ".join(step.hosts)
    extra = []
    if kind.target(bound) and not kind.quotes_values:
        extra.append(kind.target(bound))
    if step.disruptive:
        extra.append(_("disruptive"))
    if step.kind == "reboot":
        extra.append(_("reboots the host"))
    if step.background:
        extra.append(_("in the background"))
    if step.transient:
        extra.append(_("walk-through only"))
    tail = f" — {'; '.join(extra)}" if extra else ""
    title = f" {step.title}:" if step.title else ""  # the chapter's own words, when it has them
    return f"[{step.id}]{title} " + _("{kind} on {hosts}").format(kind=_(kind.verb),
                                                                  hosts=hosts) + tail


def print_dry_run(plan: Plan, out: TextIO = sys.stdout) -> None:
    section = None
    for bound in plan.steps:
        step = bound.step
        if step.section != section:
            section = step.section
            title = plan.chapter.section_of(step.id).title
            out.write(f"\n## {title}\n")
        out.write(f"\n{describe(bound)}\n")
        if bound.message:
            out.write(f"  # {bound.message}\n")
        for host in step.hosts:
            out.write(f"  @{host}\n")
            for line in bound.shown.rstrip("\n").splitlines():
                out.write(f"    {'$ ' if step.shell else ''}{line}\n")


class PlainPrinter:
    """Subscribes to the engine's events and prints them as they come."""

    def __init__(self, plan: Plan, out: TextIO = sys.stdout, color: bool = False) -> None:
        self.plan = plan
        self.out = out
        self.color = color
        self._section: str | None = None
        self._width = max((len(h) for h in plan.hosts_used), default=6)
        self._folder = RepeatFolder()

    def _w(self, text: str, **style: object) -> None:
        if self.color and style:
            text = click.style(text, **style)  # type: ignore[arg-type]
        self.out.write(text + "\n")
        self.out.flush()

    def _lines(self, lines: list[tuple[tuple[str, ...], str]]) -> None:
        """Output lines (repeats folded: the transcript has each one)."""
        for (_step, host, stream), line in lines:
            self._w(f"{host:>{self._width}} | {line}",
                    fg={"stderr": "yellow", "info": "blue"}.get(stream))

    def _vip(self, event: VipAcquired | VipReleased) -> None:
        """A VIP changing hands, as the VIP watcher saw it (its own clock time)."""
        what = (_("{vip} is on {host}").format(vip=event.vip, host=event.host)
                if isinstance(event, VipAcquired)
                else _("{vip} left {host} ({reason})").format(vip=event.vip, host=event.host,
                                                              reason=event.reason))
        self._w(f"{'VIP':>{self._width}} @ {clock_ms(event.t)} {what}", fg="magenta")

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            bound = self.plan.bound(event.step_id)
            step = bound.step
            if step.section != self._section:
                self._section = step.section
                self._w(f"\n== {self.plan.chapter.section_of(step.id).title}", bold=True)
            self._w(f"\n-- {describe(bound)}", fg="cyan")
            if step.shell:
                for line in bound.shown.rstrip("\n").splitlines():
                    self._w(f"   $ {line}", dim=True)
        elif isinstance(event, Output):
            self._lines(self._folder.feed((event.step_id, event.host, event.stream),
                                          event.line, event.t))
        elif isinstance(event, VipAcquired | VipReleased):
            self._vip(event)
        elif isinstance(event, HostFinished) and event.error:
            self._w(f"{event.host:>{self._width}} ✗ {event.error}", fg="red")
        elif isinstance(event, StepFinished):
            self._lines(self._folder.flush((event.step_id,)))
            self._result(event)

    def _result(self, event: StepFinished) -> None:
        """`PASS id (1.2 s) — message`: one line per step result, and a failure's hint."""
        word = RESULT.get(event.status, event.status.value.upper())
        message = event.message or (StepStatus.CANCELLED.word
                                    if event.status == StepStatus.CANCELLED else "")
        msg = f" — {message}" if message else ""
        self._w(f"{word} {event.step_id} ({event.duration:.1f} s){msg}",
                fg=RESULT_COLOR.get(word), bold=word == "FAIL")
        if event.status == StepStatus.FAILED:
            hint = self.plan.bound(event.step_id).hint
            if hint:
                self._w("     " + _("hint: {hint}").format(hint=hint), fg="yellow")


def confirm_prompt(yes: bool) -> object:
    async def confirm(bound: BoundStep) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.ClickException(_(
                "step {step} disrupts the lab and there is no terminal to ask: pass --yes to "
                "run disruptive steps without asking").format(step=bound.id))
        return await asyncio.to_thread(
            click.confirm, f"\n{describe(bound)}\n  " + _("run this disruptive step now?"),
            default=True)

    return confirm


async def run_plain(engine: Engine, *, start: str | None, yes: bool,
                    out: TextIO = sys.stdout, watch: bool = True,
                    answers: Mapping[str, str] | None = None,
                    given: str | None = None, color: bool | None = None) -> StepStatus:
    """Run the plan in order and print it; `given` is the chapter as the command line named
    it (a path stays a path in the "resume with" hint); `color` None: on a terminal."""
    printer = PlainPrinter(engine.plan, out, color=out.isatty() if color is None else color)
    engine.bus.subscribe(printer)
    engine.ask_host_keys(terminal_host_key_asker())
    answering = prompt_answers(engine, answers or {})
    if answering is not None:
        engine.bus.subscribe(answering)
    resume_at = engine.next_step() if start is None else None
    done = sum(1 for b in engine.plan.steps
               if engine.status(b.id) in (StepStatus.PASSED, StepStatus.WARNED))
    if resume_at and done and resume_at != engine.plan.steps[0].id:
        out.write(ngettext("resuming at {step}: {n} step already done (--restart starts over)",
                           "resuming at {step}: {n} steps already done (--restart starts "
                           "over)", done).format(step=resume_at, n=done) + "\n")
        start = await resume_point(engine, resume_at, out, yes)
    watching = start_watch(engine) if watch else None
    try:
        status = await engine.run(start=start, confirm=confirm_prompt(yes))  # type: ignore[arg-type]
    except (KeyboardInterrupt, asyncio.CancelledError):
        nxt = engine.next_step()
        if nxt:
            out.write("\n" + _("interrupted: {step} is not done; the same command resumes "
                                "there").format(step=nxt) + "\n")
        out.flush()
        raise
    finally:
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
        await engine.close()
    summarize(engine, status, out, given)
    return status


#: One question on the terminal at a time (a host key, a command's prompt).
_TERMINAL = asyncio.Lock()


def terminal_host_key_asker() -> AskHostKey | None:
    """OpenSSH's question on the terminal (None without one: new keys are then refused,
    with the fingerprint and the flag that accepts them)."""
    if not sys.stdin.isatty():
        return None

    def ask(question: HostKeyQuestion) -> bool:
        for line in question.lines():
            click.echo(line, err=True)
        while True:
            answer = click.prompt(_("Are you sure you want to continue connecting "
                                    "(yes/no/[fingerprint])?"), err=True, default="",
                                  show_default=False).strip()
            if answer in ("yes", question.fingerprint):
                return True
            if answer == "no":
                return False
            click.echo(_("Please type 'yes', 'no' or the fingerprint."), err=True)

    async def asked(question: HostKeyQuestion) -> bool | None:
        async with _TERMINAL:
            return await asyncio.to_thread(ask, question)

    return asked


def scripted(rules: Mapping[str, str], event: InputWanted) -> str | None:
    """The --answer for a prompt (the first rule whose text is in it); never for a secret."""
    if event.secret:
        return None
    return next((answer for text, answer in rules.items() if text in event.prompt), None)


def prompt_answers(engine: Engine, rules: Mapping[str, str]) -> Callable[[Event], None] | None:
    """Answers commands' prompts: by --answer rules, else on the terminal (a secret one
    without echo). None when neither can: commands then run without a terminal."""
    tty = sys.stdin.isatty()
    if not tty and not rules:
        return None
    engine.answering = True
    tasks: set[asyncio.Task[None]] = set()

    async def answer(event: InputWanted) -> None:
        text = scripted(rules, event)
        if text is None and not tty:
            return  # nobody to ask: the step fails at its timeout, naming the prompt
        if text is None:
            async with _TERMINAL:
                text = await asyncio.to_thread(
                    click.prompt, _("{host} asks: {prompt}").format(host=event.host,
                                                                   prompt=event.prompt),
                    hide_input=event.secret, default="", show_default=False, err=True)
        engine.answer(event.step_id, event.host, text)

    def heard(event: Event) -> None:
        if isinstance(event, InputWanted):
            task = asyncio.get_running_loop().create_task(answer(event))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return heard


async def resume_point(engine: Engine, resume_at: str, out: TextIO, yes: bool) -> str | None:
    """Check that the lab still holds the earlier results before resuming; when it does not,
    say which and let the reader start over or resume at the first check that fails (the
    latter without a terminal to ask on). Returns where to start (None: where it was)."""
    from labguide.resume import verify_resume

    out.write(_("checking that the lab still looks like the earlier steps passed") + " …\n")
    out.flush()
    found = await verify_resume(engine, resume_at)
    for line in found.lines():
        out.write(f"{line}\n")
    if found.holds or found.first_failing is None:
        return None
    first = found.first_failing
    choice = "r"
    if sys.stdin.isatty() and not yes:
        choice = await asyncio.to_thread(
            click.prompt, _("[s]tart over, or [r]esume at {step} (the first check that "
                            "fails)?").format(step=first),
            type=click.Choice(["s", "r"]), default="r")
    else:
        out.write(_("resuming at {step}, the first check that fails (--restart starts "
                    "over)").format(step=first) + "\n")
    if choice == "s" and engine.state is not None:
        engine.state.reset()
        engine.results.clear()
        return engine.plan.steps[0].id
    return first


def start_watch(engine: Engine) -> asyncio.Task[None] | None:
    """The VIP watcher, beside the run: its events go to the bus (printed, and heard by
    load steps to say when a VIP moved)."""
    from labguide.probes.plan_watch import watcher_for

    watcher = watcher_for(engine.plan, engine.pool, engine.bus.publish)
    return None if watcher is None else asyncio.create_task(watcher.run(), name="vip-watch")


def summarize(engine: Engine, status: StepStatus, out: TextIO,
              given: str | None = None) -> None:
    """The counts; then every step that failed with its message and hint (as in the step's
    own line, so that `grep ^FAIL` finds it at the end of a long log too); how to resume."""
    counts = {s: sum(1 for r in engine.results.values() if r.status == s) for s in StepStatus}
    out.write("\n" + _("{passed} passed, {failed} failed — run {status}").format(
        passed=counts[StepStatus.PASSED], failed=counts[StepStatus.FAILED],
        status=status.word) + "\n")
    others = [f"{counts[s]} {s.word}" for s in (StepStatus.WARNED, StepStatus.SKIPPED,
                                               StepStatus.CANCELLED) if counts[s]]
    if others:
        out.write(f"({', '.join(others)})\n")
    for step_id, rec in engine.results.items():
        if rec.status not in (StepStatus.FAILED, StepStatus.CANCELLED):
            continue
        # FAIL, as on the step's own line: a word for logs to grep, the same in every language
        out.write(f"FAIL {step_id} — {rec.message or rec.status.word}\n")  # i18n: not text
        hint = engine.plan.bound(step_id).hint
        if hint:
            out.write("     " + _("hint: {hint}").format(hint=hint) + "\n")
    if engine.plan.partial:
        n = len(engine.plan.partial)
        out.write(f"--limit {','.join(engine.plan.limit)}: " + ngettext(
            "the result of the {n} step that ran on part of its hosts is not saved as the "
            "step's result", "the results of the {n} steps that ran on part of their hosts "
            "are not saved as the steps' results", n).format(n=n) + "\n")
    if status in (StepStatus.FAILED, StepStatus.CANCELLED):
        nxt = engine.next_step()
        if nxt:
            name = shlex.quote(given or engine.plan.chapter.id)
            out.write(_("resume with: {command} (continues at {step}) or --from {step}").format(
                command=f"labguide run {name} --plain", step=nxt) + "\n")
