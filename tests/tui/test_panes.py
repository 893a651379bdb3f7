"""The VIP pane and the stream pane, fed through the engine's bus (their real input path):
VIP events as the watcher publishes them, and a real prober against nginx on loopback."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from rich.console import Console, RenderableType
from textual.pilot import Pilot

from labguide.events import EventBus, StepStatus
from labguide.inventory import Host
from labguide.probes.events import (
    HostReachability,
    ProbeBatch,
    ProbeSummary,
    SplitBrain,
    VipAcquired,
    VipReleased,
    VrrpStateChanged,
)
from labguide.tui.widgets.stream_pane import StreamPane
from labguide.tui.widgets.vip_pane import VipPane
from tests.conftest import Sshd
from tests.tui.conftest import T0, Nginx, app_for, l4lb_engine, make_engine
from tests.tui.helpers import Expect, settle

VIP = "198.18.16.140"


def plain(renderable: RenderableType, width: int = 70) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def test_vip_pane_shows_holder_states_timeline_gap_and_split_brain(tmp_path: Path) -> None:
    engine = l4lb_engine(tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(VipPane)
        text = plain(pane.render_model())
        assert "l4lb-2" in text and "not created yet" in text
        bus = engine.bus
        bus.publish(HostReachability("l4lb-1", True, t=T0))
        bus.publish(VrrpStateChanged("l4lb-1", "VI_1", "MASTER", 110, t=T0))
        bus.publish(VipAcquired(VIP, "l4lb-1", "eth0", t=T0 + 1))
        await pilot.pause()
        assert pane.model.owner(VIP) == "l4lb-1"
        text = plain(pane.render_model())
        assert "● l4lb-1" in text and "VI_1:MASTER(110)" in text
        # l4lb-2 gets created: it is then a host we wait for, not a missing one.
        app.infos["create-l4lb-2"].status = StepStatus.PASSED
        bus.publish(HostReachability("l4lb-2", True, t=T0 + 2))
        bus.publish(VrrpStateChanged("l4lb-2", "VI_1", "BACKUP", 109, t=T0 + 2))
        # Failover: l4lb-1 drops the VIP, l4lb-2 takes it 620 ms later.
        bus.publish(VrrpStateChanged("l4lb-1", "*", "STOPPED", t=T0 + 10))
        bus.publish(VipReleased(VIP, "l4lb-1", t=T0 + 10))
        bus.publish(VipAcquired(VIP, "l4lb-2", "eth0", t=T0 + 10.62))
        await pilot.pause()
        assert pane.model.owner(VIP) == "l4lb-2"
        assert pane.model.last_gap(VIP) is not None
        assert abs((pane.model.last_gap(VIP) or 0) - 0.62) < 1e-6
        text = plain(pane.render_model())
        assert "● l4lb-2" in text and "gap 620 ms" in text
        assert "keepalived not running" in text  # l4lb-1 runs; its keepalived does not
        assert "00:10.620 +140 l4lb-2" in text  # mm:ss.mmm in a narrow pane (TZ=UTC)
        assert not pane.has_class("-split")
        # Split brain: l4lb-1 takes it back while l4lb-2 still holds it, and the watcher
        # raises the alarm once the master-down interval has passed.
        bus.publish(VipAcquired(VIP, "l4lb-1", "eth0", t=T0 + 20))
        await pilot.pause()
        assert pane.split_vips == () and "handover: l4lb-1 + l4lb-2" in plain(
            pane.render_model())
        bus.publish(SplitBrain(VIP, ("l4lb-1", "l4lb-2"), True, T0 + 20, 4.0, t=T0 + 24))
        await pilot.pause()
        assert pane.split_vips == (VIP,)
        assert pane.has_class("-split")
        assert "SPLIT BRAIN: l4lb-1 + l4lb-2" in plain(pane.render_model())
        bus.publish(VipReleased(VIP, "l4lb-2", t=T0 + 21))
        await pilot.pause()
        assert not pane.has_class("-split")
        bus.publish(HostReachability("l4lb-2", False, "Connection refused", t=T0 + 22))
        await pilot.pause()
        assert "unreachable" in plain(pane.render_model())
        await pilot.press("q")


async def test_stream_pane_start_rate_and_stop_from_the_keyboard(
        mini_chapter: Path, sshd: Sshd, tmp_path: Path, web: Nginx) -> None:
    hosts = {"lb-1": sshd.host("lb-1"), "lb-2": sshd.host("lb-2")}
    engine = make_engine(mini_chapter, hosts, tmp_path / "run", {"URL": web.url})
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(StreamPane)
        assert app.stream.rate == 10
        first = Expect(engine, lambda e: isinstance(e, ProbeBatch) and e.total_ok > 0)
        await pilot.press("l")
        await first.wait(pilot)
        assert app.stream.running
        assert pane.model.by_backend["web-1"] > 0
        # 10/s: each request on its own connection, as curl (HAProxy balances connections)
        assert "new connection per request, like curl" in pane.head().plain
        faster = Expect(engine, lambda e: isinstance(e, ProbeBatch) and e.target_rate == 20)
        await pilot.press("plus")
        assert app.stream.rate == 20
        await faster.wait(pilot)
        await pilot.press("minus", "minus")
        assert app.stream.rate == 5
        summary = Expect(engine, lambda e: isinstance(e, ProbeSummary))
        await pilot.press("l")
        await summary.wait(pilot)
        await settle(pilot)
        assert not app.stream.running
        assert pane.model.summary is not None and pane.model.failed == 0
        assert any("web-1" in line for line in pane.query_one("#stream-log").lines)
        await pilot.press("q")


LOAD = """+++
id = "loadmini"
title = "A load test"
hosts = ["client"]

