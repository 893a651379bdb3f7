"""What a step kind is: its attributes and their checks, how it runs, how its result reads.

`StepKind` is the base every kind module subclasses; `Attrs` reads a block's attributes
with errors located at the block. Nothing here knows a particular kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from labguide.durations import DurationError, parse_duration
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.steps.context import StepContext, Verdict
from labguide.transports.qm import reads_only as qm_reads_only

if TYPE_CHECKING:
    from labguide.plan import BoundStep

SHELL_LANGS = ("sh", "bash", "shell")
#: Attributes every kind accepts.
COMMON_ATTRS = frozenset({"on", "id", "timeout", "needs", "title"})
#: Attributes that are flags (`disruptive` or `disruptive=false`), whichever kind has them.
FLAGS = frozenset({"disruptive", "reboot", "sudo", "transient", "background", "check",
                   "wait", "load", "tty", "same"})


@dataclass(frozen=True)
class Attrs:
    """A block's `{…}` attributes, read with errors that name the file and line."""

    values: dict[str, str | bool]
    lang: str
    path: Path
    line: int

    def error(self, message: str, hint: str | None = None) -> LabguideError:
        return LabguideError(message, Location(file=self.path, line=self.line), hint)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def flag(self, key: str) -> bool:
        return self.values.get(key) in (True, "true")

    def text(self, key: str) -> str:
        value = self.values.get(key, "")
        return value if isinstance(value, str) else ""

    def duration(self, key: str, default: float, minimum: float = 0.0) -> float:
        if key not in self.values:
            return default
        try:
            return parse_duration(self.text(key), minimum=minimum)
        except DurationError as exc:
            raise self.error(_("attribute {key}: {problem}").format(key=key, problem=exc)
                             ) from None

    def number(self, key: str, default: float, minimum: float = 0.0,
               maximum: float = 1e7) -> float:
        if key not in self.values:
            return default
        raw = self.text(key).strip()
        try:
            value = float(raw)
        except ValueError:
            raise self.error(_("attribute {key}={raw!r} is not a number").format(
                key=key, raw=raw)) from None
        if not minimum <= value <= maximum:  # also false for nan
            raise self.error(_("attribute {key}={raw!r} is out of range ({low} to {high})"
                               ).format(key=key, raw=raw, low=f"{minimum:g}",
                                        high=f"{maximum:g}"))
        return value

    def regex(self, key: str) -> str | None:
        pattern = self.text(key)
        if not pattern:
            return None
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.error(_("{key}={pattern!r} is not a valid regular expression: {error}"
                               ).format(key=key, pattern=pattern, error=exc)) from None
        return pattern


@dataclass(frozen=True)
class Drift:
    """How what a step left on one host compares with the lab now (--check's drift): `same`,
    `differs` (with a unified diff), `missing` (diff from /dev/null), and a note."""

    status: str
    diff: tuple[str, ...] = ()
    note: str = ""


class StepKind:
    """One kind of step. Subclasses set the class attributes and implement `run`."""

    #: The kind's name, as stored in results and shown by `labguide show`.
    name: ClassVar[str]
    #: What the kind does, for front-ends ("run", "write", "wait until" …).
    verb: ClassVar[str]
    #: Attributes the kind accepts besides COMMON_ATTRS.
    attrs: ClassVar[frozenset[str]] = frozenset()
    default_timeout: ClassVar[float] = 300.0
    #: A check of the lab (--check may run it unless it is transient).
    check: ClassVar[bool] = False
    #: The fence languages the kind accepts; None: any (the block is data, e.g. a file).
    langs: ClassVar[tuple[str, ...] | None] = SHELL_LANGS
    #: The body is shell (or qm) words: values are quoted for where they land. Else it is
    #: data (a file's content, TOML) and values go in as they are.
    quotes_values: ClassVar[bool] = True
    #: Attribute values that may hold ${VAR} (bound by the plan, read with BoundStep.text).
    texts: ClassVar[tuple[str, ...]] = ()
    #: Only one host per step.
    single_host: ClassVar[bool] = False
    #: Disrupts the lab whatever its attributes say (the TUI asks before it runs).
    always_disruptive: ClassVar[bool] = False
    #: The attribute that makes a block this kind (`check`, `path`…); None: chosen otherwise.
    marker: ClassVar[str | None] = None
    #: Fence languages whose blocks are always this kind (it checks their attributes).
    owns_langs: ClassVar[tuple[str, ...]] = ()
    #: Fence languages whose blocks are this kind when no marker says otherwise.
    default_for_langs: ClassVar[tuple[str, ...]] = ()

    def options(self, attrs: Attrs) -> Any:
        """Check the kind's own attributes; return its settings (kept in Step.options)."""
        return None

    def reaches(self, attrs: Attrs) -> tuple[str, ...]:
        """Hosts the step reaches besides its `on` hosts."""
        return ()

    def allowed_in_check(self, bound: BoundStep) -> bool:
        """Whether --check may run this step: non-transient checks (in qm, only qm commands
        that read)."""
        step = bound.step
        return step.read_only and (step.lang != "qm" or qm_reads_only(bound.script))

    def target(self, bound: BoundStep) -> str:
        """What the step acts on besides its hosts, for one-line descriptions ('' if none)."""
        return ""

    def expected(self, bound: BoundStep) -> str:
        """What a passing run of the step shows, for reports."""
        return bound.message or "exit status 0"

    def starting(self, ctx: StepContext) -> None:
        """Called as the step starts, before its delay and before `run` (which may run later,
        in the background): e.g. to start listening to the run's events."""

    async def preview(self, ctx: StepContext) -> dict[str, list[str]]:
        """What the step would change, per host, read before it runs ({} if nothing to show)."""
        return {}

    #: Whether `drift` compares anything (--check asks the kinds that do).
    drifts: ClassVar[bool] = False

    async def drift(self, ctx: StepContext, host: str) -> Drift:
        """How the host differs now from what the step leaves there, read-only (a file step:
        the file against the chapter's text). Never changes the lab: --check calls it."""
        raise NotImplementedError

    async def run(self, ctx: StepContext) -> Verdict:
        raise NotImplementedError
