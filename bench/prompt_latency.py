"""How fast a command's prompt reaches the reader, and what prompt detection costs.

Over a real sshd on 127.0.0.1 (started here, removed at the end):
- latency: a command prints its own clock (`date +%s.%N`), then a prompt (`read -p`); the
  time from that clock to the prompt being shown in the TUI's answer line (the app, headless,
  over the real engine) and to the engine's InputWanted event. Same machine, same clock.
- throughput: `seq 1 N` with a terminal and prompt detection against without (the engine's
  usual run), lines per second, alternating.

    .venv/bin/python bench/prompt_latency.py --trials 20 --lines 200000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labguide.chapter import parse_chapter  # noqa: E402
from labguide.engine import Engine  # noqa: E402
from labguide.events import Event, InputWanted, Output  # noqa: E402
from labguide.inventory import Inventory  # noqa: E402
from labguide.plan import bind  # noqa: E402
from tests.conftest import Sshd, start_sshd  # noqa: E402

PROMPT = 'date +%s.%N; read -p "Name: " n; echo "hi $n"'


def engine_for(body: str, sshd: Sshd, folder: Path, attrs: str = "") -> Engine:
    text = (f'+++\ntitle = "B"\nhosts = ["a"]\n+++\n\n## B\n\n'
            f'```sh {{on="a" id="b" {attrs}}}\n{body}\n```\n')
    plan = bind(parse_chapter(text, folder / "b.md"),
                Inventory(hosts={"a": sshd.host("a")}, path=folder / "inv.toml"), {})
    return Engine(plan)


async def engine_latency(sshd: Sshd, folder: Path) -> float:
    engine = engine_for(PROMPT, sshd, folder)
    engine.answering = True
    printed: list[float] = []
    shown: list[float] = []

    def heard(event: Event) -> None:
        if isinstance(event, Output) and not printed:
            printed.append(float(event.line))
        elif isinstance(event, InputWanted):
            shown.append(time.time())
            asyncio.get_running_loop().call_soon(engine.answer, event.step_id, event.host, "x")

    engine.bus.subscribe(heard)
    await engine.run_step("b")
    await engine.close()
    return shown[0] - printed[0]


async def tui_latency(sshd: Sshd, folder: Path) -> float:
    from labguide.tui.app import make_app
    from labguide.tui.keymap import TuiSettings
    from labguide.tui.widgets.answer import AnswerLine

    engine = engine_for(PROMPT, sshd, folder)
    app = make_app(engine, settings=TuiSettings(), watch=False)
    printed: list[float] = []
    engine.bus.subscribe(lambda e: printed.append(float(e.line))
                         if isinstance(e, Output) and not printed else None)
    async with app.run_test(size=(120, 40)) as pilot:
        answer = app.query_one(AnswerLine)
        await pilot.press("r")
        while not answer.asking:
            await asyncio.sleep(0.002)
        seen = time.time()
        await pilot.press("x", "enter")
        await app.workers.wait_for_complete()
        await pilot.press("q")
    return seen - printed[0]


async def throughput(sshd: Sshd, folder: Path, lines: int, tty: bool) -> float:
    engine = engine_for(f"seq 1 {lines}", sshd, folder, "tty" if tty else "")
    engine.answering = tty
    t0 = time.monotonic()
    await engine.run_step("b")
    took = time.monotonic() - t0
    await engine.close()
    return lines / took


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max_ms": round(1000 * ordered[-1], 1)}


async def main(trials: int, lines: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lgb-prompt-") as tmp:
        folder = Path(tmp)
        sshd, proc = start_sshd(folder / "sshd")
        try:
            eng = [await engine_latency(sshd, folder) for _ in range(trials)]
            tui = [await tui_latency(sshd, folder) for _ in range(trials)]
            plain_rates, tty_rates = [], []
            for _ in range(3):  # alternating, so that the machine's load hits both alike
                plain_rates.append(await throughput(sshd, folder, lines, tty=False))
                tty_rates.append(await throughput(sshd, folder, lines, tty=True))
            return {"trials": trials, "prompt_to_event": summary(eng),
                    "prompt_to_answer_line": summary(tui), "lines": lines,
                    "lines_per_s_without_terminal": round(statistics.median(plain_rates)),
                    "lines_per_s_on_terminal_with_detection": round(
                        statistics.median(tty_rates)),
                    "ratio": round(statistics.median(tty_rates)
                                   / statistics.median(plain_rates), 2)}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.trials, args.lines))))
