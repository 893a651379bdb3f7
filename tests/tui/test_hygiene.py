"""Only labguide.tui imports Textual: the engine, probes, transports, sandbox stay free of it.
Also: the app's VIP watcher works over the engine's own transports (real sshd)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from labguide.engine import Engine
from labguide.probes.events import HostReachability
from tests.tui.conftest import ROOT, app_for
from tests.tui.helpers import Expect

CHECK = """
import importlib, pkgutil, sys
import labguide
for mod in pkgutil.walk_packages(labguide.__path__, "labguide."):
    if mod.name.startswith("labguide.tui") or mod.name.endswith("__main__"):
        continue
    importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print("textual imported" if bad else "clean")
"""


def test_no_textual_outside_the_tui() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


async def test_the_vip_watcher_runs_on_the_engines_connections(mini_engine: Engine,
                                                               tmp_path: Path) -> None:
    """Read-only: `ip monitor` over SSH on this machine; the test VIP is never added."""
    app = app_for(mini_engine)
    app.watch_vips = True
    seen = Expect(mini_engine, lambda e: isinstance(e, HostReachability) and e.reachable
                  and e.host == "lb-2")
    async with app.run_test(size=(100, 30)) as pilot:
        await seen.wait(pilot)
        pane = app.query_one("#vip")
        assert pane.model.reachable("lb-2") is True  # type: ignore[attr-defined]
        assert pane.model.holders("198.18.16.240") == ()  # type: ignore[attr-defined]
        assert any(w.group == "vip-watch" for w in app.workers)
        await pilot.press("q")
    assert not any(w.group == "vip-watch" and w.is_running for w in app.workers)


async def test_a_subclass_calling_super_on_mount_subscribes_once(mini_engine: Engine) -> None:
    """Textual calls on_mount of every class in the MRO; a subclass that also calls
    super().on_mount() (as the benchmarks once did) must not get every event twice."""
    from labguide.tui.app import LabguideApp
    from labguide.tui.relay import EventRelay

    class Sub(LabguideApp):
        def on_mount(self) -> None:  # type: ignore[override]
            super().on_mount()

    app = Sub(mini_engine, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        relays = [f for f in mini_engine.bus._listeners  # noqa: SLF001
                  if isinstance(f, EventRelay)]
        assert len(relays) == 1
        await pilot.press("q")
