"""Reading a keepalived configuration off a host as keepalived reads it: the file, with each
`include` line replaced by the files its pattern names (a glob or brace list; a relative
path is relative to the including file's folder), recursively. Read-only: the files are read
and the patterns expanded on the host by a small quoted script. Used by the keepalived
check and by a file step's drift (--check)."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from labguide import keepalived_conf as kc
from labguide.errors import LabguideError
from labguide.i18n import gettext as _
from labguide.transports.base import Transport

#: How deep includes may nest, and how many files a configuration may gather.
MAX_DEPTH = 8
MAX_FILES = 64
#: Characters of an include pattern that keep their meaning to the shell (glob, braces);
#: every other one is escaped, so a pattern can never run anything.
PATTERN_CHARS = frozenset("*?[]{},")


def is_keepalived_conf(path: str) -> bool:
    """A path keepalived reads its configuration from (by where it lives)."""
    name = posixpath.basename(path)
    return name == "keepalived.conf" or ("/keepalived/" in path and name.endswith(".conf"))


def shell_pattern(pattern: str) -> str:
    """The pattern for bash: globs and braces active, everything else a literal."""
    return "".join(c if c.isalnum() or c in PATTERN_CHARS or c in "/._-" else "\\" + c
                   for c in pattern)


def glob_script(folder: str, pattern: str, sudo: bool) -> str:
    inner = (f"cd -- {shlex.quote(folder or '/')} 2>/dev/null || exit 0; "
             f"shopt -s nullglob; for f in {shell_pattern(pattern)}; do "
             "[ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; exit 0")
    if not sudo:
        return inner
    return f"sudo -n bash -c {shlex.quote(inner)}"


@dataclass
class ReadConfig:
    """The configuration's text with includes in place, and the included files read."""

    text: str
    included: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, transport: Transport, sudo: bool, timeout: float) -> None:
        self.transport = transport
        self.sudo = sudo
        self.timeout = timeout
        self.included: list[str] = []

    async def matches(self, where: str, pattern: str) -> list[str]:
        folder = posixpath.dirname(where)
        captured = await self.transport.capture(glob_script(folder, pattern, self.sudo),
                                                timeout=self.timeout)
        if not captured.ok:
            raise LabguideError(_("{file}: cannot expand include {pattern}: {error}").format(
                file=where, pattern=pattern, error=" ".join(captured.stderr) or captured.result))
        return [posixpath.normpath(posixpath.join(folder, f)) for f in captured.stdout if f]

    async def expand(self, text: str, where: str, depth: int) -> str:
        out: list[str] = []
        for line in text.splitlines():
            pattern = kc.include_of(line)
            if pattern is None:
                out.append(line)
                continue
            if depth >= MAX_DEPTH:
                raise LabguideError(_("{file}: includes nest deeper than {n} levels").format(
                    file=where, n=MAX_DEPTH))
            for path in await self.matches(where, pattern):
                data = await self.transport.read_file(path, sudo=self.sudo)
                if data is None:
                    continue
                self.included.append(path)
                if len(self.included) > MAX_FILES:
                    raise LabguideError(_("{file}: includes name more than {n} files").format(
                        file=where, n=MAX_FILES))
                out.append(await self.expand(data.decode("utf-8", "replace"), path, depth + 1))
        return "\n".join(out)


async def read_config(transport: Transport, path: str, *, sudo: bool, timeout: float,
                      data: bytes | None = None) -> ReadConfig | None:
    """The configuration at `path` with its includes in place (None: no such file).
    `data`: the file's content, when the caller has read it already."""
    if data is None:
        data = await transport.read_file(path, sudo=sudo)
        if data is None:
            return None
    reader = _Reader(transport, sudo, timeout)
    text = await reader.expand(data.decode("utf-8", "replace"), path, 0)
    return ReadConfig(text, reader.included)
