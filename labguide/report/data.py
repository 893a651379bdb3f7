"""Check and drill reports as plain JSON-able data (the JSON format, and what JUnit reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labguide.probes.events import OutageWindow
from labguide.report.runlog import Sample
from labguide.titles import bound_title

if TYPE_CHECKING:
    from labguide.check import CheckReport
    from labguide.drill.model import DrillReport


def check_as_dict(report: CheckReport) -> dict[str, Any]:
    redact = report.redact
    return {
        "chapter": report.chapter,
        "exit_code": report.exit_code,
        "duration": round(report.duration, 3),
        "counts": report.counts,
        "drifted": len(report.drifted),
        "limit": list(report.limit),
        "unreachable": report.unreachable,
        "checks": [{
            "id": r.step.id, "title": bound_title(r.step), "section": r.step.step.section,
            "hosts": list(r.step.step.hosts),
            "status": r.status.value, "message": r.message, "expected": r.step.message,
            "command": redact(r.step.shown), "hint": r.step.hint,
            "duration": round(r.duration, 3), "results": {h: dict(d) for h, d in r.hosts.items()},
        } for r in report.results],
    }


def outage_as_dict(o: OutageWindow) -> dict[str, Any]:
    return {"start": o.start, "end": o.end, "duration": o.duration, "lost": o.lost,
            "causes": dict(o.causes), "first_failure": o.first_failure}


def sample_as_dict(s: Sample) -> dict[str, Any]:
    """One window of a load: its end (epoch), requests/s, failures, p95 in ms (None: no
    answer in it)."""
    return {"t": round(s.t, 3), "rate": round(s.rate, 1), "failed": s.failed,
            "p95": None if s.p95 is None else round(s.p95, 2)}


def drill_as_dict(report: DrillReport) -> dict[str, Any]:
    return {
        "exit_code": report.exit_code, "rate": report.rate,
        "duration": round(report.duration, 3), "restored": report.restored,
        "error": report.error,
        "before": {h: dict(s) for h, s in report.before.items()},
        "after": {h: dict(s) for h, s in report.after.items()},
        "holders_before": {v: list(h) for v, h in report.holders_before.items()},
        "holders_after": {v: list(h) for v, h in report.holders_after.items()},
        "scenarios": [{
            "scenario": r.scenario, "title": r.title, "vip": r.vip, "owner": r.owner,
            "peer": r.peer, "status": r.status.value, "message": r.message,
            "moved": r.moved, "back": r.back, "moved_after": r.moved_after,
            "move_gap": r.move_gap, "back_after": r.back_after, "back_gap": r.back_gap,
            "url": r.url, "sent": r.sent, "lost": r.lost, "dropped": r.dropped,
            "lost_moving": r.lost_moving, "lost_back": r.lost_back,
            "by_cause": dict(r.by_cause), "outages": [outage_as_dict(o) for o in r.outages],
            "expected_lost": r.expected_lost, "chapter": r.chapter,
            "duration": round(r.duration, 3), "restore_at": r.restore_at,
            "started_at": r.started_at, "disrupt_at": r.disrupt_at,
            "samples": [sample_as_dict(s) for s in r.samples],
        } for r in report.results],
    }
