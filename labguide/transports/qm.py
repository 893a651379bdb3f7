"""Parser for the `qm` command lines a chapter shows in ```qm blocks: text in, QmCommand out.

Pure: no I/O, no proxmoxer. Values still holding ${VARIABLES} are accepted and checked later.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labguide import proxmox_params
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.i18n import ngettext

__all__ = ["QmCommand", "QmSyntaxError", "parse_qm_script", "SUBCOMMANDS", "check_qm",
           "reads_only"]

OptionKind = Literal["bool", "int", "str"]

#: For each supported subcommand: its positional arguments and the options it accepts.
_SPEC: dict[str, tuple[tuple[str, ...], dict[str, OptionKind]]] = {
    "clone": (("vmid", "newid"), {"name": "str", "full": "bool", "target": "str",
                                  "description": "str"}),
    "set": (("vmid",), {
        "name": "str", "memory": "str", "cores": "int", "sockets": "int", "description": "str",
        "onboot": "bool", "agent": "str", "nameserver": "str", "searchdomain": "str",
        "tags": "str", "delete": "str",
        **{f"ipconfig{n}": "str" for n in range(10)},
    }),
    "start": (("vmid",), {"timeout": "int"}),
    "stop": (("vmid",), {"timeout": "int"}),
    "shutdown": (("vmid",), {"timeout": "int", "forceStop": "bool"}),
    "reboot": (("vmid",), {"timeout": "int"}),
    "status": (("vmid",), {"verbose": "bool"}),
    "config": (("vmid",), {"current": "bool"}),
    "destroy": (("vmid",), {"purge": "bool", "destroy-unreferenced-disks": "bool"}),
    "list": ((), {"full": "bool"}),
}
SUBCOMMANDS: tuple[str, ...] = tuple(_SPEC)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


class QmSyntaxError(ValueError):
    """A qm line labguide cannot run; line_index is the 0-based line in the script."""

    def __init__(self, message: str, line_index: int) -> None:
        super().__init__(message)
        self.message = message
        self.line_index = line_index


@dataclass(frozen=True)
class QmCommand:
    """One `qm` command line, parsed. Booleans are normalised to "1"/"0" as the API wants them."""

    subcommand: str
    #: Positional arguments in order: (vmid,) or (vmid, newid) for clone, () for list.
    args: tuple[str, ...]
    #: (option, value) pairs in the order given, option names without dashes.
    options: tuple[tuple[str, str], ...]
    #: 0-based index of the script line where the command starts.
    line: int
    #: The command as written (continuations joined), for display.
    text: str

    def option(self, name: str) -> str | None:
        for key, value in self.options:
            if key == name:
                return value
        return None

    @property
    def vmid(self) -> int:
        return _as_vmid(self.args[0], "vmid", self.line)

    @property
    def newid(self) -> int:
        return _as_vmid(self.args[1], "newid", self.line)

    @property
    def has_placeholders(self) -> bool:
        return bool(_PLACEHOLDER.search(self.text))

    def api_params(self) -> dict[str, str]:
        """The options as API parameters (names unchanged, values as strings)."""
        return dict(self.options)


def _as_vmid(value: str, what: str, line: int) -> int:
    if not proxmox_params.is_vmid(value):
        raise QmSyntaxError(_("{what} must be a VM id from 100 to 999999999, not {value!r}"
                              ).format(what=what, value=value), line)
    return int(value)


def _logical_lines(script: str) -> Iterator[tuple[int, str]]:
    """Join backslash continuations; yield (first line index, joined text)."""
    lines = script.splitlines()
    i = 0
    while i < len(lines):
        start = i
        text = lines[i]
        while text.endswith("\\") and not text.endswith("\\\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].strip()
        if text.endswith("\\") and not text.endswith("\\\\"):
            raise QmSyntaxError(_("line continuation '\\' at the end of the block"), i)
        i += 1
        yield start, text


def _check_value(sub: str, opt: str, kind: OptionKind, value: str, line: int) -> str:
    if _PLACEHOLDER.search(value):
        return value  # checked again once variables are bound
    if kind == "bool":
        low = value.lower()
        if low in _TRUE:
            return "1"
        if low in _FALSE:
            return "0"
        raise QmSyntaxError(_("qm {sub}: --{opt} takes 1 or 0, not {value!r}").format(
            sub=sub, opt=opt, value=value), line)
    if kind == "int" and not re.fullmatch(r"[0-9]+", value):
        raise QmSyntaxError(_("qm {sub}: --{opt} takes a whole number, not {value!r}").format(
            sub=sub, opt=opt, value=value), line)
    problem = proxmox_params.check_value(opt, value)  # the checks node1's API makes too
    if problem is None:
        return value
    if opt == "name" and not proxmox_params.is_dns_name(value):
        raise QmSyntaxError(_("qm {sub}: --name {value!r} is not a valid DNS name").format(
            sub=sub, value=value), line)
    if opt.startswith("ipconfig") and not proxmox_params.has_line_break(value):
        why = problem.rsplit("\n", 1)[-1]
        raise QmSyntaxError(_("qm {sub}: --{opt} expects ip=ADDRESS/PREFIX[,gw=GATEWAY], got "
                              "{value!r} ({why})").format(sub=sub, opt=opt, value=value,
                                                          why=why), line)
    raise QmSyntaxError(f"qm {sub}: --{opt} {value!r}: {problem}", line)


def _subcommand(words: list[str], line: int) -> str:
    if not words or words[0] != "qm":
        first = words[0] if words else ""
        raise QmSyntaxError(_("a qm block holds only qm commands, not {first!r}").format(
            first=first), line)
    if len(words) < 2:
        raise QmSyntaxError(_("qm: missing subcommand"), line)
    sub = words[1]
    if sub not in _SPEC:
        raise QmSyntaxError(_("qm {sub}: subcommand not supported (supported: {names})").format(
            sub=sub, names=", ".join(SUBCOMMANDS)), line)
    return sub


def _option(sub: str, word: str, rest: list[str], i: int, seen: list[tuple[str, str]],
            line: int) -> tuple[tuple[str, str], int]:
    """The option at rest[i] (`--name`, `--name=value` or `--name value`), checked; and the
    index of the next word."""
    known = _SPEC[sub][1]
    name, _eq, given = word.lstrip("-").partition("=")
    value: str | None = given if _eq else None
    if name not in known:
        raise QmSyntaxError(_("qm {sub}: option --{name} is not supported").format(
            sub=sub, name=name), line)
    if any(k == name for k, _v in seen):
        raise QmSyntaxError(_("qm {sub}: option --{name} given twice").format(sub=sub,
                                                                             name=name), line)
    kind = known[name]
    nxt = rest[i + 1] if i + 1 < len(rest) else None
    if value is None and kind == "bool":
        take = nxt is not None and nxt.lower() in _TRUE | _FALSE
        value, i = (nxt, i + 1) if take and nxt is not None else ("1", i)
    elif value is None:
        if nxt is None:
            raise QmSyntaxError(_("qm {sub}: option --{name} needs a value").format(
                sub=sub, name=name), line)
        value, i = nxt, i + 1
    return (name, _check_value(sub, name, kind, value, line)), i + 1


def _parse_command(words: list[str], line: int, text: str) -> QmCommand:
    sub = _subcommand(words, line)
    positional_names = _SPEC[sub][0]
    args: list[str] = []
    options: list[tuple[str, str]] = []
    rest = words[2:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("-") and not re.fullmatch(r"-[0-9]+", word):
            option, i = _option(sub, word, rest, i, options, line)
            options.append(option)
        else:
            args.append(word)
            i += 1
    if len(args) != len(positional_names):
        want = " ".join(n.upper() for n in positional_names) or _("no arguments")
        raise QmSyntaxError(ngettext("qm {sub}: expects {want}, got {n} argument",
                                     "qm {sub}: expects {want}, got {n} arguments",
                                     len(args)).format(sub=sub, want=want, n=len(args)), line)
    for name, value in zip(positional_names, args, strict=True):
        if not _PLACEHOLDER.search(value):
            _as_vmid(value, name, line)
    if sub == "set" and not options:
        raise QmSyntaxError(_("qm set: no options specified"), line)
    return QmCommand(sub, tuple(args), tuple(options), line, text.strip())


def parse_qm_script(script: str) -> list[QmCommand]:
    """Parse each non-blank, non-comment line of a qm block; QmSyntaxError on the first bad one."""
    commands: list[QmCommand] = []
    for line, text in _logical_lines(script):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError as exc:
            raise QmSyntaxError(_("cannot split the line: {error}").format(error=exc),
                                line) from None
        if not words:
            continue
        commands.append(_parse_command(words, line, stripped))
    return commands


#: qm subcommands that only read: the only ones --check may run.
READ_ONLY_SUBCOMMANDS = frozenset({"status", "config", "list"})


def reads_only(script: str) -> bool:
    """Whether every command of a qm script only reads (status, config, list)."""
    return all(c.subcommand in READ_ONLY_SUBCOMMANDS for c in parse_qm_script(script))


def check_qm(script: str, file: str | Path, line: int) -> None:
    """A qm block that labguide cannot run is an error located at its line, before anything
    runs (at load time with the chapter's defaults, at bind time with the lab's values)."""
    try:
        parse_qm_script(script)
    except QmSyntaxError as exc:
        raise LabguideError(exc.message, Location(file=file, line=line + 1 + exc.line_index),
                            ) from None