[vars]
URL = "http://127.0.0.1:9/hostname"

[watch]
url = "${URL}"
+++

# Load

## Under load

```sh {on="client" load id="load-it" url="${URL}" rate=200 duration=2s timeout=30}
k6 run -d 2s --rps 200 script.js
```
"""


async def test_load_step_drives_the_stream_and_ends_with_a_summary(
        sshd: Sshd, tmp_path: Path, web: Nginx) -> None:
    chapter = tmp_path / "load.md"
    chapter.write_text(LOAD)
    engine = make_engine(chapter, {"client": sshd.host("client")}, tmp_path / "run",
                         {"URL": web.url})
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await settle(pilot)
        pane = app.query_one(StreamPane)
        assert pane.model.source.startswith("load step load-it (labguide's prober")
        assert pane.model.summary is not None
        assert pane.model.summary.target_rate == 200
        assert pane.model.summary.http_reqs >= 350
        assert "keep-alive, like k6's VUs" in pane.head().plain  # 200/s is a load rate
        rec = engine.results["load-it"]
        assert rec.status == StepStatus.PASSED, rec.message
        assert rec.detail["tool"] == "labguide-probe" and rec.detail["http_reqs"] >= 350
        text = plain(pane.stats(), 90)
        assert "summary (k6 style)" in text and "http_reqs" in text
        assert "step result: load-it [labguide-probe]" in text
        assert app.stream.prober is None  # no second prober was started beside it
        await pilot.press("q")


@asynccontextmanager
async def vip_pane_app(tmp_path: Path) -> AsyncIterator[tuple[Pilot[int], VipPane, EventBus]]:
    """The l4lb-ha app at 100×30 with l4lb-2 created: its pilot, VIP pane and event bus."""
    engine = l4lb_engine(tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        app.infos["create-l4lb-2"].status = StepStatus.PASSED
        yield pilot, app.query_one(VipPane), engine.bus


async def test_vip_pane_tells_a_handover_from_a_split_brain(tmp_path: Path) -> None:
    """Failback: the preempting l4lb-1 adds the VIP 1 ms before l4lb-2 drops it. The pane
    calls two holders a handover until the watcher raises the alarm (one rule, in the
    probes' core, shared with `labguide watch`); the timeline keeps each overlap."""
    async with vip_pane_app(tmp_path) as (pilot, pane, bus):
        bus.publish(VipAcquired(VIP, "l4lb-2", "eth0", t=T0 + 1))
        bus.publish(VipAcquired(VIP, "l4lb-1", "eth0", t=T0 + 5))
        await pilot.pause()
        assert "handover: l4lb-1 + l4lb-2" in plain(pane.render_model())
        bus.publish(VipReleased(VIP, "l4lb-2", t=T0 + 5.001, overlap=0.001))
        await pilot.pause()
        text = plain(pane.render_model())
        assert "overlap 1 ms" in text and "SPLIT" not in text and "● l4lb-1" in text
        bus.publish(VipAcquired(VIP, "l4lb-2", "eth0", t=T0 + 9))
        await pilot.pause()
        assert not pane.has_class("-split")  # no alarm before the watcher's
        bus.publish(SplitBrain(VIP, ("l4lb-1", "l4lb-2"), True, T0 + 9, 3.6, t=T0 + 12.6))
        await pilot.pause()
        assert pane.has_class("-split")
        assert "SPLIT BRAIN: l4lb-1 + l4lb-2" in plain(pane.render_model())
        bus.publish(VipReleased(VIP, "l4lb-2", t=T0 + 14))
        bus.publish(SplitBrain(VIP, ("l4lb-1",), False, T0 + 9, 3.6, t=T0 + 14))
        await pilot.pause()
        assert not pane.has_class("-split")
        text = plain(pane.render_model())
        assert "overlap 1 ms" in text and "SPLIT 5.0 s" in text
        await pilot.press("q")


async def test_vip_pane_tells_keepalived_stopped_from_host_down_and_unreachable(
        tmp_path: Path) -> None:
    """Issue 14: a stopped keepalived showed as MASTER, and "l4lb-1 not running" was shown
    while the VM ran. Now: keepalived not running (host reached), host not running (the
    hypervisor says its VM is stopped), unreachable (no word on it)."""
    async with vip_pane_app(tmp_path) as (pilot, pane, bus):
        for host in ("l4lb-1", "l4lb-2"):
            bus.publish(HostReachability(host, True, t=T0))
        bus.publish(VrrpStateChanged("l4lb-1", "*", "RUNNING", primed=True, t=T0))
        bus.publish(VrrpStateChanged("l4lb-1", "VI_1", "MASTER", 110, T0 - 60, primed=True,
                                     t=T0))
        bus.publish(VrrpStateChanged("l4lb-2", "*", "ABSENT", primed=True, t=T0))
        await pilot.pause()
        assert pane.host_label("l4lb-2").plain == "keepalived not installed"
        bus.publish(VrrpStateChanged("l4lb-2", "VI_1", "BACKUP", 109, t=T0 + 1))
        await pilot.pause()
        assert "VI_1:MASTER(110)" in pane.host_label("l4lb-1").plain
        bus.publish(VrrpStateChanged("l4lb-1", "*", "STOPPED", t=T0 + 2))
        await pilot.pause()
        assert pane.host_label("l4lb-1").plain == "keepalived not running"
        assert pane.host_label("l4lb-2").plain == "VI_1:BACKUP(109)"
        bus.publish(HostReachability("l4lb-1", False, "No route to host", "stopped",
                                     t=T0 + 3))
        bus.publish(HostReachability("l4lb-2", False, "Connection timed out", t=T0 + 3))
        await pilot.pause()
        assert pane.host_label("l4lb-1").plain == "host not running (VM stopped)"
        assert pane.host_label("l4lb-2").plain.startswith("unreachable Connection timed")
        bus.publish(HostReachability("l4lb-1", True, t=T0 + 9))
        await pilot.pause()
        assert "not running" not in pane.host_label("l4lb-1").plain
        await pilot.press("q")


async def test_a_chapter_without_vips_has_no_vip_pane(tmp_path: Path) -> None:
    """more-web watches no VIP: the live column is the stream pane alone, nothing in it
    says "no change seen yet" about VIPs that the chapter never has."""
    chapter = Path(__file__).parents[2] / "chapters" / "more-web.md"
    hosts = {n: Host(name=n, address="127.0.0.1", transport="local")
             for n in ("l4lb-1", "web-3", "client")}
    app = app_for(make_engine(chapter, hosts, tmp_path / "run"))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        assert not app.vip_pane.display and app.stream_pane.display
        assert app.stream_pane.region.height > 0
    l4lb = app_for(l4lb_engine(tmp_path / "l4lb"))
    async with l4lb.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        assert l4lb.vip_pane.display and l4lb.vip_pane.region.height > 0
