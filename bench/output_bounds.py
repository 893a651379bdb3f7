"""Memory and transcript size of a step with a flood of output (issue 16, item 9).

Runs one step over a real sshd on 127.0.0.1 (started here, removed at the end) that prints
N lines and then one line of M bytes; prints RSS growth, transcript size and time as JSON.

    .venv/bin/python bench/output_bounds.py --lines 5000000 --line-bytes 20000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labguide.chapter import parse_chapter  # noqa: E402
from labguide.engine import Engine  # noqa: E402
from labguide.inventory import Inventory  # noqa: E402
from labguide.plan import bind  # noqa: E402
from labguide.state import Transcript  # noqa: E402
from tests.conftest import start_sshd  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(lines: int, line_bytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="lgb-out-") as tmp:
        folder = Path(tmp)
        sshd, proc = start_sshd(folder / "sshd")
        try:
            body = f"seq 1 {lines}\nhead -c {line_bytes} /dev/zero | tr '\\0' x; echo"
            text = (f'+++\ntitle = "Flood"\nhosts = ["a"]\n+++\n\n## Flood\n\n'
                    f'```sh {{on="a" id="flood" timeout=900}}\n{body}\n```\n')
            plan = bind(parse_chapter(text, folder / "flood.md"),
                        Inventory(hosts={"a": sshd.host("a")}, path=folder / "inv.toml"), {})
            engine = Engine(plan, transcript=Transcript(folder / "transcript.jsonl"))
            before, t0 = rss_mib(), time.monotonic()
            rec = await engine.run_step("flood")
            took, grown = time.monotonic() - t0, rss_mib() - before
            await engine.close()
            return {"status": rec.status.value, "lines": lines, "line_bytes": line_bytes,
                    "seconds": round(took, 1), "lines_per_s": round(lines / took),
                    "rss_growth_mib": round(grown, 1),
                    "transcript_mib": round((folder / "transcript.jsonl").stat().st_size
                                            / 2**20, 1)}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--line-bytes", type=int, default=20_000_000)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.lines, args.line_bytes))))
