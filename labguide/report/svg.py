"""Inline SVG for the HTML report: a VIP's ownership timeline (a row per host, its gaps marked)
and a load's charts (requests/s, failures, p95 over time, outage windows, markers where the
disruptive steps ran). Text out only; element classes (`vip-span`, `vip-gap`, `rate-line`,
`outage`, `marker` …) are what tests and the stylesheet look for."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.report.runlog import Sample, Span

WIDTH = 900
LEFT = 110
RIGHT = 20
ROW = 22
#: The load chart's strips.
PANELS = {"rate": N_("requests/s"), "failed": N_("failures"), "p95": N_("p95 ms")}


@dataclass(frozen=True)
class Marker:
    """A step that ran at `t` (a disruptive one, or one during a load)."""

    t: float
    label: str


@dataclass(frozen=True)
class Scale:
    start: float
    end: float

    def x(self, t: float) -> float:
        span = max(self.end - self.start, 1e-6)
        return round(LEFT + (min(max(t, self.start), self.end) - self.start) / span
                     * (WIDTH - LEFT - RIGHT), 1)


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return (f'<text x="{x}" y="{y}" class="{cls}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")


def _axis(scale: Scale, y: float) -> str:
    """Seconds since the start, about six ticks."""
    total = scale.end - scale.start
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
                 if total / s <= 8), 7200)
    out = [f'<line class="axis" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    tick = 0
    while tick <= total:
        x = scale.x(scale.start + tick)
        out.append(f'<line class="tick" x1="{x}" y1="{y}" x2="{x}" y2="{y + 4}"/>')
        out.append(_text(x, y + 15, f"{tick} s", "tick-label", "middle"))
        tick += step
    return "".join(out)


#: Marker labels sit in lanes above the plot, never on its data: a lane's height, the room
#: kept between two labels in one lane, and the most lanes (a label that fits in none is
#: left to its line's tooltip).
LANE = 12
LABEL_GAP = 8
MAX_LANES = 6
#: An estimate of a label's width at the page's 11 px sans-serif, per character: wide (CJK)
#: characters take a full em. Estimated high, so that lanes never overlap.
NARROW_PX, WIDE_PX = 6.6, 11.5


def text_width(text: str) -> float:
    return sum(WIDE_PX if unicodedata.east_asian_width(c) in "WF" else NARROW_PX
               for c in text)


@dataclass(frozen=True)
class PlacedMarker:
    """A marker with its label's place: its lane (None: no room, tooltip only), whether the
    label ends at the line (near the right edge) instead of starting there, and the label
    as shown (cut with … when even the wider side has no room for it; `title` is whole)."""

    marker: Marker
    title: str
    x: float
    lane: int | None
    leftward: bool
    label: str


def fit(text: str, room: float) -> str:
    """`text`, cut with … so that it takes at most `room` pixels."""
    if text_width(text) <= room:
        return text
    while text and text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def place_markers(scale: Scale, markers: Sequence[Marker]) -> list[PlacedMarker]:
    """Each marker in the scale's time, its label in the first lane where it overlaps no
    other label (in time order, so labels read left to right, top to bottom)."""
    ends: list[float] = []  # per lane: where its last label ends
    out = []
    for m in sorted((m for m in markers if scale.start <= m.t <= scale.end),
                    key=lambda m: m.t):
        x = scale.x(m.t)
        title = _("{step} at {seconds} s").format(step=m.label,
                                                  seconds=f"{m.t - scale.start:.1f}")
        right, left = WIDTH - x - 3, x - 3
        leftward = text_width(title) > right and left > right
        label = fit(title, left if leftward else right)
        width = text_width(label)
        x0 = x - 3 - width if leftward else x + 3
        lane = next((i for i, end in enumerate(ends) if end + LABEL_GAP <= x0), None)
        if lane is None and len(ends) < MAX_LANES:
            lane = len(ends)
            ends.append(0.0)
        if lane is not None:
            ends[lane] = x0 + width
        out.append(PlacedMarker(m, title, x, lane, leftward, label))
    return out


def band_height(placed: Sequence[PlacedMarker]) -> int:
    """The height of the labels' lanes above the plot."""
    lanes = [p.lane for p in placed if p.lane is not None]
    return (max(lanes) + 1) * LANE + 4 if lanes else 0


def _markers(placed: Sequence[PlacedMarker], top: float, bottom: float) -> str:
    """`top`: the plot's top; the lanes are the band just above it. Every line first, then
    every label over them (a line from an upper lane may cross a lower lane's label: the
    label's halo keeps it readable)."""
    band = top - band_height(placed)
    lines, labels = [], []
    for p in placed:
        label_y = band + LANE * ((p.lane or 0) + 1) - 2
        line_top = label_y - 9 if p.lane is not None else top
        lines.append(f'<g class="marker"><title>{escape(p.title)}</title>'
                     f'<line x1="{p.x}" y1="{line_top}" x2="{p.x}" y2="{bottom}"/></g>')
        if p.lane is not None:
            labels.append(_text(p.x - 3 if p.leftward else p.x + 3, label_y, p.label,
                                "marker-label", "end" if p.leftward else "start"))
    return "".join(lines) + "".join(labels)


def gaps(spans: Sequence[Span], start: float, end: float) -> list[tuple[float, float]]:
    """The times within [first acquire, end] when no host held the VIP."""
    edges = sorted((s.start, s.end if s.end is not None else end) for s in spans)
    out: list[tuple[float, float]] = []
    if not edges:
        return out
    covered = edges[0][1]
    for a, b in edges[1:]:
        if a > covered:
            out.append((covered, a))
        covered = max(covered, b)
    if covered < end:
        out.append((covered, end))
    return out


