"""The stream pane: answers of GET http://VIP/hostname as they arrive, counts per backend,
rate and failure sparklines, failures by cause, outage windows, and the k6-like summary.

It renders the prober's aggregated events only (ProbeBatch every ~100 ms), never one
widget update per request."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Sparkline, Static

from labguide.clock import clock_ms
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.probes.http_stats import cause_word
from labguide.tui.stream_model import StreamModel, connections_text, k6_summary, result_lines
from labguide.tui.timefmt import duration

OUTAGE_ROWS = 4


class StreamPane(Vertical):
    DEFAULT_CSS = """
    StreamPane { height: 1fr; padding: 0 1; }
    StreamPane > #stream-head { height: auto; }
    StreamPane > .spark { height: 1; margin: 0; }
    StreamPane > #stream-fail-spark > .sparkline--max-color { color: $error; }
    StreamPane > #stream-fail-spark > .sparkline--min-color { color: $error 20%; }
    StreamPane > #stream-stats { height: auto; }
    StreamPane > #stream-log { height: 1fr; min-height: 3; }
    StreamPane.-outage { background: $warning 15%; }
    """

    def __init__(self, url: str | None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.url = url
        self.model = StreamModel()
        self.border_title = _("Stream")
        self._shape: tuple[int, int] = (-1, -1)

    def compose(self) -> ComposeResult:
        yield Static(id="stream-head")
        yield Sparkline(list(self.model.rates), id="stream-rate-spark", classes="spark")
        yield Sparkline(list(self.model.failures), id="stream-fail-spark", classes="spark")
        yield Static(id="stream-stats")
        log = Log(max_lines=400, id="stream-log", auto_scroll=True)
        log.can_focus = False
        yield log

    def on_mount(self) -> None:
        self.refresh_view()

    def start(self, source: str, rate: float) -> None:
        self.model.reset(source, rate)
        self.query_one("#stream-log", Log).clear()
        self.refresh_view()

    def feed(self, events: Sequence[Event]) -> None:
        lines: list[str] = []
        for event in events:
            lines.extend(self.model.apply(event))
        if lines:
            self.query_one("#stream-log", Log).write_lines(lines)
        self.refresh_view()

    def show_result(self, step_id: str, detail: dict[str, object]) -> None:
        """A load step's result (k6's or the prober's numbers), as its summary lines."""
        self.model.result = [f"{step_id} [{detail.get('tool', '?')}]", *result_lines(detail)]
        self.refresh_view()

    def set_target(self, rate: float, running: bool) -> None:
        self.model.target_rate = rate
        self.model.running = running
        self.refresh_view()

    def refresh_view(self) -> None:
        m = self.model
        self.set_class(m.current is not None, "-outage")
        head, stats = self.head(), self.stats()
        # A layout pass only when a block's height changes: 10 updates/s stay cheap.
        shape = (head.plain.count("\n"), len(stats.renderables))
        relayout = shape != self._shape
        self._shape = shape
        self.query_one("#stream-head", Static).update(head, layout=relayout)
        self.query_one("#stream-rate-spark", Sparkline).data = list(m.rates)
        self.query_one("#stream-fail-spark", Sparkline).data = list(m.failures)
        self.query_one("#stream-stats", Static).update(stats, layout=relayout)

    def head(self) -> Text:
        m = self.model
        t = Text()
        if m.running:
            t.append("● ", style="bold green")
        else:
            t.append("■ ", style="dim")
        t.append("GET " + (self.url or _("(no url)")), style="bold")
        t.append("\n")
        if m.source:
            t.append(f"{m.source}\n", style="dim")
        if m.connections:
            t.append(f"{connections_text(m.connections)}\n", style="dim italic")
        t.append(f"{m.rate:6.0f}/s", style="bold")
        t.append(_(" of {rate}/s  ").format(rate=f"{m.target_rate:g}"))
        t.append(_("ok {count}").format(count=m.ok), style="green")
        t.append("  ")
        t.append(_("fail {count}").format(count=m.failed), style="bold red" if m.failed else "dim")
        if m.dropped:
            t.append("  " + _("drop {count}").format(count=m.dropped), style="yellow")
        if m.latency_med:
            t.append(f"\n  med {m.latency_med:.2f} ms  p95 {m.latency_p95:.2f} ms", style="dim")
        return t

    def stats(self) -> Group:
        m = self.model
        parts: list[RenderableType] = []
        backends = Text(_("backends") + " ", style="dim")
        for name, count in sorted(m.by_backend.items()):
            backends.append(f"{name or '?'}=", style="")
            backends.append(f"{count} ", style="bold")
        parts.append(backends)
        if m.by_cause:
            causes = Text(_("failures") + " ", style="dim")
            for cause, count in m.by_cause.most_common():
                causes.append(f"{cause_word(cause)}={count} ", style="red")
            parts.append(causes)
        if m.current is not None:
            parts.append(Text(_("OUTAGE since {time}: {lost} lost so far").format(
                time=clock_ms(m.current.start), lost=m.current.lost), style="bold reverse red"))
        if m.outage_count > OUTAGE_ROWS:
            parts.append(Text(_("{count} outages, {lost} lost; the last {shown}:").format(
                count=m.outage_count, lost=m.outage_lost, shown=OUTAGE_ROWS), style="yellow"))
        for o in list(m.outages)[-OUTAGE_ROWS:]:
            start = clock_ms(o.start) if o.start is not None else _("start")
            cause = ", ".join(f"{cause_word(k)}={v}" for k, v in o.causes.items())
            parts.append(Text(_("outage {start} {length}, {lost} lost {causes}").format(
                start=start, length=duration(o.duration) or _("open"), lost=o.lost,
                causes=cause).rstrip(), style="yellow"))
        if m.summary is not None:
            parts.append(Text(_("summary (k6 style)"), style="bold underline"))
            parts.extend(Text(line) for line in k6_summary(m.summary))
        if m.result:
            parts.append(Text(_("step result: {step}").format(step=m.result[0]),
                              style="bold underline"))
            parts.extend(Text(line) for line in m.result[1:])
        return Group(*parts)
