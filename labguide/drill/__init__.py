"""The failover drill (`--check --drill`): its data (model), pure helpers (judging) and the
runner; `check_then_drill` runs the checks and, only if they all pass, the drill."""

from __future__ import annotations

import sys
from collections.abc import Callable

from labguide.check import CheckReport, collect
from labguide.drill.judging import (
    drill_question,
    judge,
    move_times,
    parse_host_state,
    unfit_reason,
    url_for,
)
from labguide.drill.model import DEFAULT_SCENARIOS, DISRUPTIONS, DrillReport, ScenarioResult
from labguide.drill.runner import run_drill
from labguide.engine import Engine
from labguide.i18n import gettext as _
from labguide.plan import Plan

__all__ = ["DEFAULT_SCENARIOS", "DISRUPTIONS", "DrillReport", "ScenarioResult",
           "check_then_drill", "drill_question", "judge", "move_times", "parse_host_state",
           "run_drill", "unfit_reason", "url_for"]


async def check_then_drill(plan: Plan, *, strict: bool = False,
                           accept_new_host_keys: bool = False, rate: float = 1000,
                           say: Callable[[str], None] | None = None,
                           ) -> tuple[CheckReport, DrillReport | None, str]:
    """The read-only checks, then (only if they all pass) the drill, on one set of
    connections. Returns both reports and, when the drill did not run, why."""
    say = say or (lambda line: print(_("drill: {line}").format(line=line), file=sys.stderr,
                                     flush=True))
    engine = Engine(plan, mode="check", accept_new_host_keys=accept_new_host_keys)
    try:
        report = await collect(plan, engine=engine, strict=strict)
        if report.exit_code != 0:
            skipped = _("not run: the checks did not all pass")
            say(skipped)
            return report, None, skipped
        drill = await run_drill(plan, rate=rate, pool=engine.pool, strict=strict, say=say)
        return report, drill, ""
    finally:
        await engine.close()


def exit_code(check: CheckReport, drill: DrillReport | None) -> int:
    """The checks' exit code when they did not pass, else the drill's."""
    if check.exit_code != 0 or drill is None:
        return check.exit_code
    return drill.exit_code
