"""Checking a class of labs: N inventories, all pointing at the sandbox lab (each under its own
name and lab id; the checks are read-only), checked by one `labguide check` command.

Usage (root; the lab is shared, so hold its lock, briefly; a lab that is
not up is brought up first and taken down after):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/class_check.py [--labs 30] [--runs 3]
Per run: the whole command as a process (wall, CPU of the process: user+sys from
RUSAGE_CHILDREN), then the same check in this process with asyncssh.connect counted (the SSH
connections it opened) and the Proxmox API hosts it connected. One lab alone for scale.
Prints Markdown and JSON. Changes nothing in the lab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncssh

from labguide.chapter import find_chapter, load_chapter
from labguide.classcheck import ClassOptions, check_class
from labguide.sandbox.paths import LabPaths

LABGUIDE = str(Path(sys.executable).parent / "labguide")
PATH_KEYS = ("identity_file", "known_hosts", "token_secret_file", "ca")


def write_labs(source: Path, folder: Path, n: int) -> list[Path]:
    """n copies of the sandbox inventory, paths made absolute, each with its own lab id."""
    text = source.read_text()
    for key in PATH_KEYS:
        text = re.sub(rf'^({key}\s*=\s*")([^"/][^"]*)"', lambda m: f'{m[1]}{source.parent / m[2]}"',
                      text, flags=re.M)
    out = []
    for i in range(1, n + 1):
        path = folder / f"lab-{i:02d}.toml"
        path.write_text(re.sub(r'^id = "([^"]*)"', rf'id = "\1-{i:02d}"', text, flags=re.M))
        out.append(path)
    return out


def command(folder: Path, connections: int) -> tuple[float, float, int]:
    """(wall, CPU user+sys, exit code) of the whole command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run([LABGUIDE, "check", "l4lb-ha", "-i", str(folder), "--connections",
                           str(connections)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def in_process(files: list[Path], connections: int) -> dict[str, Any]:
    opened = 0
    real = asyncssh.connect

    async def counted(*a: Any, **kw: Any) -> Any:
        nonlocal opened
        opened += 1
        return await real(*a, **kw)

    asyncssh.connect = counted  # type: ignore[assignment]
    chapter = load_chapter(find_chapter("l4lb-ha"))
    try:
        t0, c0 = time.monotonic(), time.process_time()
        report = asyncio.run(check_class(chapter, files, {},
                                         ClassOptions(connections=connections)))
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
    finally:
        asyncssh.connect = real  # type: ignore[assignment]
    return {"wall": wall, "cpu": cpu, "ssh_connections": opened,
            "hosts_connected": report.connections, "totals": report.totals,
            "one_lab_checks": report.labs[0].report.counts if report.labs[0].report else {},
            "exit_code": report.exit_code}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labs", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    from labguide.sandbox import lab

    paths = LabPaths.default()
    brought_up = not lab.is_up(paths)
    if brought_up:  # taken down again at the end, as the tests do
        lab.up(paths, say=lambda line: print(f"[lab] {line}", file=sys.stderr))
    try:
        run(args, paths.inventory)
    finally:
        if brought_up:
            lab.down(paths, say=lambda line: print(f"[lab] {line}", file=sys.stderr))


def run(args: argparse.Namespace, source: Path) -> None:
    result: dict[str, Any] = {"labs": args.labs, "connections": args.connections,
                              "load_before": Path("/proc/loadavg").read_text().split()[:3]}
    with tempfile.TemporaryDirectory(prefix="labguide-class-") as tmp:
        files = write_labs(source, Path(tmp), args.labs)
        one = Path(tmp) / "one"
        one.mkdir()
        write_labs(source, one, 1)
        runs = [command(Path(tmp), args.connections) for _ in range(args.runs)]
        single = [command(one, args.connections) for _ in range(args.runs)]
        result["in_process"] = in_process(files, args.connections)
    result.update({
        "wall": [round(r[0], 2) for r in runs], "cpu": [round(r[1], 2) for r in runs],
        "exit_codes": sorted({r[2] for r in runs}),
        "one_lab_wall": [round(r[0], 2) for r in single],
        "one_lab_cpu": [round(r[1], 2) for r in single],
        "load_after": Path("/proc/loadavg").read_text().split()[:3]})
    ip = result["in_process"]
    print(f"| {args.labs} labs, one command | wall {statistics.median(result['wall']):.2f} s "
          f"(runs {result['wall']}) | CPU {statistics.median(result['cpu']):.2f} s | "
          f"SSH connections {ip['ssh_connections']} | one lab: wall "
          f"{statistics.median(result['one_lab_wall']):.2f} s, CPU "
          f"{statistics.median(result['one_lab_cpu']):.2f} s |")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
