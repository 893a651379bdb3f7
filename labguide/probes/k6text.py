"""The one k6-style summary of labguide: its rows, rendered at any label width, and k6's own
end-of-test summary read back into numbers. Text only: no I/O, no front-end.

Rows are k6's (`checks`, `http_req_duration`, `http_req_failed`, `http_reqs`,
`dropped_iterations`) in its 1.x wording ("N out of M"), then what k6 does not report (in
the run's language; k6's metric names stay as k6 prints them). Labels longer than the width
are cut with "..." (`http_req_dur...` at 15 columns), so a narrow pane and the full-width
command share one layout; widths are terminal cells, so Japanese labels line up too.
`parse_k6_summary` reads both k6's own output (0.x and 1.x) and ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labguide.cells import cell_len, cut
from labguide.clock import clock_ms
from labguide.i18n import gettext as _
from labguide.probes.events import LatencySummary, OutageWindow, ProbeSummary
from labguide.probes.http_stats import cause_word

#: Label widths: the full k6 layout, and a narrow pane's.
WIDE = 32
NARROW = 15

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
K6_REQS = re.compile(r"http_reqs\.*:\s*(\d+)\s+([\d.]+)/s")
K6_FAILED_OLD = re.compile(r"http_req_failed\.*:\s*([\d.]+)%\s+✓\s*(\d+)\s+✗\s*(\d+)")
K6_FAILED_NEW = re.compile(r"http_req_failed\.*:\s*([\d.]+)%\s+(\d+) out of (\d+)")
K6_DURATION = re.compile(
    r"http_req_dur\w*\.*:\s*avg=(\S+)\s+min=(\S+)\s+med=(\S+)\s+max=(\S+)\s+"
    r"p\(90\)=(\S+)\s+p\(95\)=(\S+)")
DURATION_KEYS = ("avg", "min", "med", "max", "p90", "p95")


def ms(value: float) -> str:
    return f"{value:.2f}ms" if value < 1000 else f"{value / 1000:.2f}s"


def counts(d: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "-"


def row(label: str, value: str, width: int) -> str:
    label = cut(label, width, "...")
    return f"{label}{'.' * (width - cell_len(label))}: {value}"


def durations(d: LatencySummary) -> str:
    return (f"avg={ms(d.avg)} min={ms(d.min)} med={ms(d.med)} max={ms(d.max)} "
            f"p(90)={ms(d.p90)} p(95)={ms(d.p95)}")


def k6_rows(s: ProbeSummary) -> list[tuple[str, str]]:
    """What k6 itself reports, in its words."""
    return [
        ("checks", f"{100 * s.success_ratio:.2f}%  " + _("{n} out of {total}").format(
            n=s.checks_passed, total=s.http_reqs)),
        ("http_req_duration", durations(s.http_req_duration)),
        ("http_req_failed", f"{100 * s.failed_ratio:.2f}%  " + _("{n} out of {total}").format(
            n=s.http_req_failed, total=s.http_reqs)),
        ("http_reqs", f"{s.http_reqs}  {s.rate:.2f}/s " + _("(target {rate}/s)").format(
            rate=f"{s.target_rate:g}")),
        ("dropped_iterations", f"{s.dropped}  " + _("(late: {count})").format(count=s.late)),
    ]


def extra_rows(s: ProbeSummary) -> list[tuple[str, str]]:
    """What labguide's prober adds to k6's numbers."""
    late = s.lateness_ms
    return [
        (_("achieved rate / target"), f"{s.achieved_ratio:.3f}"),
        (_("late starts (>10ms)"), f"{s.late}  " + _("(lateness {values})").format(
            values=f"p50={ms(late.med)} p99={ms(late.p99)} max={ms(late.max)}")),
        (_("backends"), counts(s.by_backend)),
        (_("failures by cause"), counts({cause_word(k): v for k, v in s.by_cause.items()})),
        (_("cpu (prober process)"), _("{seconds}s, {per}µs/request").format(
            seconds=f"{s.cpu_seconds:.2f}",
            per=f"{1e6 * s.cpu_seconds / max(s.http_reqs, 1):.0f}")),
    ]


def outage_lines(outages: Sequence[OutageWindow], width: int, shown: int | None = None,
                 ) -> list[str]:
    """A count of all outages, then one line for each of the last `shown` (None: all)."""
    listed = list(outages)
    if shown is not None:
        listed = listed[-shown:] if shown else []
    count = _("{count}, {lost} lost").format(count=len(outages),
                                             lost=sum(o.lost for o in outages))
    if len(listed) < len(outages):
        count += _("; {count} earlier ones not listed").format(count=len(outages) - len(listed))
    lines = [row(_("outages"), count, width)]
    for o in listed:
        start = clock_ms(o.start) if o.start is not None else _("(start)")
        end = clock_ms(o.end) if o.end is not None else _("(still failing at the end)")
        length = f"{o.duration:.3f} s" if o.duration is not None else "?"
        causes = counts({cause_word(k): v for k, v in o.causes.items()})
        lines.append(row(_("outage"), _("{start} → {end}  {length}, {lost} lost ({causes})"
                                        ).format(start=start, end=end, length=length,
                                                 lost=o.lost, causes=causes), width))
    return lines


def summary_lines(s: ProbeSummary, *, width: int = WIDE, extras: bool = True,
                  outages: int | None = None) -> list[str]:
    """The summary: k6's rows, then (with `extras`) the prober's own, then the outages
    (the last `outages` of them listed; None: all)."""
    rows = k6_rows(s) + (extra_rows(s) if extras else [])
    return [row(label, value, width) for label, value in rows] + outage_lines(
        s.outages, width, outages)


def detail_lines(detail: Mapping[str, Any], width: int = NARROW) -> list[str]:
    """A load step's stored result (k6's parsed summary or the prober's) as k6-like rows."""
    reqs, failed = detail.get("http_reqs"), detail.get("http_req_failed")
    rows: list[tuple[str, str]] = []
    if reqs is not None:
        rows.append(("http_reqs", f"{reqs}  {float(detail.get('rate', 0)):.2f}/s"))
    if failed is not None and reqs:
        rows.append(("http_req_failed", f"{100 * int(failed) / int(reqs):.2f}%  " + _(
            "{n} out of {total}").format(n=failed, total=reqs)))
    dur = detail.get("http_req_duration")
    if isinstance(dur, Mapping):
        rows.append(("http_req_duration", " ".join(
            f"{k}={ms(v)}" if isinstance(v, (int, float)) else f"{k}={v}"
            for k, v in dur.items() if k in ("avg", "med", "p90", "p95", "max"))))
    return [row(label, value, width) for label, value in rows]


def parse_k6_summary(lines: Iterable[str]) -> dict[str, Any]:
    """The numbers of k6's end-of-test summary (0.x and 1.x layouts, and ours)."""
    text = ANSI.sub("", "\n".join(lines))
    out: dict[str, Any] = {"tool": "k6"}
    if m := K6_REQS.search(text):
        out["http_reqs"] = int(m.group(1))
        out["rate"] = float(m.group(2))
    if m := K6_FAILED_OLD.search(text):
        out["http_req_failed"] = int(m.group(2))
    elif m := K6_FAILED_NEW.search(text):
        out["http_req_failed"] = int(m.group(2))
    if m := K6_DURATION.search(text):
        out["http_req_duration"] = dict(zip(DURATION_KEYS, m.groups(), strict=True))
    return out
