"""Before a run resumes: do the results saved for the steps before the resume point still
hold on the lab? The checks among those steps run again, read-only and concurrently (as
--check does); a lab rebuilt or changed since says so here, instead of the run "resuming"
past work that is not there. Front-ends ask the reader what to do with the answer."""

from __future__ import annotations

from dataclasses import dataclass

from labguide.check import CheckResult, collect
from labguide.engine import Engine
from labguide.events import StepStatus
from labguide.i18n import gettext as _
from labguide.i18n import ngettext
from labguide.plan import Plan


@dataclass(frozen=True)
class ResumeCheck:
    """What the earlier checks found: the ones that no longer pass, in chapter order."""

    resume_at: str
    checked: tuple[str, ...]
    failed: tuple[CheckResult, ...]

    @property
    def holds(self) -> bool:
        return not self.failed

    @property
    def first_failing(self) -> str | None:
        return self.failed[0].step.id if self.failed else None

    def lines(self) -> list[str]:
        if self.holds:
            return [ngettext("the lab still looks like the {n} earlier check passed: "
                             "resuming at {step}",
                             "the lab still looks like the {n} earlier checks passed: "
                             "resuming at {step}", len(self.checked)).format(
                n=len(self.checked), step=self.resume_at)]
        return [_("your lab does not look like {step!r} passed: {why}").format(
            step=r.step.id, why=r.message or r.status.word) for r in self.failed]


def earlier_checks(plan: Plan, engine: Engine, resume_at: str) -> list[str]:
    """The read-only checks before `resume_at` whose saved result is a pass."""
    upto = plan.index(resume_at)
    return [b.id for b in plan.steps[:upto]
            if b.step.read_only and engine.status(b.id) in (StepStatus.PASSED,
                                                             StepStatus.WARNED)]


async def verify_resume(engine: Engine, resume_at: str) -> ResumeCheck:
    """Run the earlier checks again on the run's own connections."""
    plan = engine.plan
    ids = earlier_checks(plan, engine, resume_at)
    if not ids:
        return ResumeCheck(resume_at, (), ())
    checker = Engine(plan, mode="check", pool=engine.pool)
    report = await collect(plan, engine=checker, only=set(ids), drift=False)
    bad = tuple(r for r in report.results
                if r.status not in (StepStatus.PASSED, StepStatus.WARNED, StepStatus.SKIPPED))
    return ResumeCheck(resume_at, tuple(ids), bad)
