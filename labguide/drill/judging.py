"""The drill's pure helpers: the URL to load, the hosts' state, how long a move took, a
scenario's verdict, whether a lab is fit for a drill, and the question asked first."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence

from labguide.drill.model import DEFAULT_SCENARIOS, DISRUPTIONS, HEALTHY
from labguide.events import Event, StepStatus
from labguide.i18n import gettext as _
from labguide.plan import Plan
from labguide.probes.events import VipAcquired, VipReleased
from labguide.probes.vip_parse import normalize_ip


def url_for(plan: Plan, vip: str) -> str:
    """The chapter's watch URL pointed at `vip` (http://VIP/hostname when it has none)."""
    if plan.url:
        parts = urllib.parse.urlsplit(plan.url)
        if parts.hostname and parts.hostname in plan.vips:
            host = f"[{vip}]" if ":" in vip else vip
            netloc = host if parts.port is None else f"{host}:{parts.port}"
            return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return f"http://{f'[{vip}]' if ':' in vip else vip}/hostname"


def parse_host_state(lines: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep:
            out[key] = value
    return out


def move_times(events: Sequence[Event], vip: str, source: str, target: str, since: float
               ) -> tuple[float | None, float | None]:
    """(after, gap) of `vip` moving from `source` to `target`, from events seen after `since`.

    after: `since` to the watcher's receipt of target's acquisition (this machine's clock).
    gap: target's kernel stamp of acquiring minus source's kernel stamp of releasing, when
    both came from the monitor (a release because the host went unreachable has no stamp).
    """
    v = normalize_ip(vip)
    acquired = next((e for e in events if isinstance(e, VipAcquired) and e.vip == v
                     and e.host == target and e.t >= since), None)
    released = next((e for e in events if isinstance(e, VipReleased) and e.vip == v
                     and e.host == source and e.t >= since), None)
    if acquired is None:
        return None, None
    after = acquired.t - since
    if released is None or released.reason != "removed":
        return after, None
    a = acquired.host_t if acquired.host_t is not None else acquired.t
    r = released.host_t if released.host_t is not None else released.t
    return after, a - r


def judge(moved: bool, back: bool, lost: int, expected: int | None, *, vip: str, owner: str,
          peer: str | None, move_timeout: float, back_timeout: float,
          holders_now: Sequence[str], error: str = "") -> tuple[StepStatus, str]:
    """A scenario's verdict: failed if the VIP did not move or did not come back."""
    held = ", ".join(holders_now) or _("nobody")
    if error:
        return StepStatus.FAILED, error
    if not moved:
        return StepStatus.FAILED, _("{vip} did not move away from {owner} within {seconds} s "
                                    "(held by {held})").format(
            vip=vip, owner=owner, seconds=f"{move_timeout:g}", held=held)
    if not back:
        return StepStatus.FAILED, _("{vip} did not come back to {owner} within {seconds} s "
                                    "(held by {held})").format(
            vip=vip, owner=owner, seconds=f"{back_timeout:g}", held=held)
    if expected is not None and lost > expected:
        return StepStatus.WARNED, _("{lost} requests lost while {vip} moved away; the chapter "
                                    "lost {expected}").format(
            lost=lost, vip=vip, expected=expected or _("none"))
    return StepStatus.PASSED, _("{vip} moved {owner} → {peer} and came back").format(
        vip=vip, owner=owner, peer=peer)


def drill_question(plan: Plan, *, rate: float,
                   scenarios: Sequence[str] = DEFAULT_SCENARIOS) -> str:
    """What the drill will do, for the confirmation question."""
    what = _("; then ").join(DISRUPTIONS[s].disrupt.replace("sudo ", "") for s in scenarios)
    return _("The drill CHANGES the lab. For each VIP ({vips}), on the host that holds it: "
             "{what}; each time it waits for the VIP to move and come back and restores the "
             "original state, while this machine sends {rate} requests/s to {url}. It runs "
             "only if every check passes. Run the drill?").format(
        vips=", ".join(plan.vips), what=what, rate=f"{rate:g}",
        url=url_for(plan, plan.vips[0]) if plan.vips else _("the VIP"))




def unfit_reason(states: Mapping[str, Mapping[str, str]],
                 holders: Mapping[str, tuple[str, ...]]) -> str:
    """Why the lab is not fit for a drill (empty when it is)."""
    problems = []
    for host, state in states.items():
        if "error" in state:
            problems.append(f"{host}: {state['error']}")
            continue
        for key, want in HEALTHY.items():
            if state.get(key) != want:
                problems.append(_("{host}: {key} is {state}, not {want}").format(
                host=host, key=key, state=state.get(key, _("unknown")), want=want))
    for vip, held in holders.items():
        if len(held) != 1:
            problems.append(_("{vip} is held by {hosts}, not by one host").format(
                vip=vip, hosts=", ".join(held) or _("nobody")))
    return (_("the lab is not fit for a drill (nothing was changed): {problems}").format(
        problems="; ".join(problems)) if problems else "")
