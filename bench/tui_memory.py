"""The TUI's memory over time with the stream pane at 1000 answers/s (headless, App.run_test):
RSS every 20 s. Targets nginx on loopback (started and stopped here).

    .venv/bin/python bench/tui_memory.py [--minutes 6]
    .venv/bin/python bench/tui_memory.py --keys --caches --minutes 30 [--out FILE]

`--keys` loads the l4lb-ha chapter and presses n then b every 3 s, as the soak does (step
changes and the stream together reproduce the soak's growth). `--caches` adds, every 2 min, the
fill of every Textual cache: each widget's LRU/FIFO caches and the functools lru_caches of
Textual's modules (the census pauses the app for ≈ 0.2 s; samples are RSS after a gc).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import inspect
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_targets import Nginx  # noqa: E402
from tui_bench_app import engine, rss_mib  # noqa: E402

from labguide.chapter import load_chapter  # noqa: E402
from labguide.engine import Engine  # noqa: E402
from labguide.plan import bind  # noqa: E402
from labguide.tui.app import LabguideApp  # noqa: E402
from labguide.tui.keymap import TuiSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def widget_caches(app: LabguideApp) -> dict[str, str]:
    """`Widget#id.attr: len/maxsize` for each Textual cache a live widget holds (non-empty)."""
    from textual.cache import FIFOCache, LRUCache

    out: dict[str, str] = {}
    for node in [app, app.screen, *app.screen.query("*")]:
        name = type(node).__name__ + (f"#{node.id}" if node.id else "")
        for attr, value in vars(node).items():
            if isinstance(value, (LRUCache, FIFOCache)) and len(value):
                key = f"{name}.{attr}"
                while key in out:
                    key += "'"
                out[key] = f"{len(value)}/{getattr(value, 'maxsize', value._maxsize)}"
    return out


def textual_lru_caches() -> dict[str, str]:
    """`module.function: currsize/maxsize` for Textual's functools.lru_caches (non-empty)."""
    out: dict[str, str] = {}
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith(("textual", "rich")):
            continue
        for obj_name, obj in vars(mod).items():
            candidates = [(obj_name, obj)]
            if inspect.isclass(obj) and obj.__module__ == modname:
                candidates += [(f"{obj_name}.{k}", v) for k, v in vars(obj).items()]
            for name, fn in candidates:
                info = getattr(fn, "cache_info", None)
                if isinstance(fn, functools._lru_cache_wrapper) and info:  # type: ignore[attr-defined]
                    ci = info()
                    if ci.currsize:
                        out[f"{modname}.{name}"] = f"{ci.currsize}/{ci.maxsize}"
    return out


def sample(at: float, caches: bool, app: LabguideApp) -> dict[str, Any]:
    gc.collect()
    row: dict[str, Any] = {"s": round(at), "rss_mib": round(rss_mib(), 1),
                           "objects": len(gc.get_objects())}
    if caches:
        row["widget_caches"] = widget_caches(app)
        row["lru_caches"] = textual_lru_caches()
    return row


async def main(minutes: float, keys: bool, caches: bool, out: Path | None) -> None:
    web = Nginx(name="web-1").start()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="lgt-tui-mem-") as tmp:
            eng = (Engine(bind(load_chapter(ROOT / "chapters" / "l4lb-ha.md"), None, {}))
                   if keys else engine(web.url, Path(tmp)))
            app = LabguideApp(eng, settings=TuiSettings(stream_rate=1000), watch=False)
            async with app.run_test(size=(160, 50)) as pilot:
                app.stream.url = web.url
                app.stream.max_duration = minutes * 60 + 60
                app.action_toggle_stream()
                t0 = time.monotonic()
                every = 120.0 if caches else 20.0
                next_sample, next_key = t0 + 15.0, t0 + 3.0
                while (now := time.monotonic()) < t0 + minutes * 60 + 1:
                    if now >= next_sample:
                        rows.append(sample(now - t0, caches, app))
                        print(json.dumps(rows[-1]), flush=True)
                        next_sample += every
                    if keys and now >= next_key:
                        await pilot.press("n")
                        await pilot.press("b")
                        next_key += 3.0
                    await asyncio.sleep(0.2)
                rows.append(sample(time.monotonic() - t0, caches, app))
                print(json.dumps(rows[-1]), flush=True)
                await app.stream.stop()
    finally:
        web.cleanup()  # stops it and removes its folder
    if out:
        out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--keys", action="store_true", help="l4lb-ha chapter, n/b every 3 s")
    parser.add_argument("--caches", action="store_true", help="fill of Textual's caches")
    parser.add_argument("--out", type=Path, help="write all samples as JSON")
    a = parser.parse_args()
    asyncio.run(main(a.minutes, a.keys, a.caches, a.out))
