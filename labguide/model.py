"""The chapter model: Chapter ▸ Section ▸ Step, and what the live panes watch.

Plain frozen dataclasses. Nothing here parses, runs or knows a step kind's own settings:
those live in the kind's module (`labguide/steps/`) and ride along in `Step.options`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.suggest import did_you_mean

NO_TEXTS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Step:
    """One action of the chapter, on one or more hosts, with the prose that explains it.

    The fields are what every kind has; `options` holds the kind's own settings (a frozen
    dataclass of its module) and `texts` the attribute values that may hold `${VAR}` and are
    bound with the lab's values (`path`, `url`, …), read back through `BoundStep.text()`.
    """

    id: str
    kind: str
    hosts: tuple[str, ...]
    body: str
    lang: str
    prose: str
    section: str
    line: int
    file: str
    title: str = ""
    timeout: float = 300.0
    #: A check of the lab (check, wait, keepalived): --check may run it unless `transient`.
    check: bool = False
    #: Whether `body` is a shell script (values in it are quoted for where they land).
    shell: bool = True
    disruptive: bool = False
    transient: bool = False
    background: bool = False
    delay: float = 0.0
    message: str = ""
    hint: str = ""
    needs: tuple[str, ...] = ()
    #: Hosts the step reaches besides `hosts` (a qm step's wait_ssh): must be in the lab.
    reaches: tuple[str, ...] = ()
    texts: Mapping[str, str] = field(default_factory=lambda: NO_TEXTS)
    options: Any = None

    @property
    def location(self) -> Location:
        return Location(file=self.file, line=self.line)

    @property
    def read_only(self) -> bool:
        """Whether --check may run it: checks that describe the finished lab."""
        return self.check and not self.transient


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    level: int
    line: int
    intro: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Watch:
    """What the live panes watch: VIPs, the hosts that may hold them, the URL to stream."""

    vips: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True)
class Chapter:
    id: str
    title: str
    path: Path
    hosts: tuple[str, ...]
    vars: dict[str, str]
    watch: Watch
    sections: tuple[Section, ...]
    requires: str = ""
    front_matter_lines: int = 0
    #: Variables each step uses, for binding and error reporting.
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Hosts the chapter creates: host → id of the check that passes once it exists.
    exists: dict[str, str] = field(default_factory=dict)
    #: Variables declared multi-line ([vars.NAME] multiline = true): may hold newlines.
    multiline: frozenset[str] = frozenset()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for sec in self.sections for s in sec.steps)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        known = ", ".join(s.id for s in self.steps[:8])
        raise LabguideError(_("no step {step!r} in chapter {chapter}").format(
            step=step_id, chapter=self.id), Location(file=self.path),
            hint=did_you_mean(step_id, [s.id for s in self.steps])
            or _("steps are e.g. {steps}…").format(steps=known))

    def section_of(self, step_id: str) -> Section:
        for sec in self.sections:
            if any(s.id == step_id for s in sec.steps):
                return sec
        raise KeyError(step_id)
