"""The failover drill's part of the HTML report: per scenario, the load over time (requests/s,
failures, p95) with markers where the disruption and the restore ran and where the VIP
moved, the outages the prober measured, and the reader's figures beside the book's. From a
DrillReport (its scenarios carry their prober windows); text out only, no I/O."""

from __future__ import annotations

import io
import re
from html import escape
from typing import TYPE_CHECKING

from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.report.svg import Marker, Scale, load_chart
from labguide.report.table import drill_table

if TYPE_CHECKING:
    from labguide.drill.model import DrillReport, ScenarioResult

#: The book's figure as the drill keeps it: "0 of 29,984 lost", "483 of 29,346 lost (1.64%)".
BOOK = re.compile(r"([\d,]+) of ([\d,]+)")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def scenario_markers(r: ScenarioResult) -> list[Marker]:
    """Where the scenario acted: its disruption, the VIP's arrival on the peer, the
    restore, the VIP back on its owner (each only when it happened)."""
    out = [Marker(r.disrupt_at, _("{scenario} on {host}").format(scenario=r.scenario,
                                                                  host=r.owner))]
    if r.moved_after is not None and r.peer:
        out.append(Marker(r.disrupt_at + r.moved_after,
                          _("{vip} on {host}").format(vip=r.vip, host=r.peer)))
    if r.restore_at:
        out.append(Marker(r.restore_at, _("restored on {host}").format(host=r.owner)))
    if r.back_after is not None:
        out.append(Marker(r.restore_at + r.back_after,
                          _("{vip} back on {host}").format(vip=r.vip, host=r.owner)))
    return out


def _window(r: ScenarioResult, start: float, end: float) -> list[tuple[float, float]]:
    """The prober's outages (open ends: the chart's edges)."""
    return [(o.start if o.start is not None else start, o.end if o.end is not None else end)
            for o in r.outages]


def _figures(r: ScenarioResult) -> str:
    """Ours beside the book's: the book measured the move under k6's load (lost of sent)."""
    m = BOOK.search(r.chapter)
    rows = [(_("requests"), f"{r.sent:,}", m[2] if m else ""),
            (_("lost while moving"), f"{r.lost_moving:,}", m[1] if m else ""),
            (_("lost coming back"), f"{r.lost_back:,}", ""),
            (_("VIP moved after"), _seconds(r.moved_after), ""),
            (_("VIP back after"), _seconds(r.back_after), "")]
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td><td>{escape(b)}</td></tr>"
                    for k, v, b in rows)
    return ('<table class="figures"><tr><th></th><th>' + escape(_("yours")) + "</th><th>"
            + escape(_("the book")) + f"</th></tr>{cells}<tr><td>"
            + escape(_("the book says")) + f"</td><td colspan=2>{escape(r.chapter)}</td></tr>"
            "</table>")


def scenario_html(r: ScenarioResult) -> str:
    status = r.status.value
    word = StepStatus(status).word
    head = _("{scenario} on {vip}: {title}").format(scenario=r.scenario, vip=r.vip,
                                                     title=r.title)
    out = [f'<h3 class="drill-scenario" data-scenario="{escape(r.scenario)}" '
           f'data-vip="{escape(r.vip)}">{escape(head)}</h3>',
           f'<p><span class="{escape(status)}">{escape(word)}</span> {escape(r.message)}</p>',
           _figures(r)]
    if r.samples:
        start = min(r.started_at or r.samples[0].t, r.samples[0].t)
        end = max(r.samples[-1].t, start + r.duration if r.started_at else 0.0)
        out.append(load_chart(f"{r.scenario}@{r.vip}", r.samples, Scale(start, end),
                              scenario_markers(r), _window(r, start, end), title=head))
    else:
        out.append('<p class="missing">' + escape(_(
            "No load over time for this scenario in the record.")) + "</p>")
    return "".join(out)


def drill_html(drill: DrillReport) -> str:
    """The drill's heading, a chart per scenario, and its text table (collapsed)."""
    buf = io.StringIO()
    drill_table(drill, buf)
    intro = _("Each VIP moved away from its owner and back under {rate} requests/s from "
              "this machine; dashed lines: when the drill acted and when the VIP moved; "
              "red: the prober's outages.").format(rate=f"{drill.rate:g}")
    return ("<h2>" + escape(_("Failover drill")) + f"</h2><p>{escape(intro)}</p>"
            + "".join(scenario_html(r) for r in drill.results)
            + "<details><summary>" + escape(_("as a table")) + "</summary>"
            f"<pre>{escape(buf.getvalue())}</pre></details>")
