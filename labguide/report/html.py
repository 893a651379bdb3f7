"""The run's report as one self-contained HTML page (`labguide report`, `--report FILE.html`):
inline CSS and SVG, no script, nothing fetched. From the transcript (report/runlog.py), the
chapter's section titles and, when there is one, a --check result and a drill's (charted
by report/drill_html.py). Writes text only."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.i18n import language, ngettext
from labguide.report.drill_html import drill_html
from labguide.report.runlog import LoadRun, RunLog, StepRun
from labguide.report.svg import Marker, Scale, load_chart, vip_timeline

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drill.model import DrillReport

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222;
background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{padding:3px 6px;text-align:left;
vertical-align:top;border-bottom:1px solid #eee}
.passed{color:#17702a}.failed{color:#b3161b;font-weight:bold}.warned{color:#a15c00}
.skipped,.cancelled,.running{color:#666}
pre{background:#f6f6f6;padding:6px;overflow-x:auto;font-size:12px;margin:4px 0}
details summary{cursor:pointer;color:#345}
svg text{font:11px system-ui,sans-serif;fill:#333}.chart-title{font-weight:bold}
.vip-span{fill:#2f7ed8}.vip-gap rect{fill:#f4b6b6}.outage rect{fill:#f8d0d0}
.outage-label{fill:#b3161b}.marker line{stroke:#a15c00;stroke-dasharray:4 3}
.marker-label{fill:#a15c00;paint-order:stroke;stroke:#fff;stroke-width:3px}
.axis,.tick{stroke:#999}.rate-line{fill:none;stroke:#2f7ed8;stroke-width:1.5}
.p95-line{fill:none;stroke:#7a3fbf;stroke-width:1.5}.failed-bar{fill:#b3161b}
.missing{fill:#888;font-style:italic}.figures td:first-child{color:#555;width:30%}
"""


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _tag(name: str, text: str) -> str:
    """`text` escaped inside <name>…</name>."""
    return f"<{name}>{escape(text)}</{name}>"


def _word(status: str) -> str:
    return StepStatus(status).word if status in set(StepStatus) else status


def _status(status: str) -> str:
    """A result in the reader's words; its class (for the colour) is the English code."""
    return f'<span class="{escape(status)}">{escape(_word(status))}</span>'


def _step_row(run: StepRun, start: float) -> str:
    hosts = ", ".join(run.hosts)
    out = "".join(
        "<details><summary>" + escape(ngettext(
            "output on {host} ({n} line)", "output on {host} ({n} lines)", len(lines)).format(
                host=h, n=len(lines))) + "</summary>"
        f"<pre>{escape(chr(10).join(lines))}</pre></details>"
        for h, lines in run.output.items() if lines)
    script = ("<details><summary>" + escape(_("command")) + "</summary>"
              f"<pre>{escape(run.script)}</pre></details>" if run.script else "")
    disruptive = " <small>" + escape(_("(disruptive)")) + "</small>" if run.disruptive else ""
    return (f'<tr class="step" data-step="{escape(run.id)}"><td>{_status(run.status)}</td>'
            f"<td><b>{escape(run.id)}</b> <small>{escape(run.kind)}</small>"
            f"{disruptive}"
            f"<br>{escape(run.message)}{script}{out}</td><td>{escape(hosts)}</td>"
            f"<td>+{run.started - start:.1f} s</td><td>{run.duration:.2f} s</td></tr>")


def _steps(log: RunLog, titles: Mapping[str, str]) -> str:
    out = [_tag("h2", _("Steps"))]
    heads = "".join(_tag("th", h) for h in (
        _("result"), _("step"), _("host"), _("started"), _("took")))
    section = None
    for run in log.steps:
        if run.section != section or section is None:
            if section is not None:
                out.append("</table>")
            section = run.section
            title = titles.get(section, section) or _("Steps")
            out.append(f"<h3>{escape(title)}</h3><table><tr>{heads}</tr>")
        out.append(_step_row(run, log.start))
    if section is not None:
        out.append("</table>")
    return "".join(out)


def _markers(log: RunLog, t0: float, t1: float, skip: str = "") -> list[Marker]:
    return [Marker(r.acted, r.id) for r in log.steps
            if r.disruptive and r.id != skip and t0 <= r.acted <= t1]


def _vips(log: RunLog) -> str:
    head = _tag("h2", _("VIP ownership"))
    if not log.spans:
        return head + "<p>" + escape(_(
            "No VIP events in this run's record (the VIP watcher did not run, or the run "
            "predates it).")) + "</p>"
    scale = Scale(log.start, log.end)
    out = [head + "<p>" + escape(_(
        "Who held each VIP over the whole run; red: no host held it; dashed lines: "
        "disruptive steps.")) + "</p>"]
    markers = _markers(log, log.start, log.end)
    for vip in log.vips:
        spans = [s for s in log.spans if s.vip == vip]
        hosts = sorted({s.host for s in spans})
        out.append(vip_timeline(vip, spans, hosts, scale, markers))
    return "".join(out)


