"""How long `labguide run l4lb-ha --check` takes, as a whole process, on the finished sandbox lab.

Usage (root, lab up with the chapter done; the lab is shared, so hold its lock):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/check_speed.py [--runs 9]
Each run is a fresh process (Python start-up, imports, SSH connections, every check, the
report). Also times `labguide --version` (start-up and the CLI's own imports) and reads the
check phase's own duration from the JSON report, so the remainder (imports of the check
path, binding the chapter, closing) shows. Prints Markdown and JSON. Changes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LABGUIDE = str(Path(sys.executable).parent / "labguide")


def timed(args: list[str]) -> tuple[float, int, str]:
    t0 = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - t0, proc.returncode, proc.stdout


def loadavg() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--chapter", default="l4lb-ha")
    args = parser.parse_args()
    result: dict[str, Any] = {"runs": args.runs, "load_before": loadavg()}
    version = [timed([LABGUIDE, "--version"])[0] for _ in range(args.runs)]
    table, phase, whole_json, codes = [], [], [], []
    for _ in range(args.runs):
        wall, code, _out = timed([LABGUIDE, "run", args.chapter, "--check"])
        table.append(wall)
        codes.append(code)
        wall, code, out = timed([LABGUIDE, "run", args.chapter, "--check", "--format", "json"])
        whole_json.append(wall)
        codes.append(code)
        report = json.loads(out)
        phase.append(report["duration"])
        result["checks"] = report["counts"]
    result.update({
        "exit_codes": sorted(set(codes)), "load_after": loadavg(),
        "version": stats(version), "check_table": stats(table),
        "check_json": stats(whole_json), "check_phase": stats(phase),
    })
    print(json.dumps(result, indent=2))
    med = {k: result[k]["median"] for k in ("version", "check_table", "check_json",
                                            "check_phase")}
    print(f"""
| measured ({args.runs} runs each, same session) | median s | min s | max s |
|---|---|---|---|
| `labguide run {args.chapter} --check` (table), whole process | {med['check_table']:.3f} | {result['check_table']['min']:.3f} | {result['check_table']['max']:.3f} |
| `labguide run {args.chapter} --check --format json`, whole process | {med['check_json']:.3f} | {result['check_json']['min']:.3f} | {result['check_json']['max']:.3f} |
| of which the check phase (report's `duration`) | {med['check_phase']:.3f} | {result['check_phase']['min']:.3f} | {result['check_phase']['max']:.3f} |
| `labguide --version` (start-up, CLI imports) | {med['version']:.3f} | {result['version']['min']:.3f} | {result['version']['max']:.3f} |

checks: {result['checks']}; exit codes {result['exit_codes']}; load average {result['load_before']} before, {result['load_after']} after""")  # noqa: E501


if __name__ == "__main__":
    main()
