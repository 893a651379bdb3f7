"""The TUI's memory over time with the stream pane at 1000 answers/s (headless, App.run_test):
RSS every 20 s. Targets nginx on loopback (started and stopped here).

    .venv/bin/python bench/tui_memory.py [--minutes 6]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probe_targets import Nginx  # noqa: E402
from tui_bench_app import engine, rss_mib  # noqa: E402

from labguide.tui.app import LabguideApp  # noqa: E402
from labguide.tui.keymap import TuiSettings  # noqa: E402


async def main(minutes: float) -> None:
    web = Nginx(name="web-1").start()
    try:
        with tempfile.TemporaryDirectory(prefix="lgt-tui-mem-") as tmp:
            app = LabguideApp(engine(web.url, Path(tmp)), settings=TuiSettings(stream_rate=1000),
                              watch=False)
            async with app.run_test(size=(160, 50)):
                app.action_toggle_stream()
                samples = []
                for n in range(int(minutes * 3) + 1):
                    await asyncio.sleep(20 if n else 15)
                    samples.append(f"{15 + 20 * n} s: {rss_mib():.1f}")
                    print(samples[-1], flush=True)
                await app.stream.stop()
    finally:
        web.cleanup()  # stops it and removes its folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=6.0)
    asyncio.run(main(parser.parse_args().minutes))
