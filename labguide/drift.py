"""Drift, for `--check`, as `ansible --check --diff` shows it: for every step whose kind
compares what it leaves (file steps), how each host differs now from what the chapter
writes, read-only. When several steps write the same file on a host, the last one says what
the finished lab holds, and only it is compared. Data only: report/ writes it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from labguide.engine import Engine
from labguide.errors import HostError, LabguideError
from labguide.i18n import gettext as _
from labguide.plan import BoundStep, Plan
from labguide.steps import kind_of
from labguide.steps.context import StepContext
from labguide.steps.kind import Drift


@dataclass(frozen=True)
class DriftResult:
    """One compared file on one host."""

    step: BoundStep
    host: str
    path: str
    drift: Drift
    unreachable: bool = False

    @property
    def status(self) -> str:
        return self.drift.status


def targets(plan: Plan) -> list[tuple[BoundStep, str]]:
    """(step, host) pairs to compare: the last step writing each path on each host."""
    last: dict[tuple[str, str], tuple[BoundStep, str]] = {}
    for bound in plan.steps:
        if not kind_of(bound.step).drifts or not bound.path:
            continue
        for host in bound.step.hosts:
            last[(host, bound.path)] = (bound, host)
    order = {b.id: n for n, b in enumerate(plan.steps)}
    return sorted(last.values(), key=lambda t: (order[t[0].id], plan.hosts_used.index(t[1])
                                                if t[1] in plan.hosts_used else 0))


async def one(engine: Engine, bound: BoundStep, host: str) -> DriftResult:
    path = bound.path or ""
    ctx = StepContext(bound, engine)
    try:
        async with asyncio.timeout(bound.step.timeout):
            drift = await kind_of(bound.step).drift(ctx, host)
    except HostError as exc:
        return DriftResult(bound, host, path, Drift("unreachable", note=engine.redact(str(exc))),
                           unreachable=True)
    except (LabguideError, TimeoutError) as exc:
        text = str(exc) or _("timed out after {seconds} s").format(
            seconds=f"{bound.step.timeout:g}")
        return DriftResult(bound, host, path, Drift("unknown", note=engine.redact(text)))
    return DriftResult(bound, host, path, drift)


async def collect_drift(plan: Plan, engine: Engine,
                        exists: Callable[[str], Awaitable[bool]]) -> list[DriftResult]:
    """Compare every target concurrently (beside the checks). A host the chapter creates is
    compared once `exists(host)` says it is there, and left out when it is not."""

    async def when_there(bound: BoundStep, host: str) -> DriftResult | None:
        return await one(engine, bound, host) if await exists(host) else None

    found = await asyncio.gather(*(when_there(b, h) for b, h in targets(plan)))
    return [r for r in found if r is not None]