def _ms(value: object) -> str:
    """The prober's p95 is a number of ms; k6's a text such as '4ms'."""
    return f"{value:.2f} ms" if isinstance(value, float) else str(value)


def _figure(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


BOOK = re.compile(r"([\d,]+) of ([\d,]+)")


def _figures(detail: Mapping[str, Any]) -> str:
    """The reader's figures beside the book's (the book gives failed of sent)."""
    dur = detail.get("http_req_duration")
    rate = detail.get("rate")
    book = str(detail.get("book", "") or "")
    m = BOOK.search(book)
    rows = [(_("requests"), detail.get("http_reqs", "?"), m[2] if m else ""),
            (_("failed"), detail.get("http_req_failed", "?"), m[1] if m else ""),
            (_("requests/s"), f"{rate:.1f}" if isinstance(rate, float | int) else "?", ""),
            ("p95", _ms(dur.get("p95", "?")) if isinstance(dur, dict) else "?", "")]
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(_figure(v))}</td>"
                    f"<td>{escape(b)}</td></tr>" for k, v, b in rows)
    expected = escape(str(detail.get("expected", "")))
    return ('<table class="figures"><tr><th></th>' + _tag("th", _("yours"))
            + _tag("th", _("the book")) + f"</tr>{cells}<tr>" + _tag("td", _("expected"))
            + f"<td colspan=2>{expected}</td></tr><tr>" + _tag("td", _("the book says"))
            + "<td colspan=2>" + escape(book or _("(no figure)")) + "</td></tr></table>")


def _loads(log: RunLog) -> str:
    runs = {r.id: r for r in log.steps}
    if not log.loads:
        return ""
    out = [_tag("h2", _("Load"))]
    for load in log.loads.values():
        run = runs.get(load.step)
        if run is None:
            continue
        end = run.finished or log.end
        out.append(f'<h3>{escape(load.step)}</h3><p>{_status(run.status)} '
                   f"{escape(run.message)} <small>({escape(load.tool)})</small></p>")
        out.append(_figures(run.detail))
        out.append(_load_svg(load, log, run.started, end))
    return "".join(out)


def _load_svg(load: LoadRun, log: RunLog, start: float, end: float) -> str:
    markers = _markers(log, start, end, skip=load.step)
    return load_chart(load.step, load.samples, Scale(start, end), markers)


def _check(check: CheckReport) -> str:
    rows = "".join(
        f"<tr><td>{_status(r.status.value)}</td><td>{escape(r.step.id)}</td>"
        f"<td>{escape(', '.join(r.step.step.hosts))}</td><td>{escape(r.message)}</td></tr>"
        for r in check.results)
    c = check.counts
    summary = _("{passed} passed, {failed} failed, {warned} warned, {skipped} skipped in "
                "{seconds} s").format(passed=c.get("passed", 0), failed=c.get("failed", 0),
                                      warned=c.get("warned", 0), skipped=c.get("skipped", 0),
                                      seconds=f"{check.duration:.2f}")
    heads = "".join(_tag("th", h) for h in (_("result"), _("check"), _("host"), _("message")))
    return (_tag("h2", _("Check")) + f'<p class="check-summary">{escape(summary)}</p>'
            f'<table class="check"><tr>{heads}</tr>{rows}</table>')


def render_html(log: RunLog | None, *, title: str, titles: Mapping[str, str],
                check: CheckReport | None = None, drill: DrillReport | None = None) -> str:
    """The whole page. `titles`: section id → title; `log` None: no run recorded yet;
    `drill`: a --drill's result, charted per scenario."""

    body: Sequence[str]
    if log is None:
        body = ["<p>" + escape(_("No run recorded for this chapter and lab yet.")) + "</p>"]
    else:
        counts: dict[str, int] = {}
        for r in log.steps:
            counts[r.status] = counts.get(r.status, 0) + 1
        said = ", ".join(_("{n} {status}").format(n=n, status=_word(s))
                         for s, n in sorted(counts.items()))
        run = _("Run from {start} to {end} ({seconds} s): {counts}.").format(
            start=_when(log.start), end=_when(log.end), seconds=f"{log.end - log.start:.0f}",
            counts=said)
        body = [f"<p>{escape(run)}</p>", _vips(log), _loads(log)]
    parts = [*body, _check(check) if check is not None else "",
             drill_html(drill) if drill is not None else "",
             _steps(log, titles) if log is not None else ""]
    return (f'<!DOCTYPE html><html lang="{escape(language())}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1>{''.join(parts)}</body></html>\n")
