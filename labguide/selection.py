"""Choosing what a run or a check covers: `--from`, `--to`, `--only` (steps or sections) and
`--limit` (hosts), resolved against a chapter with "did you mean …" for a name it does not
have, and a plan narrowed to the choice.

A section id stands for its steps wherever a step id is accepted: `--from SECTION` starts at
its first step, `--to SECTION` stops after its last, `--only SECTION` runs all of them.
Pure data in, data out: no I/O, no click, no front-end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.model import Chapter
from labguide.plan import BoundStep, Plan
from labguide.suggest import did_you_mean


@dataclass(frozen=True)
class Selection:
    """What the command line chose, as given (ids not yet checked)."""

    start: str | None = None
    stop: str | None = None
    only: tuple[str, ...] = ()
    limit: tuple[str, ...] = ()
    #: Other names of this chapter's sections (a translation's: its English ids).
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def narrows(self) -> bool:
        """Whether the plan loses steps or hosts (--to, --only, --limit)."""
        return bool(self.stop or self.only or self.limit)


def split_names(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated options that may each hold a comma-separated list (as Ansible's --limit)."""
    return tuple(n.strip() for v in values for n in v.split(",") if n.strip())


def section_steps(chapter: Chapter, name: str,
                  aliases: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    """The step ids of a section named by its id (or an alias), or None if it is not one."""
    sid = (aliases or {}).get(name, name)
    for sec in chapter.sections:
        if sec.id == sid and sec.steps:
            return tuple(s.id for s in sec.steps)
    return None


def steps_named(chapter: Chapter, name: str, option: str,
                aliases: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The steps a step or section id stands for; an unknown name is an error that says
    which names are close."""
    if any(s.id == name for s in chapter.steps):
        return (name,)
    found = section_steps(chapter, name, aliases)
    if found:
        return found
    known = [s.id for s in chapter.steps] + [sec.id for sec in chapter.sections if sec.steps]
    known += list(aliases or {})
    hint = did_you_mean(name, known) or _(
        "`labguide show {chapter}` lists its sections and steps").format(chapter=chapter.id)
    raise LabguideError(_("no step or section {name!r} in chapter {chapter}").format(
        name=name, chapter=chapter.id), Location(key=option), hint=hint)


def check_hosts(chapter: Chapter, hosts: Iterable[str]) -> None:
    for host in hosts:
        if host not in chapter.hosts:
            hint = did_you_mean(host, chapter.hosts) or _(
                "the chapter's hosts: {hosts}").format(hosts=", ".join(chapter.hosts))
            raise LabguideError(_("chapter {chapter} has no host {host!r}").format(
                chapter=chapter.id, host=host), Location(key="--limit"), hint=hint)


@dataclass(frozen=True)
class Resolved:
    """A selection checked against the chapter: where to start and which steps run."""

    start: str | None
    stop: str | None
    only: frozenset[str] | None
    limit: tuple[str, ...]


def resolve(chapter: Chapter, sel: Selection) -> Resolved:
    """Check every name of the selection; errors say what is close."""
    order = {s.id: n for n, s in enumerate(chapter.steps)}
    start = stop = None
    if sel.start:
        start = steps_named(chapter, sel.start, "--from", sel.aliases)[0]
    if sel.stop:
        stop = steps_named(chapter, sel.stop, "--to", sel.aliases)[-1]
    only: set[str] | None = None
    if sel.only:
        only = set()
        for name in sel.only:
            only.update(steps_named(chapter, name, "--only", sel.aliases))
    check_hosts(chapter, sel.limit)
    if start and stop and order[start] > order[stop]:
        raise LabguideError(_("--from {start} comes after --to {stop} in the chapter").format(
            start=sel.start, stop=sel.stop), Location(key="--to"))
    if start and only is not None and start not in only:
        raise LabguideError(_("--from {start} is not among the steps --only chose").format(
            start=sel.start), Location(key="--from"))
    return Resolved(start, stop, frozenset(only) if only is not None else None, sel.limit)


def _narrowed(bound: BoundStep, limit: tuple[str, ...]) -> BoundStep | None:
    hosts = tuple(h for h in bound.step.hosts if h in limit)
    if not hosts:
        return None
    if hosts == bound.step.hosts:
        return bound
    return dataclasses.replace(bound, step=dataclasses.replace(bound.step, hosts=hosts))


def narrow(plan: Plan, chosen: Resolved, *, from_start: bool = False) -> Plan:
    """The plan with only the chosen steps (--only), none after --to, and each step on the
    --limit hosts only (a step on none of them is left out). `from_start`: also none before
    --from (a check covers the range; a run may still go back before its start). Steps that
    lost some of their hosts are `partial`: their results are not saved as the step's."""
    chapter = plan.chapter
    if not (chosen.stop or chosen.only is not None or chosen.limit
            or (chosen.start and from_start)):
        return plan  # nothing narrows it (a chapter without steps stays one)
    last = plan.index(chosen.stop) if chosen.stop else len(plan.steps) - 1
    first = plan.index(chosen.start) if chosen.start and from_start else 0
    steps: list[BoundStep] = []
    partial: set[str] = set()
    for bound in plan.steps[first:last + 1]:
        if chosen.only is not None and bound.id not in chosen.only:
            continue
        kept = _narrowed(bound, chosen.limit) if chosen.limit else bound
        if kept is None:
            continue
        if kept is not bound:
            partial.add(bound.id)
        steps.append(kept)
    if not steps:
        raise LabguideError((_("nothing to run: no step of chapter {chapter} is both chosen "
                               "and on the --limit hosts") if chosen.limit else
                             _("nothing to run: no step of chapter {chapter} is chosen")
                             ).format(chapter=chapter.id),
                            Location(key="--limit" if chosen.limit else "--only"))
    return dataclasses.replace(plan, steps=tuple(steps), partial=frozenset(partial),
                               limit=chosen.limit)


def first_step(plan: Plan, chosen: Resolved) -> str | None:
    """Where a run starts: --from; with --only or --limit, the first chosen step (an explicit
    choice runs, whatever was saved); else None (resume where the last run stopped)."""
    if chosen.start:
        order = {s.id: n for n, s in enumerate(plan.chapter.steps)}
        at = order[chosen.start]
        return next((b.id for b in plan.steps if order[b.id] >= at), plan.steps[-1].id)
    if chosen.only is not None or chosen.limit:
        return plan.steps[0].id
    return None
