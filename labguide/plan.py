"""Binding a chapter to a lab: variables resolved, hosts checked, every step's text bound.

Pure: no I/O beyond what the inventory already read. All problems are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from labguide.errors import ErrorGroup, LabguideError, Location
from labguide.i18n import gettext as _
from labguide.inventory import Host, Inventory
from labguide.model import NO_TEXTS, Chapter, Step
from labguide.redact import MASK, Redactor
from labguide.shellsubst import VAR_REF, UnsafePlacement, substitute_shell
from labguide.transports.qm import check_qm
from labguide.variables import VAR_NAME, value_error


@dataclass(frozen=True)
class BoundStep:
    """A step with the lab's values put in: what is shown is exactly what runs."""

    step: Step
    script: str  # what runs (or is written): the real values
    shown: str  # what every front-end shows: the same, with secret values masked
    message: str  # shown (masked)
    hint: str  # shown (masked)
    #: The step's attribute texts (path, url …) with the real values: used, never shown.
    texts: Mapping[str, str] = field(default_factory=lambda: NO_TEXTS)
    #: The same as every front-end, message, transcript and state shows them (masked).
    shown_texts: Mapping[str, str] = field(default_factory=lambda: NO_TEXTS)

    @property
    def id(self) -> str:
        return self.step.id

    def text(self, key: str) -> str:
        """A bound attribute text, real values ('' when the step has none)."""
        return self.texts.get(key, "")

    def shown_text(self, key: str) -> str:
        """A bound attribute text as it is shown (secrets masked)."""
        return self.shown_texts.get(key, "")

    @property
    def path(self) -> str | None:
        return self.texts.get("path")

    @property
    def url(self) -> str | None:
        return self.texts.get("url")

    @property
    def shown_path(self) -> str | None:
        return self.shown_texts.get("path")

    @property
    def shown_url(self) -> str | None:
        return self.shown_texts.get("url")


@dataclass(frozen=True)
class Plan:
    chapter: Chapter
    inventory: Inventory | None
    values: Mapping[str, str]
    steps: tuple[BoundStep, ...]
    vips: tuple[str, ...]
    url: str | None  # the live stream's URL (real values: what is requested)
    secrets: frozenset[str]
    shown_url: str | None = None  # the same as shown (masked)
    #: Steps that run on some of their hosts only (--limit): their results are not saved.
    partial: frozenset[str] = frozenset()
    #: The hosts --limit chose (empty: all).
    limit: tuple[str, ...] = ()

    def bound(self, step_id: str) -> BoundStep:
        for b in self.steps:
            if b.id == step_id:
                return b
        raise self._unknown(step_id)

    def index(self, step_id: str) -> int:
        for n, b in enumerate(self.steps):
            if b.id == step_id:
                return n
        raise self._unknown(step_id)

    def _unknown(self, step_id: str) -> LabguideError:
        self.chapter.step(step_id)  # raises the located error when the chapter has none
        return LabguideError(_("step {step} is not among the steps chosen for this run "
                               "(--to, --only, --limit)").format(step=step_id),
                             Location(file=self.chapter.path))

    def host(self, name: str) -> Host:
        if self.inventory is None:
            raise LabguideError(_("no inventory: cannot reach host {host}").format(host=name),
                                hint=_("pass --inventory FILE (or run `labguide lab up`)"))
        return self.inventory.host(name)

    @property
    def hosts_used(self) -> tuple[str, ...]:
        seen: list[str] = []
        for b in self.steps:
            for h in b.step.hosts:
                if h not in seen:
                    seen.append(h)
        return tuple(seen)


def parse_sets(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """--set NAME=VALUE options into a dict; a malformed one is a located error. (What the
    value may hold depends on the chapter: bind() checks it.)"""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not VAR_NAME.match(name):
            raise LabguideError(_("--set {pair!r}: expected NAME=VALUE").format(pair=pair),
                                Location(key="--set"))
        if not value.isascii() and not _is_utf8(value):
            raise LabguideError(_("--set {name}: the value is not UTF-8 text ({value!r}); is the "
                                  "terminal set to another encoding?").format(name=name,
                                                                              value=value),
                                Location(key="--set"))
        out[name] = value
    return out


def _is_utf8(value: str) -> bool:
    """False for an argument holding bytes that were not UTF-8 (Python keeps them as lone
    surrogates, which no UTF-8 transcript or report can hold)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def substitute(text: str, values: Mapping[str, str], *, quote: bool) -> str:
    """Put values into ${NAME}; when the text is a shell script, each value is escaped for
    where it stands (shellsubst.py), so it stays one literal string."""
    if quote:
        return substitute_shell(text, values)

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return "${" + m.group(2) + "}"
        return values.get(m.group(2), m.group(0))  # unknown: shell syntax such as ${a%% *}

    return VAR_REF.sub(repl, text)


def bind(
    chapter: Chapter, inventory: Inventory | None, sets: Mapping[str, str] | None = None
) -> Plan:
    """The chapter with the lab's values in every step; every problem found is raised at once."""
    errors: list[LabguideError] = []
    values = _values(chapter, inventory, dict(sets or {}), errors)
    if inventory is not None:
        _check_hosts(chapter, inventory, errors)
    _raise(errors)
    secrets = inventory.secrets if inventory is not None else frozenset()
    # what is shown: the same text with each secret value replaced by the mask, then escaped
    # exactly as the real one (a masked quoted value cannot be found in the real text)
    shown = _Shown({k: MASK if v in secrets else v for k, v in values.items()},
                   Redactor(secrets))
    bound = []
    for step in chapter.steps:
        b = _bind_step(step, values, shown, inventory, errors)
        if b is not None:
            bound.append(b)
    _raise(errors)
    return Plan(
        chapter=chapter, inventory=inventory, values=values, steps=tuple(bound),
        vips=tuple(substitute(v, values, quote=False) for v in chapter.watch.vips),
        url=substitute(chapter.watch.url, values, quote=False) if chapter.watch.url else None,
        secrets=secrets,
        shown_url=shown.text(chapter.watch.url) if chapter.watch.url else None,
    )


def _raise(errors: list[LabguideError]) -> None:
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)


