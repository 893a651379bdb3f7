"""Checking a class of labs: N inventories, all pointing at the sandbox lab (each under its own
name and lab id; the checks are read-only), checked by one `labguide check` command.

Usage (root; the lab is shared, so hold its lock, briefly; a lab that is
not up is brought up first and taken down after):
    flock /tmp/labguide-lab.lock .venv/bin/python bench/class_check.py [--labs 30] [--runs 3]
Per run: the whole command as a process (wall, CPU of the process: user+sys from
RUSAGE_CHILDREN), the CPU the lab itself spent meanwhile (the sandbox's VMs and its Proxmox
API emulator: their process trees from the lab's pid files, user+sys of each process plus
what it reaped; and each VM and unit by its cgroup, bench/labcgroups.py), the whole
machine's busy CPU (/proc/stat), and the labs that did not pass
with their first failed check; then the same check in this process with asyncssh.connect
counted (the SSH connections it opened) and the Proxmox API hosts it connected. One lab
alone for scale. Prints Markdown and JSON. Changes nothing in the lab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from labcgroups import spent, unit_usage  # bench/labcgroups.py (benches run from bench/)

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


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all cores, /proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(f) - f[3] - f[4]) / TICK


def lab_pids(paths: LabPaths) -> list[int]:
    """The sandbox's own processes by its records: each VM's nspawn, the API emulator."""
    files = [*paths.run.glob("vm/*/nspawn.pid"), paths.pve_pidfile]
    return [int(f.read_text().split()[0]) for f in files if f.is_file()]


def lab_cpu(roots: list[int]) -> float:
    """CPU seconds of the lab's process trees: each process's user+sys plus its reaped
    children's (a check's commands end reaped by the VM's sshd)."""
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [p for p in roots if p in stats]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo += children.get(pid, [])
    return total


def not_passed(stdout: str) -> dict[str, str]:
    """Lab → its first failed check and why (from --format json)."""
    try:
        labs = json.loads(stdout)["labs"]
    except (ValueError, KeyError):
        return {"?": stdout[-300:]}
    out = {}
    for lab in labs:
        if lab["verdict"] == "pass":
            continue
        failed = [c for c in (lab.get("check") or {}).get("checks", [])
                  if c["status"] != "passed"]
        why = lab.get("error") or str(lab.get("unreachable_hosts") or "")
        if failed:
            c = failed[0]
            hosts = {h: (r.get("reason") or "", r.get("tail", [])[-1:])
                     for h, r in c["results"].items() if r.get("status") != "passed"}
            why = f"{c['id']} {hosts}"
        out[lab["lab"]] = why
    return out


def command(folder: Path, connections: int, roots: list[int]) -> dict[str, Any]:
    """The whole command: wall, its CPU (user+sys), the lab's and the machine's meanwhile,
    and what each VM and unit of the lab spent (their cgroups)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    units0 = unit_usage(LabPaths.default())
    lab0, busy0, t0 = lab_cpu(roots), machine_busy(), time.monotonic()
    proc = subprocess.run([LABGUIDE, "check", "l4lb-ha", "-i", str(folder), "--connections",
                           str(connections), "--format", "json"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    lab1, busy1 = lab_cpu(roots), machine_busy()
    units = spent(units0, unit_usage(LabPaths.default()))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 2), "cpu": round(cpu, 2), "lab_cpu": round(lab1 - lab0, 2),
            "machine_busy": round(busy1 - busy0, 2), "exit_code": proc.returncode,
            "units": {k: v for k, v in units.items() if v >= 0.05},
            "not_passed": not_passed(proc.stdout)}


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
        run(args, paths.inventory, lab_pids(paths))
    finally:
        if brought_up:
            lab.down(paths, say=lambda line: print(f"[lab] {line}", file=sys.stderr))


def run(args: argparse.Namespace, source: Path, roots: list[int]) -> None:
    result: dict[str, Any] = {"labs": args.labs, "connections": args.connections,
                              "load_before": Path("/proc/loadavg").read_text().split()[:3]}
    with tempfile.TemporaryDirectory(prefix="labguide-class-") as tmp:
        files = write_labs(source, Path(tmp), args.labs)
        one = Path(tmp) / "one"
        one.mkdir()
        write_labs(source, one, 1)
        result["runs"] = [command(Path(tmp), args.connections, roots)
                          for _ in range(args.runs)]
        result["one_lab"] = [command(one, args.connections, roots) for _ in range(args.runs)]
        result["in_process"] = in_process(files, args.connections)
    result["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(result, indent=2))
    for what, runs in (("all", result["runs"]), ("one lab", result["one_lab"])):
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("wall", "cpu", "lab_cpu", "machine_busy")}
        print(f"| {what} | wall {med['wall']:.2f} s (runs {[r['wall'] for r in runs]}) | "
              f"labguide CPU {med['cpu']:.2f} s | lab CPU {med['lab_cpu']:.2f} s | machine "
              f"busy {med['machine_busy']:.2f} CPU-s | not passed "
              f"{[len(r['not_passed']) for r in runs]} |")
    print(f"SSH connections (in process): {result['in_process']['ssh_connections']}")
    print("The lab's VMs and units, CPU-s per run of all labs (cgroups):")
    for unit in result["runs"][0]["units"]:
        median = statistics.median(r["units"].get(unit, 0.0) for r in result["runs"])
        print(f"| {unit} | {median:.2f} |")


if __name__ == "__main__":
    main()
