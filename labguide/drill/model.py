"""The drill's data: the disruptions it knows, and what one scenario and the whole drill
found. Plain dataclasses; the runner fills them, labguide/report/ writes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from labguide.events import StepStatus
from labguide.i18n import N_
from labguide.probes.events import OutageWindow
from labguide.report.runlog import Sample

MAINTENANCE_FILE = "/etc/keepalived/maintenance_mode"
#: Read on every candidate host before and after the drill: it must come back unchanged.
HOST_STATE_COMMAND = (
    "for u in keepalived haproxy; do printf '%s=%s\\n' \"$u\" "
    "\"$(systemctl is-active \"$u\" 2>/dev/null || true)\"; done; "
    f"if [ -e {MAINTENANCE_FILE} ]; then echo maintenance=present; "
    "else echo maintenance=absent; fi"
)
HEALTHY = {"keepalived": "active", "haproxy": "active", "maintenance": "absent"}
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Disruption:
    """One way of taking a VIP away from its owner, and how to undo it.

    `expected_lost` is what the chapter leads one to expect (None: some loss is expected);
    `chapter` is the chapter's own measured figure, shown next to ours. `title` and `chapter`
    are translated where a result is made.
    """

    name: str
    title: str
    disrupt: str
    restore: str
    expected_lost: int | None
    chapter: str


DISRUPTIONS: Mapping[str, Disruption] = {
    "keepalived": Disruption(
        "stop-keepalived", N_("keepalived stopped on the owner"),
        "sudo systemctl stop keepalived", "sudo systemctl start keepalived", 0,
        N_("0 of 29,984 lost")),
    "maintenance": Disruption(
        "maintenance", N_("maintenance file created on the owner"),
        f"sudo touch {MAINTENANCE_FILE}", f"sudo rm -f {MAINTENANCE_FILE}", 0,
        N_("none lost (then a reboot)")),
    "haproxy": Disruption(
        "stop-haproxy", N_("HAProxy stopped on the owner"),
        "sudo systemctl stop haproxy", "sudo systemctl start haproxy", None,
        N_("483 of 29,346 lost (1.64%)")),
}
DEFAULT_SCENARIOS = ("keepalived", "maintenance")


@dataclass(frozen=True)
class ScenarioResult:
    """One disruption of one VIP. Times in seconds.

    moved_after / back_after: from the disrupting (restoring) command to the watcher's event
    that the peer (the owner) holds the VIP alone, on this machine's clock. move_gap /
    back_gap: from the kernel's removal of the VIP on the host that held it to its addition
    on the other, from the hosts' own `ip -ts monitor` stamps (negative: both held it for
    that long). lost: requests that failed, split by when their outage began: lost_moving
    before the restoring command (the move away: what the chapter measured under load),
    lost_back after it (the failback, which the chapter did not put under load). The
    verdict compares lost_moving with the chapter. dropped: requests the prober could not
    start (its own shortfall, not the lab's).
    """

    scenario: str
    title: str
    vip: str
    owner: str
    peer: str | None
    status: StepStatus
    message: str
    moved: bool = False
    back: bool = False
    moved_after: float | None = None
    move_gap: float | None = None
    back_after: float | None = None
    back_gap: float | None = None
    url: str = ""
    sent: int = 0
    lost: int = 0
    dropped: int = 0
    lost_moving: int = 0
    lost_back: int = 0
    by_cause: Mapping[str, int] = field(default_factory=dict)
    outages: tuple[OutageWindow, ...] = ()
    expected_lost: int | None = 0
    chapter: str = ""
    duration: float = 0.0
    #: When the restoring command was sent (epoch): outages that began before it are the move's.
    restore_at: float = 0.0
    #: When the scenario's load began and its disrupting command was sent (epoch).
    started_at: float = 0.0
    disrupt_at: float = 0.0
    #: The load over time: a sample per prober window (requests/s, failures, p95 ms).
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True)
class DrillReport:
    chapter: str
    rate: float
    results: tuple[ScenarioResult, ...]
    duration: float
    restored: bool
    error: str = ""
    before: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    after: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    holders_before: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    holders_after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    strict: bool = False

    @property
    def exit_code(self) -> int:
        bad = {StepStatus.FAILED} | ({StepStatus.WARNED} if self.strict else set())
        if self.error or not self.restored or any(r.status in bad for r in self.results):
            return 1
        return 0