def _values(chapter: Chapter, inventory: Inventory | None, sets: dict[str, str],
            errors: list[LabguideError]) -> dict[str, str]:
    """The chapter's defaults, overridden by the inventory's [vars], then by --set."""
    for name in sets:
        if name not in chapter.vars:
            errors.append(LabguideError(
                _("--set {name}: the chapter has no variable {name}").format(name=name),
                Location(key="--set"),
                hint=_("its variables: {names}").format(names=", ".join(chapter.vars))))
    values = dict(chapter.vars)  # (the defaults were checked when the chapter was read)
    if inventory is not None:
        for name, value in inventory.vars.items():
            problem = value_error(name, value, name in chapter.multiline)
            if problem and name in chapter.vars:
                errors.append(LabguideError(problem, Location(
                    file=inventory.path, line=inventory.var_lines.get(name),
                    key=f"vars.{name}")))
        values.update({k: v for k, v in inventory.vars.items() if k in chapter.vars})
    for name, value in sets.items():
        problem = value_error(name, value, name in chapter.multiline)
        if problem and name in chapter.vars:
            errors.append(LabguideError(f"--set {name}: {problem}", Location(key="--set")))
    values.update({k: v for k, v in sets.items() if k in chapter.vars})
    return values


def _check_hosts(chapter: Chapter, inventory: Inventory, errors: list[LabguideError]) -> None:
    """Every host a step or the live panes use is in the inventory."""
    missing: dict[str, list[int]] = {}
    for step in chapter.steps:
        for h in (*step.hosts, *step.reaches):
            if h not in inventory.hosts:
                missing.setdefault(h, []).append(step.line)
    for h in chapter.watch.candidates:
        if h not in inventory.hosts:
            missing.setdefault(h, [])
    for h, lines in missing.items():
        used = ", ".join(map(str, lines[:5])) + ("…" if len(lines) > 5 else "")
        errors.append(LabguideError(
            (_("host {host!r} is needed by chapter {chapter} (used on lines {lines}) but is not "
               "in the inventory") if lines else
             _("host {host!r} is needed by chapter {chapter} but is not in the inventory")
             ).format(host=h, chapter=chapter.id, lines=used),
            Location(file=inventory.path, host=h)))


@dataclass(frozen=True)
class _Shown:
    """How values are shown: secrets replaced by the mask, and what is left masked again (a
    value that holds a secret without being one)."""

    values: Mapping[str, str]
    redact: Redactor

    def text(self, text: str, real: str | None = None, *, quote: bool = False) -> str:
        """`text` bound with the shown values; `real` (the text bound with the real values)
        is used as is when no value is secret."""
        if real is not None and MASK not in self.values.values():
            return self.redact(real)
        return self.redact(substitute(text, self.values, quote=quote))


def _bind_step(step: Step, values: Mapping[str, str], shown: _Shown,
               inventory: Inventory | None, errors: list[LabguideError]) -> BoundStep | None:
    """One step bound (None after recording its error)."""
    shell = step.shell
    try:
        script = substitute(step.body, values, quote=shell)
        shown_script = shown.text(step.body, script, quote=shell)
    except UnsafePlacement as exc:
        line = step.line if exc.at is None else step.line + 1 + step.body.count("\n", 0, exc.at)
        errors.append(LabguideError(_("step {step}: {problem}").format(step=step.id, problem=exc),
                                    Location(file=step.file, line=line),
                                    hint=_("change the value or the script (see "
                                           "docs/chapter-format.md, Variables)")))
        return None
    texts = {key: substitute(text, values, quote=False) for key, text in step.texts.items()}
    path = texts.get("path")
    if path is not None and not path.startswith("/"):
        errors.append(LabguideError(
            _("step {step}: path= must be absolute once its variables are in, not {path!r}"
              ).format(step=step.id, path=shown.text(step.texts["path"])),
            Location(file=step.file, line=step.line),
            hint=_("~ is not expanded (whose home, under sudo?): write the folder out, e.g. "
                   "path=\"/home/ubuntu/.ssh/config\"")))
        return None
    if step.lang == "qm":
        check_qm(script, step.file, step.line)
    elif inventory is not None:
        for h in step.hosts:
            if inventory.hosts[h].transport == "proxmox":
                errors.append(LabguideError(
                    _("host {host} is reached through the Proxmox API: only qm blocks run "
                      "there").format(host=h), Location(file=step.file, line=step.line)))
    return BoundStep(
        step=step,
        script=script,
        shown=shown_script,
        message=shown.text(step.message),
        hint=shown.text(step.hint),
        texts=texts,
        shown_texts={key: shown.text(text) for key, text in step.texts.items()},
    )
