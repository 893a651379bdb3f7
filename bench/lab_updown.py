"""Times `labguide lab up` (cold and warm) and `lab down`, and the memory the running lab uses.

Usage (root): .venv/bin/python bench/lab_updown.py [--cold] [--runs N] [--host-keys ca|strict]
--cold first drops the cache (`lab down --purge`) so the first `up` debootstraps again;
--host-keys is `lab up --host-keys` (strict: each guest makes its keys at its first boot).
Prints a Markdown table; nothing is sent outside the lab's bridge.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from labguide.sandbox import lab
from labguide.sandbox.paths import LabPaths


def _children(pid_set: set[int]) -> set[int]:
    """pid_set and every descendant (walking /proc's ppid links)."""
    parent: dict[int, int] = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                stat = Path(f"/proc/{p}/stat").read_text()
                parent[int(p)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out = set(pid_set)
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in out and pid not in out:
                out.add(pid)
                grew = True
    return out


def lab_memory(paths: LabPaths) -> tuple[float, int]:
    """(MiB of PSS, process count) of the lab's supervisors, guests and the emulator."""
    roots: set[int] = set()
    for f in list((paths.run / "vm").glob("*/supervisor.pid")) + [paths.pve_pidfile]:
        try:
            roots.add(int(f.read_text()))
        except (OSError, ValueError):
            pass
    total = 0
    pids = _children(roots)
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024, len(pids)


def timed(fn: object, *args: object, **kw: object) -> float:
    t0 = time.monotonic()
    fn(*args, **kw)  # type: ignore[operator]
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--host-keys", choices=("ca", "strict"), default=None)
    args = ap.parse_args()
    paths = LabPaths.default()
    load = os.getloadavg()
    rows: list[tuple[str, float]] = []
    if lab.is_up(paths) or (paths.run / "vm").exists():
        lab.down(paths)
    if args.cold:
        lab.down(paths, purge=True)
        rows.append(("up, cold (debootstrap + .debs + layers)",
                     timed(lab.up, paths, host_keys=args.host_keys)))
        rows.append(("down", timed(lab.down, paths)))
    mem = (0.0, 0)
    for i in range(args.runs):
        rows.append((f"up, warm (run {i + 1})", timed(lab.up, paths, host_keys=args.host_keys)))
        if i == 0:
            time.sleep(5)  # let the guests settle before measuring memory
            mem = lab_memory(paths)
        rows.append((f"down (run {i + 1})", timed(lab.down, paths)))
    du = subprocess.run(["du", "-sh", str(paths.cache)], capture_output=True, text=True)
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores, shared)")
    print("| step | seconds |\n|---|---|")
    for what, secs in rows:
        print(f"| {what} | {secs:.2f} |")
    print(f"\nmemory of the running lab (4 VMs + supervisors + node1 emulator): "
          f"{mem[0]:.0f} MiB PSS in {mem[1]} processes")
    print(f"cache on disk: {du.stdout.split()[0] if du.stdout else '?'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
