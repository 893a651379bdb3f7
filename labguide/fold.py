"""Folding repeated output for display: a run of alike lines (same host and stream, same
shape once digits are ignored) shows its first line, then one "… N more like this over
X s" line when the run ends. For front-ends only: the transcript keeps every line. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What makes lines alike: the same text with every number (times, counts, ports) alike.
_NUMBERS = re.compile(r"\d+")


def shape(line: str) -> str:
    return _NUMBERS.sub("#", line)


@dataclass
class _Run:
    shape: str
    first_t: float
    last_t: float
    more: int = 0


#: What a run belongs to, e.g. (step, host, stream): lines of other keys do not end it.
Key = tuple[str, ...]


class RepeatFolder:
    """Feed lines as they come; show what `feed` and `flush` return, in order."""

    def __init__(self) -> None:
        self._runs: dict[Key, _Run] = {}

    def feed(self, key: Key, line: str, t: float) -> list[tuple[Key, str]]:
        """What to show now for this line: nothing (it repeats the run), or the line itself,
        after the summary of the run it ends."""
        s = shape(line)
        run = self._runs.get(key)
        if run is not None and run.shape == s:
            run.more += 1
            run.last_t = t
            return []
        out = self._close(key)
        self._runs[key] = _Run(s, t, t)
        out.append((key, line))
        return out

    def _close(self, key: Key) -> list[tuple[Key, str]]:
        run = self._runs.pop(key, None)
        if run is None or not run.more:
            return []
        return [(key, f"… {run.more} more like this over {run.last_t - run.first_t:.1f} s")]

    def flush(self, prefix: Key = ()) -> list[tuple[Key, str]]:
        """The summaries of the open runs whose key starts with `prefix` (at the end of a
        step: its id)."""
        out: list[tuple[Key, str]] = []
        for key in [k for k in self._runs if k[:len(prefix)] == prefix]:
            out.extend(self._close(key))
        return out
