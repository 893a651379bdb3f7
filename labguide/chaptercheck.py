"""Checks across a parsed chapter: hosts named in the front matter, known `needs`, defined
variables, qm blocks that parse with the defaults. Every error names the file and line."""

from __future__ import annotations

import re
import shlex

from labguide.errors import LabguideError, Location
from labguide.frontmatter import VAR_NAME
from labguide.i18n import gettext as _
from labguide.model import Chapter, Step
from labguide.shellsubst import VAR_REF
from labguide.tomlloc import key_line
from labguide.transports.qm import check_qm


def refs_of(step: Step) -> tuple[str, ...]:
    """The chapter variables a step uses (in its body and its attribute texts)."""
    names: list[str] = []
    for text, _line in texts_of(step):
        for m in VAR_REF.finditer(text):
            name = m.group(2)
            # $${X} is a literal ${X}; ${a%% *} is shell syntax, not a chapter variable
            if not m.group(1) and VAR_NAME.match(name) and name not in names:
                names.append(name)
    return tuple(names)


def texts_of(step: Step) -> list[tuple[str, int]]:
    """Every text of a step that may hold ${VAR}, with the line where it starts."""
    out = [(step.body, step.line + 1)]
    out.extend((text, step.line) for text in (*step.texts.values(), step.message, step.hint,
                                              *step.reaches) if text)
    return out


def with_defaults(body: str, values: dict[str, str]) -> str:
    """A qm block with the chapter's default values put in (to parse it at load time)."""

    def repl(m: re.Match[str]) -> str:
        return m.group(0) if m.group(1) else shlex.quote(values.get(m.group(2), "0"))

    return VAR_REF.sub(repl, body)


def _err(chapter: Chapter, msg: str, line: int, hint: str | None = None) -> LabguideError:
    return LabguideError(msg, Location(file=chapter.path, line=line), hint)


def _check_step(chapter: Chapter, step: Step, ids: set[str]) -> None:
    declared = set(chapter.hosts)
    for h in (*step.hosts, *step.reaches):
        if declared and h not in declared:
            what = (_("unknown host {host!r}: the front matter's hosts are {hosts}")
                    if h in step.hosts else
                    _("wait_ssh names unknown host {host!r}: the front matter's hosts are {hosts}"))
            raise _err(chapter, what.format(host=h, hosts=", ".join(chapter.hosts)), step.line)
    for text, first_line in texts_of(step):
        for m in VAR_REF.finditer(text):
            if m.group(1) or not VAR_NAME.match(m.group(2)) or m.group(2) in chapter.vars:
                continue
            raise _err(chapter, _("undefined variable {ref}").format(ref=f"${{{m.group(2)}}}"),
                       first_line + text[: m.start()].count("\n"),
                       hint=_("declare it with a default under [vars] in the front matter, "
                              "or write $${…} for a literal ${…}"))
    if step.lang == "qm":
        check_qm(with_defaults(step.body, chapter.vars), chapter.path, step.line)
    for need in step.needs:
        if need not in ids:
            raise _err(chapter, _("needs={step!r} is not a step id of this chapter").format(
                step=need), step.line)


def _check_front(chapter: Chapter, text: str, ids: set[str]) -> None:
    declared = set(chapter.hosts)
    for h, sid in chapter.exists.items():
        if declared and h not in declared:
            raise _err(chapter, _("exists names unknown host {host!r}").format(host=h),
                       key_line(text, h))
        if sid not in ids:
            raise _err(chapter, _("exists: {step!r} is not a step id of this chapter").format(
                step=sid), key_line(text, h))
    for h in chapter.watch.candidates:
        if declared and h not in declared:
            raise _err(chapter, _("watch.candidates names unknown host {host!r}").format(host=h),
                       key_line(text, "candidates"))
    pairs = [(v, "vips") for v in chapter.watch.vips] + [(chapter.watch.url or "", "url")]
    for value, key in pairs:
        for m in VAR_REF.finditer(value):
            if not m.group(1) and m.group(2) not in chapter.vars:
                raise _err(chapter, _("watch.{key} uses undefined variable {ref}").format(
                    key=key, ref=f"${{{m.group(2)}}}"), key_line(text, key))


def validate(chapter: Chapter, text: str,
             errors: list[LabguideError] | None = None) -> None:
    """Cross-step checks, in the chapter's order: the first problem is raised; with `errors`
    (labguide lint), each step's first problem is added there and the checks go on."""
    ids = {s.id for s in chapter.steps}
    for step in chapter.steps:
        try:
            _check_step(chapter, step, ids)
        except LabguideError as exc:
            if errors is None:
                raise
            errors.append(exc)
    try:
        _check_front(chapter, text, ids)
    except LabguideError as exc:
        if errors is None:
            raise
        errors.append(exc)
