"""Binding a chapter to a lab: variables resolved, hosts checked, every step's text bound.

Pure: no I/O beyond what the inventory already read. All problems are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from labguide.errors import ErrorGroup, LabguideError, Location
from labguide.frontmatter import VAR_NAME
from labguide.inventory import Host, Inventory
from labguide.model import NO_TEXTS, Chapter, Step
from labguide.redact import MASK
from labguide.shellsubst import VAR_REF, UnsafePlacement, substitute_shell
from labguide.transports.qm import check_qm


@dataclass(frozen=True)
class BoundStep:
    """A step with the lab's values put in: what is shown is exactly what runs."""

    step: Step
    script: str  # what runs (or is written): the real values
    shown: str  # what every front-end shows: the same, with secret values masked
    message: str
    hint: str
    #: The step's attribute texts (path, url …) with the lab's values put in.
    texts: Mapping[str, str] = field(default_factory=lambda: NO_TEXTS)

    @property
    def id(self) -> str:
        return self.step.id

    def text(self, key: str) -> str:
        """A bound attribute text ('' when the step has none)."""
        return self.texts.get(key, "")

    @property
    def path(self) -> str | None:
        return self.texts.get("path")

    @property
    def url(self) -> str | None:
        return self.texts.get("url")


@dataclass(frozen=True)
class Plan:
    chapter: Chapter
    inventory: Inventory | None
    values: Mapping[str, str]
    steps: tuple[BoundStep, ...]
    vips: tuple[str, ...]
    url: str | None
    secrets: frozenset[str]
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
        return LabguideError(f"step {step_id} is not among the steps chosen for this run "
                             "(--to, --only, --limit)", Location(file=self.chapter.path))

    def host(self, name: str) -> Host:
        if self.inventory is None:
            raise LabguideError(f"no inventory: cannot reach host {name}",
                                hint="pass --inventory FILE (or run `labguide lab up`)")
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
    """--set NAME=VALUE options into a dict; a malformed one is a located error."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not VAR_NAME.match(name):
            raise LabguideError(f"--set {pair!r}: expected NAME=VALUE", Location(key="--set"))
        if "\x00" in value or "\n" in value:
            raise LabguideError(f"--set {name}: the value may not hold a newline or NUL",
                                Location(key="--set"))
        if not value.isascii() and not _is_utf8(value):
            raise LabguideError(f"--set {name}: the value is not UTF-8 text ({value!r}); is "
                                "the terminal set to another encoding?", Location(key="--set"))
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
    errors: list[LabguideError] = []
    sets = dict(sets or {})
    for name in sets:
        if name not in chapter.vars:
            errors.append(LabguideError(
                f"--set {name}: the chapter has no variable {name}",
                Location(key="--set"), hint=f"its variables: {', '.join(chapter.vars)}"))
    values = dict(chapter.vars)
    if inventory is not None:
        values.update({k: v for k, v in inventory.vars.items() if k in chapter.vars})
    values.update({k: v for k, v in sets.items() if k in chapter.vars})
    if inventory is not None:
        missing: dict[str, list[int]] = {}
        for step in chapter.steps:
            for h in (*step.hosts, *step.reaches):
                if h not in inventory.hosts:
                    missing.setdefault(h, []).append(step.line)
        for h in chapter.watch.candidates:
            if h not in inventory.hosts:
                missing.setdefault(h, [])
        for h, lines in missing.items():
            where = f" (used on lines {', '.join(map(str, lines[:5]))}" + (
                "…)" if len(lines) > 5 else ")") if lines else ""
            errors.append(LabguideError(
                f"host {h!r} is needed by chapter {chapter.id}{where} but is not in the inventory",
                Location(file=inventory.path, host=h)))
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    secrets = inventory.secrets if inventory is not None else frozenset()
    # what is shown: the same text with each secret value replaced by the mask, then escaped
    # exactly as the real one (a masked quoted value cannot be found in the real text)
    shown_values = {k: MASK if v in secrets else v for k, v in values.items()}
    masking = shown_values != values  # else what is shown is the script itself
    bound = []
    for step in chapter.steps:
        shell = step.shell
        try:
            script = substitute(step.body, values, quote=shell)
            shown = (substitute(step.body, shown_values, quote=shell) if masking
                     else script)
        except UnsafePlacement as exc:
            errors.append(LabguideError(f"step {step.id}: {exc}",
                                        Location(file=step.file, line=step.line),
                                        hint="change the value, or the here-document's end word"))
            continue
        if step.lang == "qm":
            check_qm(script, step.file, step.line)
        elif inventory is not None:
            for h in step.hosts:
                if inventory.hosts[h].transport == "proxmox":
                    errors.append(LabguideError(
                        f"host {h} is reached through the Proxmox API: only qm blocks run there",
                        Location(file=step.file, line=step.line)))
        bound.append(BoundStep(
            step=step,
            script=script,
            shown=shown,
            texts={key: substitute(text, values, quote=False)
                   for key, text in step.texts.items()},
            message=substitute(step.message, shown_values, quote=False),
            hint=substitute(step.hint, shown_values, quote=False),
        ))
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    return Plan(
        chapter=chapter, inventory=inventory, values=values, steps=tuple(bound),
        vips=tuple(substitute(v, values, quote=False) for v in chapter.watch.vips),
        url=substitute(chapter.watch.url, values, quote=False) if chapter.watch.url else None,
        secrets=secrets,
    )
