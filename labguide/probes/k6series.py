"""k6's load over time, second by second: what a k6 load step adds to the chapter's k6 command
so that k6 keeps it, and reading it back. Text only: no I/O, no front-end.

k6 (0.49 and later) aggregates its metrics per period for its built-in web dashboard and can
export them into one HTML file when the test ends. With `K6_WEB_DASHBOARD_PORT=-1` it opens
no port; `K6_WEB_DASHBOARD_PERIOD=1s` makes a period a second. The export holds its events
(gzip, base64) in `<script id="data" …>`: `param` names each metric type's aggregates in
order, `metric` events give each metric's type as it first appears, and every `snapshot`
holds one period's values as a list, one entry per metric known so far in the order of
their names, each entry the aggregates of its type (a counter: count, rate; a rate: the
ratio; a trend: avg, max, med, min, p(90), p(95), p(99)); the gauge `time` is the period's
end in ms since the epoch. A layout that does not read back this way gives no series:
the report then shows k6's progress lines only, as before.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from shlex import quote
from typing import Any

#: Where k6 writes its export on the load's host, and the environment that asks for it.
EXPORT_DIR = "/tmp"
DATA = re.compile(r'<script id="data"[^>]*gzip; base64">\s*([A-Za-z0-9+/=\s]+?)\s*</script>',
                  re.S)
#: How much of a wrong or huge export is read at most (a 30 s load's data: ≈ 10 kB).
MAX_DATA = 4 << 20


@dataclass(frozen=True)
class Second:
    """One period of k6's load: its end (epoch s), requests/s, failed requests, p95 ms."""

    t: float
    rate: float
    failed: int
    p95: float | None


def export_path(step_id: str, token: str) -> str:
    """The export's path on the load's host: the step's id and a token of the run."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", step_id)
    return f"{EXPORT_DIR}/labguide-k6-{safe}-{token}.html"


def with_export(script: str, path: str) -> str:
    """The chapter's k6 script, run with k6's per-second aggregation exported to `path`."""
    return (f"export K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_PORT=-1 "
            f"K6_WEB_DASHBOARD_PERIOD=1s K6_WEB_DASHBOARD_EXPORT={quote(path)}\n{script}")


def fetch_command(path: str) -> str:
    """Print the export's data block, then remove the file (it is labguide's, not the
    reader's)."""
    p = quote(path)
    return (f"if [ -f {p} ]; then sed -n '/<script id=\"data\"/,/<\\/script>/p' {p}; fi; "
            f"rm -f {p}")


def _events(lines: Iterable[str]) -> list[dict[str, Any]]:
    m = DATA.search("\n".join(lines)[:MAX_DATA])
    if not m:
        return []
    try:
        raw = gzip.decompress(base64.b64decode("".join(m[1].split())))
    except (binascii.Error, OSError, EOFError, zlib.error):
        return []
    out = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return []
        if isinstance(event, dict):
            out.append(event)
    return out


def _aggregate(values: Any, names: Sequence[str], what: str) -> float | None:
    if not isinstance(values, list) or what not in names:
        return None
    v = values[names.index(what)] if names.index(what) < len(values) else None
    return float(v) if isinstance(v, (int, float)) else None


def _second(snapshot: Any, metrics: Mapping[str, str], aggregates: Mapping[str, list[str]]
            ) -> Second | None:
    names = sorted(metrics)
    if not isinstance(snapshot, list) or len(snapshot) != len(names):
        return None
    row = dict(zip(names, snapshot, strict=True))

    def value(metric: str, what: str) -> float | None:
        return _aggregate(row.get(metric), aggregates.get(metrics.get(metric, ""), []), what)

    t = value("time", "value")
    if t is None or t < 1e12:  # not ms since the epoch: not the layout described above
        return None
    count = value("http_reqs", "count") or 0.0
    ratio = value("http_req_failed", "rate") or 0.0
    return Second(t / 1000, value("http_reqs", "rate") or 0.0, round(ratio * count),
                  value("http_req_duration", "p(95)") if count else None)


def read_series(lines: Iterable[str]) -> list[Second]:
    """The per-second series in the export's data block (empty: none, or not readable)."""
    metrics: dict[str, str] = {}
    aggregates: dict[str, list[str]] = {}
    out: list[Second] = []
    for event in _events(lines):
        kind, data = event.get("event"), event.get("data")
        if kind == "param" and isinstance(data, dict):
            aggregates = {k: list(v) for k, v in (data.get("aggregates") or {}).items()}
        elif kind == "metric" and isinstance(data, dict):
            metrics.update({k: str(v.get("type", "")) for k, v in data.items()
                            if isinstance(v, dict)})
        elif kind == "snapshot":
            second = _second(data, metrics, aggregates)
            if second is None:
                return []
            out.append(second)
    return out


def series_as_list(series: Sequence[Second], shift: float = 0.0) -> list[list[Any]]:
    """As a step's detail keeps it: [t, requests/s, failed, p95 ms] per second; `shift`:
    seconds added to the host's clock to bring it to this machine's."""
    return [[round(s.t + shift, 3), round(s.rate, 1), s.failed,
             None if s.p95 is None else round(s.p95, 2)] for s in series]
