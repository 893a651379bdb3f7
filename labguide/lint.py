"""`labguide lint`'s findings: every load-time error of a chapter file, and the warnings an
author wants (a section without a check, a wait without its own timeout, a disruptive step
that does not say what it did, a check that logs in from one lab host to another, a variable
or host declared and never used).

Reading only: nothing here runs a step or opens a connection; printing is cli_lint.py's.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from labguide.chapter import parse_chapter
from labguide.errors import LabguideError
from labguide.i18n import gettext as _
from labguide.model import Chapter, Step
from labguide.shellcmd import RESERVED, WRAPPERS
from labguide.stepblocks import parse_attrs
from labguide.tomlloc import key_line

ERROR, WARNING = "error", "warning"
#: The code of every error (a chapter that does not load); codes stay English, for tools.
LOAD = "load"
#: Words after which a command's name is still to come (shellcmd's keywords and wrappers;
#: `timeout` takes its duration first).
_BEFORE_NAME = "|".join(re.escape(w) for w in (*RESERVED, *WRAPPERS) if w != "timeout")
#: A login from the host a check runs on to another host: ssh, scp or sftp where a command
#: starts (a line's start, after | ; & ( $( ` or a keyword, sudo, env, timeout N …), not as
#: a word of another command (`systemctl is-active ssh`, `journalctl -u ssh`).
LOGS_IN = re.compile(
    r"(?:^|[|;&(`]|\$\()\s*"
    rf"(?:(?:{_BEFORE_NAME})\s+(?:-\S+\s+)*)*(?:timeout\s+(?:-\S+\s+)*\S+\s+)?"
    r"(?:[\w./-]*/)?(?:ssh|scp|sftp)(?=$|[\s;|&)])", re.MULTILINE)
#: A comment: from a # at a line's start or after a blank to the line's end.
COMMENT = re.compile(r"(?:^|\s)#.*$", re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    """One problem of a chapter file, with where it is and a short code naming its kind."""

    severity: str  # ERROR or WARNING
    code: str  # "load" for errors; "no-check", "wait-timeout", … for warnings
    file: str
    line: int | None
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.severity == WARNING:
            text = _("{where}: warning: {message} [{code}]").format(
                where=where, message=self.message, code=self.code)
        else:
            text = _("{where}: error: {message}").format(where=where, message=self.message)
        return text + ("\n  " + _("hint: {hint}").format(hint=self.hint) if self.hint else "")


def _error(path: Path, exc: LabguideError) -> list[Finding]:
    """An error as findings (a group as each of its errors), located in `path` if it has
    no file of its own."""
    from labguide.errors import ErrorGroup

    if isinstance(exc, ErrorGroup):
        return [f for e in exc.errors for f in _error(path, e)]
    loc = exc.location
    file = str(loc.file) if loc is not None and loc.file is not None else str(path)
    return [Finding(ERROR, LOAD, file, loc.line if loc else None, exc.message,
                    exc.hint or "")]


def lint_file(path: Path) -> list[Finding]:
    """Every finding of one chapter file: its errors, then (if it could be read at all) its
    warnings, each group in the order of the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Finding(ERROR, LOAD, str(path), None,
                        _("cannot read chapter: {reason}").format(reason=exc.strerror))]
    except UnicodeDecodeError:
        return [Finding(ERROR, LOAD, str(path), None, _("chapter is not UTF-8 text"))]
    errors: list[LabguideError] = []
    chapter: Chapter | None = None
    try:
        chapter = parse_chapter(text, path, errors)
    except LabguideError as exc:
        errors.append(exc)
    found = [f for exc in errors for f in _error(path, exc)]
    found.sort(key=lambda f: f.line or 0)
    if chapter is not None:
        found += sorted(warnings(chapter, text), key=lambda f: f.line or 0)
    return found


def warnings(chapter: Chapter, text: str) -> list[Finding]:
    """What loads but is likely a mistake (see the module's docstring)."""
    lines = text.split("\n")
    return [*_section_warnings(chapter), *_step_warnings(chapter, lines),
            *_unused(chapter, text)]


