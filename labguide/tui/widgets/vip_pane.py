"""The VIP pane: who holds each VIP, keepalived's state per candidate host, and a timeline
of ownership changes with the failover gap. Two holders for OVERLAP_OK or longer is shown as
an alarm; a shorter overlap is a handover."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from labguide.clock import clock_ms
from labguide.events import Event, now
from labguide.probes.vip_state import OwnershipChange, VipState
from labguide.tui.timefmt import duration
from labguide.tui.vip_model import fold, new_state

STATE_STYLE = {"MASTER": "bold green", "BACKUP": "cyan", "FAULT": "bold red",
               "STOPPED": "dim", "UNKNOWN": "dim", "INIT": "yellow", "RUNNING": "dim"}
TIMELINE_ROWS = 6
#: two holders for less than this is a handover (a preempting master adds the VIP a moment
#: before the old one drops it), not a split brain; VRRP adverts come once a second
OVERLAP_OK = 0.5


class VipPane(Static):
    """Renders a VipState built from watcher events (fed with `feed`)."""

    DEFAULT_CSS = """
    VipPane { height: auto; min-height: 6; padding: 0 1; }
    VipPane.-split { background: $error 25%; }
    """

    def __init__(self, vips: Sequence[str], candidates: Sequence[str],
                 absent: Callable[[str], bool] | None = None, **kw: object) -> None:
        super().__init__("", **kw)  # type: ignore[arg-type]
        self.vips = tuple(vips)
        self.candidates = tuple(candidates)
        self.model: VipState = new_state(self.vips, self.candidates)
        self._absent = absent or (lambda host: False)
        self._recheck: Timer | None = None
        self.border_title = "VIPs"

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def feed(self, events: Sequence[Event]) -> None:
        if any([fold(self.model, e) for e in events]):
            self.refresh_view()

    def _two_holders_for(self, vip: str) -> float | None:
        since = self.model.split_since(vip)
        return None if since is None else now() - since

    @property
    def split_vips(self) -> tuple[str, ...]:
        """VIPs held by two hosts for OVERLAP_OK or longer: the alarm. A shorter overlap is a
        handover (every failback has one of about a millisecond) and is shown as such."""
        return tuple(v for v in self.model.vips
                     if (held := self._two_holders_for(v)) is not None and held >= OVERLAP_OK)

    def refresh_view(self) -> None:
        self.set_class(bool(self.split_vips), "-split")
        self.update(self.render_model())
        pending = [OVERLAP_OK - held for v in self.model.vips
                   if (held := self._two_holders_for(v)) is not None and held < OVERLAP_OK]
        if pending and self._recheck is None:  # look again when it would become a split
            self._recheck = self.set_timer(max(min(pending), 0.0) + 0.01, self._rechecked)

    def _rechecked(self) -> None:
        self._recheck = None
        self.refresh_view()

    def host_label(self, host: str) -> Text:
        reach = self.model.reachable(host)
        if reach is None and self._absent(host):
            return Text("not created yet", style="dim italic")
        if reach is None:
            return Text("connecting…", style="dim")
        if reach is False:
            if self._absent(host):
                return Text("not created yet", style="dim italic")
            err = self.model.error(host) or ""
            return Text(f"unreachable {err[:30]}".rstrip(), style="red")
        insts = [i for i in self.model.instances(host)]
        if not insts:
            return Text("keepalived ?", style="dim")
        out = Text()
        for n, inst in enumerate(insts):
            if n:
                out.append(" ")
            state = inst.state
            if inst.instance == "*":
                label = "not running" if state == "STOPPED" else state.lower()
                out.append(label, style=STATE_STYLE.get(state, ""))
                continue
            out.append(f"{inst.instance}:", style="dim")
            out.append("not running" if state == "STOPPED" else state,
                       style=STATE_STYLE.get(state, ""))
            if inst.priority is not None:
                out.append(f"({inst.priority})", style="dim")
        return out

    def render_model(self) -> RenderableType:
        m = self.model
        split = self.split_vips  # one clock reading for the whole render
        parts: list[RenderableType] = []
        vips = Table.grid(padding=(0, 1))
        vips.add_column(no_wrap=True)
        vips.add_column()
        for vip in m.vips:
            holders = m.holders(vip)
            if len(holders) >= 2 and vip in split:
                who = Text(f"SPLIT BRAIN: {' + '.join(holders)}", style="bold reverse red")
            elif len(holders) >= 2:
                who = Text(f"handover: {' + '.join(holders)}", style="bold yellow")
            elif holders:
                who = Text(f"● {holders[0]}", style="bold green")
            else:
                who = Text("nobody", style="bold yellow")
            vips.add_row(Text(vip, style="bold"), who)
        parts.append(vips)
        hosts = Table.grid(padding=(0, 1))
        hosts.add_column(no_wrap=True)
        hosts.add_column()
        for host in self.candidates:
            hosts.add_row(Text(host), self.host_label(host))
        parts.append(hosts)
        timeline = Table.grid(padding=(0, 1))
        timeline.add_column(no_wrap=True, style="dim")
        timeline.add_column(no_wrap=True)
        timeline.add_column(no_wrap=True)
        short = self.size.width and self.size.width < 44
        everything = list(m.timeline)
        changes = everything[-TIMELINE_ROWS:]
        for n, c in enumerate(changes, start=len(everything) - len(changes)):
            sign = "+" if c.acquired else "-"
            what = Text(f"{sign}{c.vip.rsplit('.', 1)[-1]} {c.host}",
                        style="green" if c.acquired else "yellow")
            note = Text()
            if c.acquired and c.gap is not None:
                note.append(f"gap {duration(c.gap)}", style="bold")
            if c.reason and c.reason != "removed":
                note.append(f"({c.reason})", style="dim")
            if len(c.holders) >= 2:
                overlap = overlap_of(everything, n)
                if overlap is not None and overlap < OVERLAP_OK:
                    note.append(f"overlap {duration(overlap)}", style="dim")
                else:
                    note.append("SPLIT", style="bold red")
            stamp = clock_ms(c.t)
            timeline.add_row(stamp[3:] if short else stamp, what, note)
        if not changes:
            timeline.add_row("", Text("no change seen yet", style="dim"), "")
        parts.append(Text("timeline", style="dim underline"))
        parts.append(timeline)
        return Group(*parts)


def overlap_of(timeline: Sequence[OwnershipChange], n: int) -> float | None:
    """How long the VIP of timeline[n] (taken while another host held it) stayed held by
    two or more; None while that is still the case."""
    first = timeline[n]
    for later in timeline[n + 1:]:
        if later.vip == first.vip and len(later.holders) < 2:
            return later.t - first.t
    return None
