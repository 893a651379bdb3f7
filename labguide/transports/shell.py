"""What the transports that run bash (ssh, local) share: how a script reaches bash, file I/O
built on `run`, sudo hints.

A script is never a command-line argument (a long one fails with E2BIG, a NUL cannot be in
one): bash starts with a fixed prelude, reads a length line and that many bytes of script
from its standard input, and runs the script with the rest of stdin left for it. Every value
that goes into a command is quoted here.
"""

from __future__ import annotations

import abc
import base64
import shlex

from labguide.errors import HostError
from labguide.i18n import gettext as _
from labguide.transports.base import CommandResult, Transport

#: What sudo prints when it would need a password and has no terminal to ask on.
SUDO_PROMPT_MARKERS = (
    "sudo: a terminal is required",
    "sudo: a password is required",
    "sudo: no tty present",
)
SUDO_HINT = (
    "sudo asked for a password: labguide runs commands without a terminal, so the lab user "
    "needs passwordless sudo (a line like 'ubuntu ALL=(ALL) NOPASSWD:ALL' in /etc/sudoers.d/)"
)


#: What bash runs (`bash --norc --noprofile -ec PRELUDE`): optionally print its process id
#: (the process group's, under setsid), read the script's length in bytes and the script
#: from stdin, and run it; the rest of stdin is the script's. `read -N` (bytes, under
#: LC_ALL=C) reads no further than it is told and needs no fork (`$(head -c N)` cost two
#: processes a command); a script cut short fails the read, and errexit ends the wrapper
#: before any of it runs. Line numbers in bash's messages are the script's own.
_READ_AND_RUN = ('IFS= read -r __lg_n; LC_ALL=C IFS= read -r -N "$__lg_n" __lg_s; '
                 'eval "unset __lg_n __lg_s; $__lg_s"')
PRELUDE = 'printf "%s\\n" "$$"; ' + _READ_AND_RUN
PRELUDE_QUIET = _READ_AND_RUN


def frame(host: str, script: str, input_data: bytes | None = None) -> bytes:
    """What goes to the prelude's stdin: the length line, the script, then the input."""
    if "\x00" in script:
        raise HostError(host, _("the script holds a NUL character (at {position}): bash cannot "
                                "run it").format(position=script.index(chr(0))),
                        hint=_("is it in the chapter's text or a value?"))
    body = script.encode("utf-8", "surrogateescape")
    return b"%d\n" % len(body) + body + (input_data or b"")


def is_sudo_prompt(line: str) -> bool:
    return any(marker in line for marker in SUDO_PROMPT_MARKERS)


def _as_root(command: str, sudo: bool) -> str:
    return f"sudo -n sh -c {shlex.quote(command)}" if sudo else command


#: The largest file read_file reads (a configuration file, not a disk image).
MAX_READ_BYTES = 4 * 1024 * 1024
#: How long a file read or write may take when the caller gives no timeout (seconds).
FILE_TIMEOUT = 60.0


def read_file_script(path: str, sudo: bool, limit: int = MAX_READ_BYTES) -> str:
    """Prints 'absent', 'special' (not a regular file: a FIFO would block the read) or
    'present' then at most limit + 1 bytes of the file as one line of base64."""
    q = shlex.quote(path)
    inner = (f"if [ -f {q} ]; then exec 3< {q} && echo present && "
             f"head -c {limit + 1} <&3 | base64 -w0 && echo; "
             f"elif [ -e {q} ]; then echo special; else echo absent; fi")
    return _as_root(inner, sudo)


def parse_read_file_output(lines: list[str], host: str, path: str,
                           limit: int = MAX_READ_BYTES) -> bytes | None:
    if not lines or lines[0] == "absent":
        return None
    if lines[0] == "special":
        raise HostError(host, _("{path} is not a regular file (a folder, FIFO or device): "
                                "labguide reads and writes regular files only").format(path=path))
    data = base64.b64decode("".join(lines[1:]))
    if len(data) > limit:
        raise HostError(host, _("{path} is larger than {size} KiB: labguide reads files up to "
                                "that size (configuration files)").format(path=path,
                                                                          size=limit // 1024))
    return data


def write_file_script(path: str, mode: int | None, sudo: bool) -> str:
    """Reads the new content on stdin and replaces the file atomically (temp file + rename)."""
    q = shlex.quote(path)
    chmod = f"chmod {mode:o} \"$tmp\" && " if mode is not None else (
        f"if [ -e {q} ]; then chmod --reference={q} \"$tmp\"; else chmod 644 \"$tmp\"; fi && "
    )
    inner = (
        f"dir=$(dirname {q}) && mkdir -p \"$dir\" && "
        f"tmp=$(mktemp \"$dir/.labguide.XXXXXX\") && cat > \"$tmp\" && {chmod}"
        f"mv -f \"$tmp\" {q}"
    )
    return _as_root(inner, sudo)


class ShellTransport(Transport, abc.ABC):
    """A transport that runs bash: files are read and written by small quoted scripts."""

    async def read_file(self, path: str, *, sudo: bool = False,
                        timeout: float | None = None) -> bytes | None:
        lines: list[str] = []
        errors: list[str] = []
        result = await self.run(
            read_file_script(path, sudo),
            lambda stream, line: (lines if stream == "stdout" else errors).append(line),
            timeout=FILE_TIMEOUT if timeout is None else timeout,
        )
        if not result.ok:
            raise self._file_error(_("cannot read {path}: {why}"), path, result, errors)
        return parse_read_file_output(lines, self.host.name, path)

    async def write_file(
        self, path: str, data: bytes, *, mode: int | None = None, sudo: bool = False,
        timeout: float | None = None,
    ) -> None:
        errors: list[str] = []
        result = await self.run(
            write_file_script(path, mode, sudo),
            lambda stream, line: errors.append(line) if stream == "stderr" else None,
            input_data=data,
            timeout=FILE_TIMEOUT if timeout is None else timeout,
        )
        if not result.ok:
            raise self._file_error(_("cannot write {path}: {why}"), path, result, errors)

    def _file_error(self, template: str, path: str, result: CommandResult,
                    errors: list[str]) -> HostError:
        """`template` ("cannot read {path}: {why}") with why the command failed."""
        if result.reason == "timeout":
            why = _("no answer within {seconds} s (timed out)").format(
                seconds=f"{result.duration:.0f}")
        else:
            why = " ".join(errors) or str(result)
        return HostError(self.host.name, template.format(path=path, why=why))