def _warn(chapter: Chapter, code: str, line: int | None, message: str,
          hint: str = "") -> Finding:
    return Finding(WARNING, code, str(chapter.path), line, message, hint)


def _section_warnings(chapter: Chapter) -> list[Finding]:
    """A section with steps and no check in it or in its subsections (a lead-in section
    whose subsections check what it set up is fine)."""
    found: list[Finding] = []
    secs = chapter.sections
    for i, sec in enumerate(secs):
        scope = [sec]
        for sub in secs[i + 1:]:
            if sub.level <= sec.level:
                break
            scope.append(sub)
        if sec.steps and not any(s.check for part in scope for s in part.steps):
            found.append(_warn(
                chapter, "no-check", sec.line,
                _("section {title!r} has steps but no check: --check cannot tell whether its "
                  "part of the lab is done").format(title=sec.title),
                _("add a {{check}} (or wait) block that proves what the section built")))
    return found


def given_attrs(step: Step, lines: list[str]) -> set[str]:
    """The attribute names written on the step's fence line (not the kind's defaults)."""
    fence = lines[step.line - 1] if 0 < step.line <= len(lines) else ""
    start, end = fence.find("{"), fence.rfind("}")
    if start < 0 or end < start:
        return set()
    return set(parse_attrs(fence[start:end + 1], Path(step.file), step.line))


def _step_warnings(chapter: Chapter, lines: list[str]) -> list[Finding]:
    found: list[Finding] = []
    for step in chapter.steps:
        if step.kind == "wait" and "timeout" not in given_attrs(step, lines):
            found.append(_warn(
                chapter, "wait-timeout", step.line,
                _("wait {step!r} has no timeout of its own (the default is {seconds} s)").format(
                    step=step.id, seconds=f"{step.timeout:g}"),
                _("say how long the reader should wait at most, e.g. timeout=20")))
        # a reboot's result says itself how long the host was away
        if step.disruptive and not step.message and step.kind != "reboot":
            found.append(_warn(
                chapter, "disruptive-message", step.line,
                _("disruptive step {step!r} has no message: its result and reports say only "
                  "'exit status 0'").format(step=step.id),
                _('say what it did with message="…" (the reader sees it when it passed)')))
        if step.check and step.shell and LOGS_IN.search(COMMENT.sub("", step.body)):
            found.append(_warn(
                chapter, "check-logs-in", step.line,
                _("check {step!r} logs in from {host} to another host: it then also depends "
                  "on that login (host keys, sshd's limits), and its result names {host} for "
                  "what another host did").format(step=step.id, host=", ".join(step.hosts)),
                _('run the command on the hosts themselves, on="HOST1, HOST2", and add same '
                  "to want one output from every host")))
    return found


def _unused(chapter: Chapter, text: str) -> list[Finding]:
    used_vars = {name for refs in chapter.refs.values() for name in refs}
    front = "\n".join(text.split("\n")[:chapter.front_matter_lines])
    watched = " ".join((*chapter.watch.vips, chapter.watch.url or ""))
    found = [_warn(chapter, "unused-var", key_line(front, name),
                   _("variable {name} is declared but no step uses it").format(name=name),
                   _("remove it from [vars], or use it as {reference}").format(
                       reference="${" + name + "}"))
             for name in chapter.vars
             if name not in used_vars and "${" + name + "}" not in watched]
    used_hosts = {h for s in chapter.steps for h in (*s.hosts, *s.reaches)}
    used_hosts |= set(chapter.watch.candidates)
    found += [_warn(chapter, "unused-host", key_line(front, "hosts"),
                    _("host {host} is listed in hosts but no step runs on it").format(
                        host=host),
                    _("remove it from hosts, or give it a step"))
              for host in chapter.hosts if host not in used_hosts]
    return found


def exit_code(findings: list[Finding], *, strict: bool) -> int:
    """0 clean; 1 if any error, or any warning with --strict."""
    if any(f.severity == ERROR for f in findings):
        return 1
    return 1 if strict and findings else 0
