"""`labguide run CHAPTER --check`: the chapter's read-only checks against the lab, as data.

Runs checks concurrently (one connection per host), never anything that changes the lab
(the engine refuses it in check mode), compares the files the chapter writes (drift.py,
read-only), and returns a `CheckReport`; labguide/report/ writes it as a table, JSON or
JUnit XML. Exit codes: 0 all passed, 1 some failed (or warned, or drifted, with --strict),
2 could not check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labguide.drift import DriftResult, collect_drift
from labguide.engine import Engine
from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.plan import BoundStep, Plan
from labguide.state import StepRecord
from labguide.steps import kind_of

PER_HOST_CONCURRENCY = 6


def _no_secrets(text: str) -> str:
    return text


@dataclass
class CheckResult:
    step: BoundStep
    status: StepStatus
    duration: float = 0.0
    message: str = ""
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)
    #: What a pass looks like (the kind's words: message, expected output).
    expected: str = ""


@dataclass
class CheckReport:
    chapter: str
    results: list[CheckResult]
    duration: float
    strict: bool = False
    redact: Callable[[str], str] = _no_secrets
    #: Section id → title, in the chapter's order (for headings).
    sections: dict[str, str] = field(default_factory=dict)
    #: How the files the chapter writes differ on the hosts now (drift.py).
    drift: list[DriftResult] = field(default_factory=list)
    #: The hosts --limit chose (empty: all).
    limit: tuple[str, ...] = ()

    @property
    def drifted(self) -> list[DriftResult]:
        return [d for d in self.drift if d.status in ("differs", "missing")]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out

    @property
    def unreachable(self) -> list[str]:
        seen: list[str] = []
        hosts = [h for r in self.results for h in r.unreachable]
        for h in hosts + [d.host for d in self.drift if d.unreachable]:
            if h not in seen:
                seen.append(h)
        return seen

    @property
    def exit_code(self) -> int:
        """2: could not check; 1: a check failed (with --strict: or warned, or a file
        drifted); 0: all passed. Drift alone is reported, as `ansible --check` does."""
        if self.unreachable:
            return 2
        bad = {StepStatus.FAILED} | ({StepStatus.WARNED} if self.strict else set())
        failed = any(r.status in bad for r in self.results)
        return 1 if failed or (self.strict and self.drifted) else 0


def checks_of(plan: Plan) -> list[BoundStep]:
    return [b for b in plan.steps if b.step.read_only]


class _Checker:
    """Runs the checks as tasks: each waits for what it `needs` and for the check that
    proves a created host exists, and at most PER_HOST_CONCURRENCY run on one host."""

    def __init__(self, plan: Plan, engine: Engine) -> None:
        self.engine = engine
        self.exists = plan.chapter.exists
        self.limits: dict[str, asyncio.Semaphore] = {}
        self.tasks: dict[str, asyncio.Task[CheckResult]] = {}

    async def blocked(self, bound: BoundStep) -> str:
        """Why the check cannot run (a `needs` that did not pass), or ''."""
        for need in bound.step.needs:
            if need in self.tasks:
                dep = await self.tasks[need]
                if dep.status not in (StepStatus.PASSED, StepStatus.WARNED):
                    return _("skipped: needs {step}, which {status}").format(
                        step=need, status=dep.status.word)
        return ""

    async def absent(self, bound: BoundStep) -> list[str]:
        """The check's hosts that the chapter creates and that do not exist yet."""
        return [h for h in bound.step.hosts if not await self.there(h, bound.id)]

    async def there(self, host: str, asking: str = "") -> bool:
        """Whether a host exists: the check that proves it (if the chapter creates it, and
        it is among these checks) passed."""
        gate = self.exists.get(host)
        if gate and gate != asking and gate in self.tasks:
            return (await self.tasks[gate]).status == StepStatus.PASSED
        return True

    async def run(self, bound: BoundStep, hosts: tuple[str, ...] | None) -> StepRecord:
        sems = [self.limits.setdefault(h, asyncio.Semaphore(PER_HOST_CONCURRENCY))
                for h in bound.step.hosts]
        for sem in sems:
            await sem.acquire()
        try:
            return await self.engine.run_step(bound.id, hosts=hosts)
        finally:
            for sem in sems:
                sem.release()

    async def one(self, bound: BoundStep) -> CheckResult:
        why = await self.blocked(bound)
        if why:
            return CheckResult(bound, StepStatus.SKIPPED, message=why)
        absent = await self.absent(bound)
        hosts = tuple(h for h in bound.step.hosts if h not in absent)
        if not hosts:
            return CheckResult(bound, StepStatus.SKIPPED,
                               message=_("skipped: {hosts} does not exist ({step} failed)"
                                         ).format(hosts=", ".join(absent),
                                                  step=self.exists[absent[0]]))
        rec = await self.run(bound, hosts if absent else None)
        unreachable = [h for h, r in rec.hosts.items() if r.get("reason") == "unreachable"]
        message = rec.message
        if absent:
            message = (f"{message}; " if message else "") + _(
                "{hosts} skipped: does not exist yet").format(hosts=", ".join(absent))
        return CheckResult(bound, rec.status, rec.duration, message, rec.hosts, unreachable,
                           kind_of(bound.step).expected(bound))


async def collect(plan: Plan, *, engine: Engine | None = None, strict: bool = False,
                  accept_new_host_keys: bool = False, only: set[str] | None = None,
                  drift: bool = True) -> CheckReport:
    """Run every read-only check (or those in `only`), concurrently where `needs` allows,
    and, with `drift`, compare the files the chapter writes (read-only, beside them)."""
    eng = engine or Engine(plan, mode="check", accept_new_host_keys=accept_new_host_keys)
    assert eng.mode == "check"
    started = time.monotonic()
    checker = _Checker(plan, eng)
    selected = [b for b in checks_of(plan) if only is None or b.id in only]
    for bound in selected:
        checker.tasks[bound.id] = asyncio.create_task(checker.one(bound),
                                                      name=f"check:{bound.id}")
    drifting = asyncio.create_task(collect_drift(plan, eng, checker.there) if drift
                                   else asyncio.sleep(0, []), name="check:drift")
    try:
        results = {sid: await task for sid, task in checker.tasks.items()}
        drifted = await drifting
    finally:
        drifting.cancel()
        if engine is None:
            await eng.close()
    return CheckReport(plan.chapter.id, [results[b.id] for b in selected],
                       time.monotonic() - started, strict, eng.redact,
                       {sec.id: sec.title for sec in plan.chapter.sections}, drifted,
                       plan.limit)
