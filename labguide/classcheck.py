"""Checking a class of labs at once (`labguide check CHAPTER -i labs/`): one inventory per lab.

Every lab gets the same read-only checks as `--check` (labguide.check.collect), all labs
concurrently within a budget of SSH connections (a lab starts when all of its SSH hosts fit
in the budget, so none waits holding some), each host tried once with its connect timeout:
a host that cannot be reached fails all its checks at once (DownTransport), so one dead lab
costs its timeout and no more. Returns a `ClassReport`; labguide/report/klass.py writes it.
Nothing here knows click or any front-end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labguide.chapter import Chapter
from labguide.check import CheckReport, checks_of, collect
from labguide.engine import Engine
from labguide.errors import HostError, LabguideError, Location
from labguide.i18n import gettext as _
from labguide.inventory import Inventory, load_inventory
from labguide.plan import Plan, bind
from labguide.transports.base import Transport
from labguide.transports.down import DownTransport
from labguide.transports.pool import TransportPool


@dataclass
class LabResult:
    """One lab's outcome: its check report, or why it could not be checked at all."""

    name: str
    inventory: Path
    report: CheckReport | None = None
    #: An inventory or binding error: the lab was not checked.
    error: str = ""
    #: Hosts whose connection failed (their checks failed at once).
    unreachable: dict[str, str] = field(default_factory=dict)
    #: Connections this lab opened (SSH and API).
    connections: int = 0

    @property
    def exit_code(self) -> int:
        if self.error or self.unreachable or self.report is None:
            return 2
        return self.report.exit_code

    @property
    def verdict(self) -> str:
        if self.error:
            return "error"
        if self.unreachable:
            return "unreachable"
        return {0: "pass", 1: "fail"}.get(self.exit_code, "unreachable")


@dataclass
class ClassReport:
    chapter: str
    #: Section id → title, of the sections that hold checks, in the chapter's order.
    sections: dict[str, str]
    labs: list[LabResult]
    duration: float
    connections_limit: int

    @property
    def exit_code(self) -> int:
        """2 when a lab could not be checked, else 1 when one failed, else 0."""
        return max((lab.exit_code for lab in self.labs), default=0)

    @property
    def totals(self) -> dict[str, int]:
        out = {"labs": len(self.labs), "pass": 0, "fail": 0, "unreachable": 0, "error": 0}
        for lab in self.labs:
            out[lab.verdict] += 1
        return out

    @property
    def connections(self) -> int:
        return sum(lab.connections for lab in self.labs)


def inventory_files(given: Sequence[str | Path]) -> list[Path]:
    """The inventories named: a folder stands for its *.toml files (sorted by name)."""
    out: list[Path] = []
    for item in given:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.toml") if p.is_file())
            if not found:
                raise LabguideError(_("no inventory (*.toml) in this folder"),
                                    Location(file=path))
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise LabguideError(_("no such inventory file or folder"), Location(file=path))
    return out


class ConnectionBudget:
    """At most `limit` connections open at once; a lab takes all of its own in one go (a
    lab larger than the whole budget runs alone)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._changed = asyncio.Condition()

    async def take(self, n: int) -> int:
        n = min(n, self.limit)
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + n <= self.limit)
            self.used += n
        return n

    async def give(self, n: int) -> None:
        async with self._changed:
            self.used -= n
            self._changed.notify_all()


def with_timeout(inventory: Inventory, seconds: float | None) -> Inventory:
    if seconds is None:
        return inventory
    hosts = {name: dataclasses.replace(h, connect_timeout=seconds)
             for name, h in inventory.hosts.items()}
    return dataclasses.replace(inventory, hosts=hosts)


async def open_hosts(plan: Plan, pool: TransportPool, timeout: float | None
                     ) -> tuple[dict[str, Transport], dict[str, str]]:
    """Connect once to every host the checks use (transports, unreachable host → why); a
    host the chapter creates is left to its checks, which run once it exists."""
    assert plan.inventory is not None
    names = sorted({h for b in checks_of(plan) for h in b.step.hosts})
    transports = {name: pool.get(name) for name in names}
    names = [n for n in names if n not in plan.chapter.exists]

    async def one(name: str) -> str:
        host = plan.inventory.host(name) if plan.inventory else None
        limit = timeout if timeout is not None else (host.connect_timeout if host else 10.0)
        try:
            async with asyncio.timeout(limit + 1.0):
                await transports[name].connect()
        except HostError as exc:
            return exc.message
        except TimeoutError:
            return _("no answer within {seconds} s").format(seconds=f"{limit:g}")
        return ""

    whys = await asyncio.gather(*(one(n) for n in names))
    return transports, {n: why for n, why in zip(names, whys, strict=True) if why}


@dataclass(frozen=True)
class ClassOptions:
    #: Connections open at once across all labs.
    connections: int
    host_timeout: float | None = None
    strict: bool = False
    accept_new_host_keys: bool = False


async def check_lab(chapter: Chapter, path: Path, sets: Mapping[str, str],
                    opts: ClassOptions, budget: ConnectionBudget) -> LabResult:
    lab = LabResult(path.stem, path)
    try:
        inventory = with_timeout(load_inventory(path), opts.host_timeout)
        plan = bind(chapter, inventory, dict(sets))
    except LabguideError as exc:
        lab.error = str(exc)
        return lab
    hosts = {h for b in checks_of(plan) for h in b.step.hosts}
    taken = await budget.take(len(hosts))
    pool = TransportPool(plan, accept_new_host_keys=opts.accept_new_host_keys)
    try:
        transports, down = await open_hosts(plan, pool, opts.host_timeout)
        preset = {n: DownTransport(HostError(n, down[n]), t) if n in down else t
                  for n, t in transports.items()}
        engine = Engine(plan, mode="check",
                        pool=TransportPool(plan, preset=preset,
                                           accept_new_host_keys=opts.accept_new_host_keys))
        lab.report = await collect(plan, engine=engine, strict=opts.strict)
        lab.unreachable = dict(down)
        for host in lab.report.unreachable:  # a created host that exists and did not answer
            lab.unreachable.setdefault(host, _("could not be reached during its checks"))
        lab.connections = sum(1 for n, t in transports.items()
                              if n not in down and getattr(t, "connected", True))
    finally:
        await pool.close()
        await budget.give(taken)
    return lab


async def check_class(chapter: Chapter, inventories: Sequence[Path], sets: Mapping[str, str],
                      opts: ClassOptions) -> ClassReport:
    """Check every lab concurrently within the connection budget."""
    started = time.monotonic()
    budget = ConnectionBudget(max(1, opts.connections))
    labs = await asyncio.gather(*(check_lab(chapter, p, sets, opts, budget)
                                  for p in inventories))
    with_checks = {s.section for s in chapter.steps if s.read_only}
    sections = {s.id: s.title for s in chapter.sections if s.id in with_checks}
    return ClassReport(chapter.id, sections, list(labs), time.monotonic() - started,
                       opts.connections)
