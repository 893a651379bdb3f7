"""How a load step is judged and explained: the chapter's expectation (`max_failed` fails,
`warn_failed` warns, as k6's thresholds; without `warn_failed`, losing more than the book did
warns), the book's figure beside the reader's, and what happened during the load
(steps that ran, VIP moves) to say why the two differ. Pure, but for the recorder that
listens to the run's events while the load runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from labguide.events import Event, LoadStarted, StepStarted, StepStatus
from labguide.i18n import gettext as _
from labguide.probes.events import VipAcquired, VipReleased
from labguide.steps.context import Verdict
from labguide.steps.kind import Attrs

_COUNT = re.compile(r"^\d+$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_BOOK = re.compile(r"^(\d+)\s*/\s*(\d+)$")


@dataclass(frozen=True)
class Limit:
    """At most `count` failed requests, or at most `ratio` of them (0.05 for 5%)."""

    count: int | None = None
    ratio: float | None = None

    def allows(self, failed: int, sent: int) -> bool:
        if self.count is not None:
            return failed <= self.count
        return sent > 0 and failed / sent <= (self.ratio or 0.0)

    def __str__(self) -> str:
        if self.count is not None:
            return (_("no failed request") if self.count == 0
                    else _("at most {count} failed").format(count=self.count))
        return _("at most {percent}% failed").format(percent=f"{100 * (self.ratio or 0):g}")


@dataclass(frozen=True)
class BookFigure:
    """The book's own result: `failed` of `sent` (None: the book reports no numbers)."""

    failed: int | None = None
    sent: int | None = None

    def as_limit(self) -> Limit | None:
        """The book's share as a limit (None: the book gives no numbers)."""
        if self.failed is None or not self.sent:
            return None
        return Limit(count=0) if self.failed == 0 else Limit(ratio=self.failed / self.sent)

    def __str__(self) -> str:
        if self.failed is None or self.sent is None:
            return _("no failures reported")
        return _("{failed} of {sent} ({percent}%)").format(
            failed=f"{self.failed:,}", sent=f"{self.sent:,}",
            percent=f"{100 * self.failed / self.sent:.2f}")


def read_limit(attrs: Attrs, name: str = "max_failed") -> Limit | None:
    """`max_failed` (above it the step fails) or `warn_failed` (above it, a warning)."""
    raw = attrs.text(name).strip()
    if not raw:
        return None
    if _COUNT.match(raw):
        return Limit(count=int(raw))
    m = _PERCENT.match(raw)
    if m and float(m.group(1)) <= 100:
        return Limit(ratio=float(m.group(1)) / 100)
    raise attrs.error(_("{name}={raw!r}: write a count ({name}=0) or a share "
                        "({name}=\"5%\")").format(name=name, raw=raw))


def read_book(attrs: Attrs) -> BookFigure | None:
    raw = attrs.text("book").strip()
    if not raw:
        return None
    if raw == "none":
        return BookFigure()
    m = _BOOK.match(raw)
    if not m or int(m.group(2)) == 0 or int(m.group(1)) > int(m.group(2)):
        raise attrs.error(_("book={raw!r}: write the book's failed/sent, e.g. "
                            "book=\"483/29346\", or book=\"none\"").format(raw=raw))
    return BookFigure(int(m.group(1)), int(m.group(2)))


@dataclass
class Timeline:
    """What happened while a load ran: other steps starting, VIPs moving (as the run's VIP
    watcher saw them, when one runs). Times are epoch seconds."""

    started: float
    own_step: str
    events: list[tuple[float, str]] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    _last_step: tuple[float, str] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, LoadStarted) and event.step_id == self.own_step:
            self.started = event.t  # the load's own clock starts when it sends
        elif isinstance(event, StepStarted) and event.step_id != self.own_step:
            acts = event.t + event.delay
            self.events.append((acts, (_("step {step} ran (after its delay)") if event.delay
                                       else _("step {step} started")).format(
                step=event.step_id)))
            self._last_step = (acts, event.step_id)
        elif isinstance(event, VipReleased):
            self.events.append((event.t, _("{vip} left {host} ({reason})").format(
                vip=event.vip, host=event.host, reason=event.reason)))
        elif isinstance(event, VipAcquired):
            self.events.append((event.t, _("{vip} is on {host}").format(vip=event.vip,
                                                                        host=event.host)))
            if self._last_step is not None:
                t, step = self._last_step
                self.moves.append(_("{vip} reached {host} {seconds} s after {step} started"
                                    ).format(vip=event.vip, host=event.host,
                                             seconds=f"{event.t - t:.1f}", step=step))

    def lines(self) -> list[str]:
        return [f"{t - self.started:+6.1f} s  {what}" for t, what in sorted(self.events)]


def judge_load(detail: dict[str, Any], *, limit: Limit | None, book: BookFigure | None,
               threshold: float | None, where: str, timeline: Timeline | None,
               warn: Limit | None = None) -> Verdict:
    """The verdict of a load step from its numbers: failed beyond the chapter's expectation
    (or below the success threshold) fails; within it but beyond `warn` (else the book's own
    share) warns: the lab works, a few more were lost than the book lost. Either says so
    beside the book's figure, with when the VIP moved."""
    sent = int(detail.get("http_reqs", 0))
    failed = int(detail.get("http_req_failed", 0))
    if not sent:
        return Verdict(StepStatus.FAILED, _("the load test sent no request [{where}]").format(
            where=where), detail)
    message = _("you: {failed} of {sent} failed ({percent}%)").format(
        failed=f"{failed:,}", sent=f"{sent:,}", percent=f"{100 * failed / sent:.2f}")
    if book is not None:
        message += " — " + _("the book: {figure}").format(figure=book)
    message += " " + _("at {rate}/s [{where}]").format(rate=f"{detail.get('rate', 0):.1f}",
                                                       where=where)
    detail = {**detail, "expected": str(limit) if limit else None,
              "book": str(book) if book else None}
    too_many = limit is not None and not limit.allows(failed, sent)
    below = threshold is not None and (sent - failed) / sent < threshold
    moved = f"; {'; '.join(timeline.moves)}" if timeline and timeline.moves else ""
    if too_many or below:
        why = (_("more than the chapter expects ({limit})").format(limit=limit) if too_many
               else _("below the success threshold {threshold}").format(
                   threshold=f"{threshold:.2%}"))
        return Verdict(StepStatus.FAILED, f"{message}: {why}{moved}", detail)
    hoped = (warn, _("more than the chapter hopes for ({warn})").format(warn=warn)) if warn \
        else (book.as_limit() if book else None, _("more than the book lost"))
    if hoped[0] is not None and not hoped[0].allows(failed, sent):
        within = _(", within what it accepts ({limit})").format(limit=limit) if limit else ""
        return Verdict(StepStatus.WARNED, f"{message}: {hoped[1]}{within}{moved}", detail)
    return Verdict(StepStatus.PASSED, message, detail)
