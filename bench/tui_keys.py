"""Key press → next frame, headless (App.run_test at 160×50), for the keys that change the
current step: `n`/`b` back and forth between two steps, and `n` walking forward through the
chapter. The app is the real LabguideApp on the l4lb-ha chapter (no inventory: nothing runs).

    .venv/bin/python bench/tui_keys.py [--tree DIR ...]

With --tree, each DIR (a checkout of labguide, e.g. a `git worktree` of an older commit) is
measured too, in a child process, one after the other, so that the ratio is read in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


async def measure() -> dict[str, float]:
    from labguide.chapter import load_chapter
    from labguide.engine import Engine
    from labguide.plan import bind
    from labguide.tui.app import LabguideApp
    from labguide.tui.keymap import TuiSettings

    class Timed(LabguideApp):
        wanted = False
        painted: asyncio.Event

        def _display(self, screen: Any, renderable: Any) -> None:  # a frame is written
            super()._display(screen, renderable)
            if self.wanted and renderable is not None:
                self.wanted = False
                self.painted.set()

    plan = bind(load_chapter(Path("chapters/l4lb-ha.md")), None, {})  # the cwd's
    app = Timed(Engine(plan), settings=TuiSettings(), watch=False)
    app.painted = asyncio.Event()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()

        async def press(key: str) -> float:
            app.painted.clear()
            app.wanted = True
            t0 = time.perf_counter()
            await pilot.press(key)
            await app.painted.wait()
            took = (time.perf_counter() - t0) * 1000
            await asyncio.sleep(0.3)  # let background work (the next step's text) finish
            return took

        back_and_forth = [await press(k) for _ in range(20) for k in "nb"]
        forward = [await press("n") for _ in range(40)]
        await pilot.press("q")
    return {"n_b_median_ms": round(statistics.median(back_and_forth), 1),
            "forward_median_ms": round(statistics.median(forward), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", default=[], type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure())))
        return
    for tree in [ROOT, *args.tree]:
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"],
                             cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        print(tree, out.stdout.strip())


if __name__ == "__main__":
    main()
