"""Runs the real TUI (app.run(), in a real terminal: tmux) for the TUI benchmarks and writes
what it measured to a JSON file. Started by bench/tui_bench.py; not a test.

  stream MODE: the stream pane probes URL at RATE for SECONDS; records the app process's own
    CPU (the prober runs in its own child process, counted apart) and the prober's summary.
  vip MODE: (run inside a network namespace made by tui_bench.py) the VIP watcher watches a
    local host; every second the VIP is added or removed on a dummy interface; records the
    delay from the `ip addr` command to the VIP pane's update and to the next screen write.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labguide.chapter import load_chapter  # noqa: E402
from labguide.engine import Engine  # noqa: E402
from labguide.inventory import Host, Inventory  # noqa: E402
from labguide.plan import bind  # noqa: E402
from labguide.probes.events import ProbeSummary, VipAcquired, VipReleased  # noqa: E402
from labguide.tui.app import LabguideApp  # noqa: E402
from labguide.tui.keymap import TuiSettings  # noqa: E402
from labguide.tui.widgets.vip_pane import VipPane  # noqa: E402

CHAPTER = """+++
id = "tui-bench"
title = "TUI benchmark"
hosts = ["lb-1"]

[vars]
URL = "http://127.0.0.1:9/hostname"
VIP = "198.18.99.140"

[watch]
vips = ["${VIP}"]
candidates = ["lb-1"]
url = "${URL}"
+++

# Bench

## Only

```sh {on="lb-1" id="noop"}
true
```
"""


def engine(url: str, folder: Path) -> Engine:
    path = folder / "bench.md"
    path.write_text(CHAPTER)
    inv = Inventory(hosts={"lb-1": Host(name="lb-1", address="127.0.0.1", transport="local")},
                    path=folder / "inventory.toml")
    return Engine(bind(load_chapter(path), inv, {"URL": url}))


def rss_mib(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class StreamBench(LabguideApp):
    def __init__(self, eng: Engine, rate: int, seconds: float, out: Path) -> None:
        super().__init__(eng, settings=TuiSettings(stream_rate=rate), watch=False)
        self.seconds = seconds
        self.out = out
        self.summary: ProbeSummary | None = None
        self.batches = 0
        eng.bus.subscribe(self._count)

    def _count(self, event: object) -> None:
        if isinstance(event, ProbeSummary):
            self.summary = event
        elif type(event).__name__ == "ProbeBatch":
            self.batches += 1

    def on_mount(self) -> None:  # type: ignore[override]  (Textual calls the base's too)
        self.set_timer(3.0, self._go)  # let the UI settle

    def _go(self) -> None:
        self.action_toggle_stream()
        self.set_timer(2.0, self._mark)  # skip the ramp-up

    def _mark(self) -> None:
        self.t0, self.cpu0, self.b0 = time.monotonic(), cpu_self(), self.batches
        self.set_timer(self.seconds, self._end)

    async def _end(self) -> None:
        wall, cpu = time.monotonic() - self.t0, cpu_self() - self.cpu0
        batches = self.batches - self.b0
        await self.stream.stop()
        s = self.summary
        result: dict[str, Any] = {
            "mode": "stream", "wall_s": round(wall, 2), "app_cpu_s": round(cpu, 3),
            "app_cpu_share": round(cpu / wall, 3), "batches_rendered": batches,
        }
        if s is not None:
            result.update(target_rate=s.target_rate, achieved_rate=round(s.rate, 1),
                          achieved_ratio=round(s.achieved_ratio, 4), http_reqs=s.http_reqs,
                          failed=s.http_req_failed, dropped=s.dropped, late=s.late,
                          prober_cpu_s=round(s.cpu_seconds, 3),
                          p50_ms=round(s.http_req_duration.med, 3))
        self.out.write_text(json.dumps(result, indent=1))
        await self.action_quit()


class VipBench(LabguideApp):
    def __init__(self, eng: Engine, count: int, out: Path, dev: str) -> None:
        super().__init__(eng, settings=TuiSettings(), watch=True)
        self.count = count
        self.out = out
        self.dev = dev
        self.vip = eng.plan.vips[0]
        self.pane_t: list[float] = []
        self.paint_t: list[float] = []
        self.event_t: list[float] = []
        self._waiting_paint = False

    def _display(self, screen: Any, renderable: Any) -> None:  # when a frame is written
        super()._display(screen, renderable)
        if self._waiting_paint and renderable is not None:
            self._waiting_paint = False
            self.paint_t.append(time.time())

    def on_mount(self) -> None:  # type: ignore[override]  (Textual calls the base's too)
        pane = self.query_one(VipPane)
        original = pane.refresh_view

        def hooked() -> None:
            original()
            self.pane_t.append(time.time())
            self._waiting_paint = True

        pane.refresh_view = hooked  # type: ignore[method-assign]
        self.engine.bus.subscribe(self._on_event)
        self.run_worker(self._toggle(), group="bench")

    def _on_event(self, event: object) -> None:
        if isinstance(event, (VipAcquired, VipReleased)):
            self.event_t.append(time.time())

    async def _toggle(self) -> None:
        await asyncio.sleep(3.0)  # the watcher primes
        delays_pane: list[float] = []
        delays_paint: list[float] = []
        delays_event: list[float] = []
        for n in range(self.count):
            verb = "add" if n % 2 == 0 else "del"
            n_pane, n_paint, n_event = len(self.pane_t), len(self.paint_t), len(self.event_t)
            t0 = time.time()
            proc = await asyncio.create_subprocess_exec(
                "ip", "addr", verb, f"{self.vip}/32", "dev", self.dev)
            await proc.wait()
            for _ in range(200):  # up to 2 s for the change to show
                if len(self.paint_t) > n_paint and len(self.pane_t) > n_pane:
                    break
                await asyncio.sleep(0.01)
            if len(self.event_t) > n_event:
                delays_event.append(self.event_t[n_event] - t0)
            if len(self.pane_t) > n_pane:
                delays_pane.append(self.pane_t[n_pane] - t0)
            if len(self.paint_t) > n_paint:
                delays_paint.append(self.paint_t[n_paint] - t0)
            await asyncio.sleep(0.5)

        def stats(xs: list[float]) -> dict[str, float]:
            xs = sorted(x * 1000 for x in xs)
            if not xs:
                return {}
            return {"n": len(xs), "min_ms": round(xs[0], 1),
                    "med_ms": round(xs[len(xs) // 2], 1),
                    "p90_ms": round(xs[int(len(xs) * 0.9) - 1], 1), "max_ms": round(xs[-1], 1)}

        self.out.write_text(json.dumps({
            "mode": "vip", "changes": self.count, "to_bus_event": stats(delays_event),
            "to_pane_update": stats(delays_pane), "to_screen_write": stats(delays_paint)},
            indent=1))
        await self.action_quit()


def main() -> None:
    mode, out = sys.argv[1], Path(sys.argv[2])
    folder = out.parent  # made and removed by tui_bench.py
    if mode == "stream":
        url, rate, seconds = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
        StreamBench(engine(url, folder), rate, seconds, out).run()
    else:
        count, dev = int(sys.argv[3]), sys.argv[4]
        VipBench(engine("http://127.0.0.1:9/hostname", folder), count, out, dev).run()


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # stderr is the terminal Textual draws on: keep the error apart
        Path(f"{sys.argv[2]}.err").write_text(traceback.format_exc())
        raise