def vip_timeline(vip: str, spans: Sequence[Span], hosts: Sequence[str], scale: Scale,
                 markers: Sequence[Marker]) -> str:
    placed = place_markers(scale, markers)
    top = 24 + band_height(placed)
    height = top + ROW * len(hosts) + 30
    out = [f'<svg class="vip-timeline" data-vip="{escape(vip)}" width="{WIDTH}" '
           f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img">',
           "<title>" + escape(_("{vip}: who held it").format(vip=vip)) + "</title>",
           _text(4, 14, f"VIP {vip}", "chart-title")]
    bottom = top + ROW * len(hosts)
    for g0, g1 in gaps(spans, scale.start, scale.end):
        x0, x1 = scale.x(g0), scale.x(g1)
        label = _("no holder {length} s (from {start} s)").format(
            length=f"{g1 - g0:.2f}", start=f"{g0 - scale.start:.1f}")
        out.append(f'<g class="vip-gap"><title>{escape(label)}</title>'
                   f'<rect x="{x0}" y="{top}" width="{max(x1 - x0, 1.5)}" '
                   f'height="{bottom - top}"/></g>')
    for i, host in enumerate(hosts):
        y = top + ROW * i
        out.append(_text(4, y + 15, host, "host-label"))
        for s in (s for s in spans if s.host == host):
            x0, x1 = scale.x(s.start), scale.x(s.end if s.end is not None else scale.end)
            out.append(f'<rect class="vip-span" data-host="{escape(host)}" x="{x0}" '
                       f'y="{y + 3}" width="{max(x1 - x0, 1.5)}" height="{ROW - 6}"><title>'
                       + escape(_("{host} held {vip}").format(host=host, vip=vip))
                       + "</title></rect>")
    out.append(_markers(placed, top, bottom))
    out.append(_axis(scale, bottom + 4))
    out.append("</svg>")
    return "".join(out)


def _polyline(points: list[tuple[float, float]], cls: str) -> str:
    if not points:
        return ""
    text = " ".join(f"{x},{y}" for x, y in points)
    return f'<polyline class="{cls}" points="{text}"/>'


def _panel(samples: Sequence[Sample], scale: Scale, top: float, what: str) -> str:
    """One strip of the load chart: 'rate', 'failed' or 'p95'."""
    height = 70
    values = [getattr(s, what) for s in samples]
    known = [v for v in values if v is not None]
    label = _(PANELS[what])
    out = [_text(4, top + 12, label, "panel-label")]
    if not known:
        out.append(_text(LEFT + 4, top + 40, _(
            "{panel}: not in this run's record (k6's progress lines give completed requests "
            "only)").format(panel=label), "missing"))
        return "".join(out)
    peak = max(known) or 1.0
    shown = f"{peak:,.0f}" if peak >= 10 else f"{peak:.2g}"  # p95 under a ms: 0.95, not 1
    out.append(_text(LEFT - 4, top + 12, shown, "peak-label", "end"))

    def y(v: float) -> float:
        return round(top + height - v / peak * (height - 8), 1)

    if what == "failed":
        for s in samples:
            if s.failed:
                out.append(f'<rect class="failed-bar" x="{scale.x(s.t) - 1}" y="{y(s.failed)}" '
                           f'width="3" height="{top + height - y(s.failed)}"/>')
    else:
        out.append(_polyline([(scale.x(s.t), y(v)) for s, v in zip(samples, values, strict=True)
                              if v is not None], f"{what}-line"))
    out.append(f'<line class="axis" x1="{LEFT}" y1="{top + height}" x2="{WIDTH - RIGHT}" '
               f'y2="{top + height}"/>')
    return "".join(out)


def outages(samples: Sequence[Sample]) -> list[tuple[float, float]]:
    """Runs of samples with failures: (first failing sample's start, last one's end)."""
    out: list[tuple[float, float]] = []
    prev_t: float | None = None
    for s in samples:
        if s.failed:
            start = prev_t if prev_t is not None else s.t
            if out and out[-1][1] == start:
                out[-1] = (out[-1][0], s.t)
            else:
                out.append((start, s.t))
        prev_t = s.t
    return out


def load_chart(step: str, samples: Sequence[Sample], scale: Scale,
               markers: Sequence[Marker], windows: Sequence[tuple[float, float]] | None = None,
               title: str = "") -> str:
    """`windows`: the outages as measured (start, end), when known more exactly than the
    samples' failing runs; `title`: the chart's heading (default: "load STEP")."""
    placed = place_markers(scale, markers)
    top, panel = 24 + band_height(placed), 80
    height = top + 3 * panel + 30
    out = [f'<svg class="load-chart" data-step="{escape(step)}" width="{WIDTH}" '
           f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img">',
           "<title>" + escape(_("load {step} over time").format(step=step)) + "</title>",
           _text(4, 14, title or _("load {step}").format(step=step), "chart-title")]
    bottom = top + 3 * panel
    for o0, o1 in outages(samples) if windows is None else windows:
        label = _("outage {length} s from {start} s").format(
            length=f"{o1 - o0:.2f}", start=f"{o0 - scale.start:.1f}")
        out.append(f'<g class="outage" data-start="{o0 - scale.start:.3f}" '
                   f'data-end="{o1 - scale.start:.3f}"><title>{escape(label)}</title>'
                   f'<rect x="{scale.x(o0)}" y="{top}" '
                   f'width="{max(scale.x(o1) - scale.x(o0), 1.5)}" height="{bottom - top}"/>'
                   f'{_text(scale.x(o0) + 2, bottom - 4, label, "outage-label")}</g>')
    for i, what in enumerate(("rate", "failed", "p95")):
        out.append(_panel(samples, scale, top + i * panel, what))
    out.append(_markers(placed, top, bottom))
    out.append(_axis(scale, bottom + 4))
    out.append("</svg>")
    return "".join(out)
