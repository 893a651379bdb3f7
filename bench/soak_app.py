"""The soak run's app: the real TUI on the finished sandbox lab, for SECONDS, with the stream
pane at 1000/s through the VIP, a failover every 30 s (keepalived stopped, then started, on
the VIP's preferred owner over the app's own SSH connection), RSS sampled every 5 s, and the
delay from a key press to the screen showing its effect measured every 3 s. Writes JSON.

Started by bench/soak.py inside tmux (a real terminal); not a test.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui_bench_app import rss_mib  # noqa: E402  (bench/ is the script's folder)

from labguide.chapter import find_chapter, load_chapter  # noqa: E402
from labguide.engine import Engine  # noqa: E402
from labguide.events import Event  # noqa: E402
from labguide.inventory import load_inventory  # noqa: E402
from labguide.plan import bind  # noqa: E402
from labguide.probes.events import ProbeSummary  # noqa: E402
from labguide.tui.app import LabguideApp  # noqa: E402
from labguide.tui.keymap import TuiSettings  # noqa: E402

FAILOVER_EVERY = 30.0
#: with LABGUIDE_SOAK_TRACE=FILE, a census of live objects by type once a minute goes to FILE
#: (each pauses the app ≈ 0.1 s: for finding a leak, not for the numbers)
TRACE = os.environ.get("LABGUIDE_SOAK_TRACE")


def census(at: float) -> dict[str, Any]:
    gc.collect()
    types = Counter(type(o).__qualname__ for o in gc.get_objects())
    return {"at": round(at), "rss": round(rss_mib(), 1), "blocks": sys.getallocatedblocks(),
            "types": dict(types.most_common(60))}


class SoakApp(LabguideApp):
    def __init__(self, engine: Engine, seconds: float, out: Path) -> None:
        super().__init__(engine, settings=TuiSettings(stream_rate=1000), watch=True)
        self.seconds = seconds
        self.out = out
        self.summary: ProbeSummary | None = None
        self.rss: list[tuple[float, float]] = []
        self.worker_rss: list[tuple[float, float]] = []  # the HTTP prober's worker process
        self.key_delays: list[float] = []
        self.failovers: list[tuple[float, str]] = []
        self.t0_epoch = time.time()
        self.trace: list[dict[str, Any]] = []
        self._paint_wanted = False
        self._painted = asyncio.Event()
        engine.bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ProbeSummary):
            self.summary = event

    def _display(self, screen: Any, renderable: Any) -> None:  # a frame written to the tty
        super()._display(screen, renderable)
        if self._paint_wanted and renderable is not None:
            self._paint_wanted = False
            self._painted.set()

    def on_mount(self) -> None:  # type: ignore[override]  (Textual calls the base's too)
        self.run_worker(self._soak(), group="bench")

    async def _press(self, key: str) -> float:
        """Seconds from a key press to the next frame written after it was handled."""
        self._painted.clear()
        t0 = time.monotonic()
        self._paint_wanted = True
        await self._press_keys([key])
        try:
            async with asyncio.timeout(5):
                await self._painted.wait()
        except TimeoutError:
            return 5.0
        return time.monotonic() - t0

    async def _soak(self) -> None:
        await asyncio.sleep(3.0)  # the watcher primes, the UI settles
        self.stream.max_duration = self.seconds + 60  # it stops itself after 15 min otherwise
        self.action_toggle_stream()
        lb = self.plan.chapter.watch.candidates[0]
        transport = self.engine.pool.get(lb)
        t0 = time.monotonic()
        self.t0_epoch = time.time()
        next_failover = t0 + FAILOVER_EVERY / 2
        next_rss = t0
        next_key = t0 + 1.0
        stopped = False
        next_census = t0 + 60.0
        while (now := time.monotonic()) - t0 < self.seconds:
            if now >= next_rss:
                self.rss.append((round(now - t0, 1), round(rss_mib(), 1)))
                worker = self.stream.prober.pid if self.stream.prober else None
                if worker is not None:
                    self.worker_rss.append((round(now - t0, 1), round(rss_mib(worker), 1)))
                next_rss += 5.0
            if now >= next_key:
                # n and b move the selected step (the step view redraws), nothing runs
                self.key_delays.append(await self._press("n"))
                self.key_delays.append(await self._press("b"))
                next_key += 3.0
            if now >= next_failover:
                verb = "start" if stopped else "stop"
                res = await transport.run(f"sudo systemctl {verb} keepalived",
                                          lambda s, line: None, timeout=30)
                stopped = not stopped
                self.failovers.append((round(now - t0, 1), f"{verb} keepalived: {res.ok}"))
                next_failover += FAILOVER_EVERY
            if TRACE and now >= next_census:
                self.trace.append(census(now - t0))
                next_census += 60.0
            await asyncio.sleep(0.2)
        if TRACE:
            Path(TRACE).write_text(json.dumps(self.trace, indent=1))
        if stopped:
            await transport.run("sudo systemctl start keepalived", lambda s, line: None,
                                timeout=30)
        await self.stream.stop()
        await asyncio.sleep(0.5)
        self._write()
        await self.action_quit()

    def _write(self) -> None:
        s = self.summary
        delays = sorted(d * 1000 for d in self.key_delays)
        result: dict[str, Any] = {
            "seconds": self.seconds, "rss_mib": self.rss, "worker_rss_mib": self.worker_rss,
            "failovers": self.failovers,
            "key_to_screen_ms": {
                "n": len(delays), "med": round(delays[len(delays) // 2], 1) if delays else None,
                "p95": round(delays[int(len(delays) * 0.95) - 1], 1) if delays else None,
                "max": round(delays[-1], 1) if delays else None},
        }
        if s is not None:
            result["probe"] = {
                "scheduled": s.scheduled, "sent": s.http_reqs, "ok": s.ok,
                "failed": s.http_req_failed, "dropped": s.dropped, "rate": round(s.rate, 1),
                "adds_up": s.http_reqs == s.ok + s.http_req_failed
                and s.scheduled == s.http_reqs + s.dropped,
                "outages": [(round(o.first_failure - self.t0_epoch, 1), o.duration, o.lost)
                            for o in s.outages],
                "by_cause": dict(s.by_cause)}
        self.out.write_text(json.dumps(result, indent=1))


def main() -> None:
    inventory, seconds, out = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    plan = bind(load_chapter(find_chapter("l4lb-ha")), load_inventory(inventory), {})
    try:
        SoakApp(Engine(plan), seconds, out).run()
    except BaseException:
        out.with_suffix(".err").write_text(traceback.format_exc())
        raise


if __name__ == "__main__":
    main()
