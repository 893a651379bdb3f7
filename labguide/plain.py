"""The plain (headless) front-end: prints prose headings, commands and host-prefixed output.

Also the dry run (every command with its values bound, nothing executed).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

import click

from labguide.engine import Engine
from labguide.events import Event, HostFinished, Output, StepFinished, StepStarted, StepStatus
from labguide.plan import BoundStep, Plan

MARK = {
    StepStatus.PASSED: "✓", StepStatus.FAILED: "✗", StepStatus.WARNED: "!",
    StepStatus.SKIPPED: "-", StepStatus.CANCELLED: "⊘", StepStatus.RUNNING: "…",
}
KIND_VERB = {"run": "run", "check": "check", "wait": "wait until", "file": "write",
             "qm": "Proxmox API", "load": "load test"}


def describe(bound: BoundStep) -> str:
    step = bound.step
    hosts = ", ".join(step.hosts)
    extra = []
    if step.kind == "file":
        extra.append(f"{bound.shown_path}" + (" (sudo)" if step.sudo else ""))
    if step.disruptive:
        extra.append("disruptive")
    if step.reboot:
        extra.append("reboots the host")
    if step.background:
        extra.append("in the background")
    if step.transient:
        extra.append("walk-through only")
    tail = f" — {'; '.join(extra)}" if extra else ""
    return f"[{step.id}] {KIND_VERB[step.kind]} on {hosts}{tail}"


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
                out.write(f"    {'' if step.kind == 'file' else '$ '}{line}\n")


class PlainPrinter:
    """Subscribes to the engine's events and prints them as they come."""

    def __init__(self, plan: Plan, out: TextIO = sys.stdout, color: bool = False) -> None:
        self.plan = plan
        self.out = out
        self.color = color
        self._section: str | None = None
        self._width = max((len(h) for h in plan.hosts_used), default=6)

    def _w(self, text: str, **style: object) -> None:
        if self.color and style:
            text = click.style(text, **style)  # type: ignore[arg-type]
        self.out.write(text + "\n")
        self.out.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            bound = self.plan.bound(event.step_id)
            step = bound.step
            if step.section != self._section:
                self._section = step.section
                self._w(f"\n== {self.plan.chapter.section_of(step.id).title}", bold=True)
            self._w(f"\n-- {describe(bound)}", fg="cyan")
            if step.kind != "file":
                for line in bound.shown.rstrip("\n").splitlines():
                    self._w(f"   $ {line}", dim=True)
        elif isinstance(event, Output):
            self._w(f"{event.host:>{self._width}} | {event.line}",
                    fg={"stderr": "yellow", "info": "blue"}.get(event.stream))
        elif isinstance(event, HostFinished) and event.error:
            self._w(f"{event.host:>{self._width}} ✗ {event.error}", fg="red")
        elif isinstance(event, StepFinished):
            mark = MARK.get(event.status, "?")
            msg = f" — {event.message}" if event.message else ""
            color = {"passed": "green", "failed": "red", "warned": "yellow"}.get(event.status)
            self._w(f"{mark} {event.step_id} {event.status.value} ({event.duration:.1f} s){msg}",
                    fg=color)
            if event.status == StepStatus.FAILED:
                hint = self.plan.bound(event.step_id).hint
                if hint:
                    self._w(f"  hint: {hint}", fg="yellow")


def confirm_prompt(yes: bool) -> object:
    async def confirm(bound: BoundStep) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"step {bound.id} disrupts the lab and there is no terminal to ask: "
                "pass --yes to run disruptive steps without asking")
        return await asyncio.to_thread(
            click.confirm, f"\n{describe(bound)}\n  run this disruptive step now?", default=True)

    return confirm


async def run_plain(engine: Engine, *, start: str | None, yes: bool,
                    out: TextIO = sys.stdout) -> StepStatus:
    printer = PlainPrinter(engine.plan, out, color=out.isatty())
    engine.bus.subscribe(printer)
    resume_at = engine.next_step() if start is None else None
    done = sum(1 for b in engine.plan.steps
               if engine.status(b.id) in (StepStatus.PASSED, StepStatus.WARNED))
    if resume_at and done and resume_at != engine.plan.steps[0].id:
        out.write(f"resuming at {resume_at}: {done} step(s) already done "
                  "(--restart starts over)\n")
    try:
        status = await engine.run(start=start, confirm=confirm_prompt(yes))  # type: ignore[arg-type]
    except (KeyboardInterrupt, asyncio.CancelledError):
        nxt = engine.next_step()
        if nxt:
            out.write(f"\ninterrupted: {nxt} is not done; the same command resumes there\n")
        out.flush()
        raise
    finally:
        await engine.close()
    passed = sum(1 for r in engine.results.values() if r.status == StepStatus.PASSED)
    failed = sum(1 for r in engine.results.values() if r.status == StepStatus.FAILED)
    out.write(f"\n{passed} passed, {failed} failed — run {status.value}\n")
    if status in (StepStatus.FAILED, StepStatus.CANCELLED):
        nxt = engine.next_step()
        if nxt:
            out.write(f"resume with: labguide run {engine.plan.chapter.id} --plain "
                      f"(continues at {nxt}) or --from {nxt}\n")
    return status
