"""The VIP pane: who holds each VIP, keepalived's state per candidate host (or why we cannot
know it: host not running, unreachable), and a timeline of ownership changes with the failover
gap. Two holders are a handover until the watcher raises the split-brain alarm (one rule, in
probes/vip_state.py: longer than VRRP's master-down interval)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from labguide.cells import cut
from labguide.clock import clock_ms
from labguide.events import Event
from labguide.i18n import N_
from labguide.i18n import gettext as _
from labguide.probes.vip_state import VipState
from labguide.tui.timefmt import duration
from labguide.tui.vip_model import fold, new_state

STATE_STYLE = {"MASTER": "bold green", "BACKUP": "cyan", "FAULT": "bold red",
               "STOPPED": "yellow", "UNKNOWN": "dim", "INIT": "yellow", "RUNNING": "dim"}
TIMELINE_ROWS = 6
#: Why a host stopped holding a VIP, in the reader's words ("removed" is said by nothing).
REASONS = {"unreachable": N_("unreachable")}


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
        self.border_title = _("VIPs")

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def feed(self, events: Sequence[Event]) -> None:
        if any([fold(self.model, e) for e in events]):
            self.refresh_view()

    @property
    def split_vips(self) -> tuple[str, ...]:
        """VIPs with the split-brain alarm raised (two holders past the master-down
        interval); a shorter overlap is a handover (every failback has one)."""
        return tuple(v for v in self.model.vips if self.model.split_brain(v))

    def refresh_view(self) -> None:
        self.set_class(bool(self.split_vips), "-split")
        self.update(self.render_model())

    def host_label(self, host: str) -> Text:
        reach = self.model.reachable(host)
        if self._absent(host) and reach is not True:
            return Text(_("not created yet"), style="dim italic")
        if reach is None:
            return Text(_("connecting…"), style="dim")
        if reach is False:
            if self.model.power(host) == "stopped":
                return Text(_("host not running (VM stopped)"), style="bold red")
            err = cut(self.model.error(host) or "", 30)
            return Text(_("unreachable {error}").format(error=err).rstrip(), style="red")
        return self.keepalived_label(host)

    def keepalived_label(self, host: str) -> Text:
        """keepalived on a host we reach: not running, or each instance's state."""
        daemon = self.model.keepalived.daemon(host)
        if daemon == "STOPPED":
            return Text(_("keepalived not running"), style=STATE_STYLE["STOPPED"])
        if daemon == "ABSENT":
            return Text(_("keepalived not installed"), style="dim")
        insts = self.model.instances(host)
        if not insts:
            return Text(_("keepalived running") if daemon == "RUNNING" else "keepalived ?",
                        style="dim")
        out = Text()
        for n, inst in enumerate(insts):
            if n:
                out.append(" ")
            out.append(f"{inst.instance}:", style="dim")
            out.append(inst.state, style=STATE_STYLE.get(inst.state, ""))
            if inst.priority is not None:
                out.append(f"({inst.priority})", style="dim")
        return out

    def render_model(self) -> RenderableType:
        m = self.model
        split = self.split_vips
        parts: list[RenderableType] = []
        vips = Table.grid(padding=(0, 1))
        vips.add_column(no_wrap=True)
        vips.add_column()
        for vip in m.vips:
            holders = m.holders(vip)
            if len(holders) >= 2 and vip in split:
                who = Text(_("SPLIT BRAIN: {hosts}").format(hosts=" + ".join(holders)),
                           style="bold reverse red")
            elif len(holders) >= 2:
                who = Text(_("handover: {hosts}").format(hosts=" + ".join(holders)),
                           style="bold yellow")
            elif holders:
                who = Text(f"● {holders[0]}", style="bold green")
            else:
                who = Text(_("nobody"), style="bold yellow")
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
        changes = list(m.timeline)[-TIMELINE_ROWS:]
        for c in changes:
            sign = "+" if c.acquired else "-"
            what = Text(f"{sign}{c.vip.rsplit('.', 1)[-1]} {c.host}",
                        style="green" if c.acquired else "yellow")
            note = Text()
            if c.acquired and c.gap is not None:
                note.append(_("gap {duration}").format(duration=duration(c.gap)), style="bold")
            if c.reason and c.reason != "removed":
                note.append(f"({_(REASONS.get(c.reason, c.reason))})", style="dim")
            if c.overlap is not None and c.split:
                note.append(_("SPLIT {duration}").format(duration=duration(c.overlap)),
                            style="bold red")
            elif c.overlap is not None:
                note.append(_("overlap {duration}").format(duration=duration(c.overlap)),
                            style="dim")
            stamp = clock_ms(c.t)
            timeline.add_row(stamp[3:] if short else stamp, what, note)
        if not changes:
            timeline.add_row("", Text(_("no change seen yet"), style="dim"), "")
        parts.append(Text(_("timeline"), style="dim underline"))
        parts.append(timeline)
        return Group(*parts)
