"""The one exception type for errors a user can fix: it always says where (file:line, host)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labguide.i18n import gettext as _


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and line, or a host, or a key of a file."""

    file: str | Path | None = None
    line: int | None = None
    key: str | None = None
    host: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            parts.append(where)
        if self.key:
            parts.append(f"[{self.key}]")
        if self.host:
            parts.append(_("host {host}").format(host=self.host))
        return " ".join(parts)


class LabguideError(Exception):
    """An error the user can fix. Printed as one located message, without a traceback."""

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = str(self.location) if self.location else ""
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += "\n  " + _("hint: {hint}").format(hint=self.hint)
        return text


class ErrorGroup(LabguideError):
    """Several user errors found at once (e.g. every missing host and variable of a plan)."""

    def __init__(self, errors: list[LabguideError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class HostError(LabguideError):
    """A host could not be reached or refused us (connection, host key, sudo, auth).

    `lasting`: trying again will not help (a host key refused or changed, credentials or a
    TLS check refused); a wait for the host gives up at once."""

    def __init__(self, host: str, message: str, hint: str | None = None, *,
                 lasting: bool = False):
        super().__init__(message, Location(host=host), hint)
        self.host = host
        self.lasting = lasting
