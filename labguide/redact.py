"""Masking of secrets in every text that leaves the engine (output, transcripts, reports)."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "••••••"


class Redactor:
    """Replaces each known secret value by a mask. Longest secrets first, so none leaks in part."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
