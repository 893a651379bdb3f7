"""Masking of secrets in every text that leaves the engine (output, transcripts, reports).

Masks by value: a whole text that holds a secret (across lines, for a multi-line one such as
a PEM key), and each line of a multi-line secret, for text handled line by line (command
output, diffs). Knows nothing of where the secrets come from.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "••••••"
#: Shorter values cannot be masked: they would hide ordinary text and still be guessable.
MIN_SECRET = 4


def too_short(secret: str) -> str | None:
    """Why `secret` cannot be masked (a part of it is under MIN_SECRET characters), or None."""
    if len(secret) < MIN_SECRET:
        return f"a secret must have at least {MIN_SECRET} characters to be masked"
    for n, line in enumerate(secret.splitlines(), start=1):
        if line.strip() and len(line.strip()) < MIN_SECRET:
            return (f"line {n} of the secret has fewer than {MIN_SECRET} characters: shown "
                    "line by line (output, diffs), it could not be masked")
    return None


def _parts(secret: str) -> set[str]:
    """The secret, and for a multi-line one each of its lines (as output shows them)."""
    parts = {secret}
    if "\n" in secret or "\r" in secret:
        parts.update(line.strip() for line in secret.splitlines()
                     if len(line.strip()) >= MIN_SECRET)
    return parts


class Redactor:
    """Replaces each known secret value by a mask. Longest secrets first, so none leaks in part."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) < MIN_SECRET:
            return  # refused where it is read (inventory); never mask ordinary text
        for part in _parts(secret):
            if part not in self._secrets:
                self._secrets.append(part)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
