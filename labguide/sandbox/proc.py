"""Running host commands for the sandbox (argv lists, never a shell string built from values)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from labguide.errors import LabguideError, Location


class CommandFailed(LabguideError):
    """A host command the lab needs exited non-zero; the message carries its stderr tail."""


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 600,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env} if env else None
    proc = subprocess.run(
        list(argv), input=input_text, capture_output=True, text=True, env=full_env,
        timeout=timeout, check=False,
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise CommandFailed(
            f"`{' '.join(argv[:6])}{' …' if len(argv) > 6 else ''}` exited {proc.returncode}:"
            f"\n{tail}",
            Location(host="localhost"),
        )
    return proc


def ok(argv: Sequence[str]) -> bool:
    """True if the command exits 0 (output discarded)."""
    return subprocess.run(list(argv), capture_output=True, check=False).returncode == 0
