"""Times `labguide lab up` (cold and warm) and `lab down`, phase by phase, the memory the
running lab uses, and (--base-tools) the base image's bootstrap with debootstrap against
mmdebstrap.

Usage (root):
  flock /tmp/labguide-lab.lock .venv/bin/python bench/lab_updown.py --root DIR [--cold] [--runs N]
      [--host-keys ca|strict]
  .venv/bin/python bench/lab_updown.py --root DIR --base-tools N      (no lab: no lock needed)
  .venv/bin/python bench/lab_updown.py --root DIR --layers N          (no lab: no lock needed)

--root puts the lab's state, runtime records and image cache under DIR (LABGUIDE_LAB_ROOT), so
--cold (which empties DIR's cache first) never touches the shared cache in /var/cache/labguide.
--base-tools builds the base N times with each recipe, in turns (debootstrap as the images were
built before, then apt-get dist-upgrade and the .debs' download inside the image; mmdebstrap as
now; mmdebstrap without force-unsafe-io; with eatmydata too), into DIR/bases, and removes
each build after.
--layers rebuilds the three role layers over DIR's base N times one after another and N times
side by side, in turns.
Prints Markdown tables; nothing is sent outside the lab's bridge but the Debian mirror's
downloads of a build.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labguide.sandbox.paths import ROOT_ENV, LabPaths

END_LINE = re.compile(r"^(?P<indent>\s*)(?P<what>.+?)\s+(?P<secs>\d+\.\d\d) s$")


class Recorder:
    """A `say` callable: keeps each phase's end line as (depth, title, seconds)."""

    def __init__(self) -> None:
        self.phases: list[tuple[int, str, float]] = []

    def __call__(self, line: str) -> None:
        m = END_LINE.match(line)
        if m:
            self.phases.append((len(m["indent"]) // 2, m["what"], float(m["secs"])))


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


def timed(fn: Callable[..., object], *args: object, **kw: object) -> float:
    t0 = time.monotonic()
    fn(*args, **kw)
    return time.monotonic() - t0


def _phase_rows(rec: Recorder) -> list[str]:
    return [f"| {'&nbsp;' * 4 * depth}{what} | {secs:.2f} |" for depth, what, secs in rec.phases]


def another_lab(paths: LabPaths) -> str | None:
    """What of a lab under another root is up (the bridge and node1's address are one per
    host)."""
    from labguide.sandbox import network

    return network.foreign_lab(paths.bridge_record, paths.pve_pidfile)


def updown(paths: LabPaths, cold: bool, runs: int, host_keys: str | None = None) -> None:
    from labguide.sandbox import lab

    other = another_lab(paths)
    if other:
        sys.exit(f"another lab is up ({other}): this bench needs the machine's only lab; "
                 "run it when that lab is down")
    load = os.getloadavg()
    rows: list[tuple[str, float]] = []
    detail: list[str] = []
    if lab.is_up(paths) or (paths.run / "vm").exists():
        lab.down(paths)
    if cold:
        shutil.rmtree(paths.cache, ignore_errors=True)  # DIR's own cache only (see --root)
        rec = Recorder()
        rows.append(("up, cold (base + .debs + layers + start)",
                     timed(lab.up, paths, say=rec, host_keys=host_keys)))
        detail = _phase_rows(rec)
        rows.append(("down", timed(lab.down, paths)))
    mem = (0.0, 0)
    warm: list[str] = []
    for i in range(runs):
        rec = Recorder()
        rows.append((f"up, warm (run {i + 1})", timed(lab.up, paths, say=rec, host_keys=host_keys)))
        warm = _phase_rows(rec)
        if i == 0:
            time.sleep(5)  # let the guests settle before measuring memory
            mem = lab_memory(paths)
        rows.append((f"down (run {i + 1})", timed(lab.down, paths)))
    du = subprocess.run(["du", "-sh", str(paths.cache)], capture_output=True, text=True)
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared)")
    print("| step | seconds |\n|---|---|")
    for what, secs in rows:
        print(f"| {what} | {secs:.2f} |")
    for title, lines in (("cold up, by phase", detail), ("last warm up, by phase", warm)):
        if lines:
            print(f"\n{title}:\n\n| phase | seconds |\n|---|---|")
            print("\n".join(lines))
    if runs:
        print(f"\nmemory of the running lab (4 VMs + supervisors + node1 emulator): "
              f"{mem[0]:.0f} MiB PSS in {mem[1]} processes")
    print(f"cache on disk: {du.stdout.split()[0] if du.stdout else '?'}")


def _debootstrap_recipe(root: Path, debs: Path, log: Path) -> None:
    """The base as image.py built it before mmdebstrap: debootstrap, then (in the image, with
    the real mirror) dist-upgrade from -updates/-security and the .debs' download."""
    from labguide.sandbox import image
    from labguide.sandbox.labfile import default_lab
    from labguide.sandbox.proc import run

    out = run(["debootstrap", "--variant=minbase",
               f"--include={','.join(image.BASE_PACKAGES)}", image.SUITE, str(root),
               image.MIRROR], timeout=1800)
    log.write_text(out.stdout)
    (root / "etc/apt/sources.list").write_text(image.BUILD_SOURCES)
    pkgs = " ".join(default_lab().repo_packages)
    image.in_root(root, f"""
        apt-get update -q
        apt-get -y -q dist-upgrade
        apt-get clean
        apt-get -y -q install --download-only --no-install-recommends {pkgs}
    """, network=True)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        shutil.move(str(deb), debs / deb.name)


def base_tools(top: Path, rounds: int) -> None:
    """Each base recipe `rounds` times, in turns; seconds per build and ratio to debootstrap."""
    from labguide.sandbox import image
    from labguide.sandbox.labfile import default_lab
    from labguide.sandbox.progress import LineReporter

    def mm(unsafe: bool, eatmydata: bool = False) -> Callable[[Path, Path, Path], None]:
        def build(root: Path, debs: Path, log: Path) -> None:
            argv = image.base_argv(root, debs, default_lab().repo_packages, unsafe_io=unsafe)
            if eatmydata:  # mmdebstrap's own hooks: dpkg under eatmydata (needs dpkg-dev here)
                argv.insert(1, "--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata")
            image.stream(argv, LineReporter(_drop), log)
        return build

    recipes: dict[str, Callable[[Path, Path, Path], None]] = {
        "debootstrap + dist-upgrade + download (before)": _debootstrap_recipe,
        "mmdebstrap, force-unsafe-io (now)": mm(True),
        "mmdebstrap, dpkg's default syncs": mm(False),
        "mmdebstrap, force-unsafe-io + eatmydata": mm(True, eatmydata=True),
    }
    times: dict[str, list[float]] = {name: [] for name in recipes}
    loads: list[float] = []
    for i in range(rounds):
        for n, (name, build) in enumerate(recipes.items()):
            where = top / "bases" / f"{n}-{i}"
            shutil.rmtree(where, ignore_errors=True)
            (where / "debs").mkdir(parents=True)
            loads.append(os.getloadavg()[0])
            times[name].append(timed(build, where / "root", where / "debs", where / "log"))
            debs = len(list((where / "debs").glob("*.deb")))
            print(f"round {i + 1}: {name}: {times[name][-1]:.1f} s ({debs} .debs)", flush=True)
            shutil.rmtree(where)
    print(f"\nload average (1 min) at each build's start: "
          f"{' '.join(f'{x:.1f}' for x in loads)} (2 cores, shared)\n")
    print("| recipe | seconds, each round | median | median of per-round ratio to before |")
    print("|---|---|---|---|")
    first = next(iter(recipes))
    for name in recipes:
        ratios = [t / b for t, b in zip(times[name], times[first], strict=True)]
        print(f"| {name} | {' '.join(f'{t:.1f}' for t in times[name])} | "
              f"{statistics.median(times[name]):.1f} | {statistics.median(ratios):.2f} |")


def _drop(_: str) -> None:
    pass


def layers(paths: LabPaths, rounds: int) -> None:
    """The three role layers over --root's base, one after another and side by side, in turns."""
    from functools import partial

    from labguide.sandbox import image
    from labguide.sandbox.labfile import default_lab
    from labguide.sandbox.progress import LineReporter

    if not image.is_ready(paths.base_image):
        sys.exit(f"no base image under {paths.cache}: run a --cold up with this --root first")
    rep = LineReporter(_drop)
    lab = default_lab()
    jobs = [partial(image.build_layer, paths, lab.roles[r], lab.layer_key(r), rep)
            for r in lab.used_roles]
    times: dict[str, list[float]] = {"one after another": [], "side by side": []}
    loads: list[float] = []
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        times["one after another"].append(timed(lambda: [job() for job in jobs]))
        loads.append(os.getloadavg()[0])
        times["side by side"].append(timed(image.together, *jobs))
    print(f"load average (1 min) at each start: {' '.join(f'{x:.1f}' for x in loads)}\n")
    print("| three role layers | seconds, each round | median |\n|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {' '.join(f'{t:.2f}' for t in ts)} | {statistics.median(ts):.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, help="the lab's roots under this folder")
    ap.add_argument("--cold", action="store_true", help="empty --root's image cache first")
    ap.add_argument("--runs", type=int, default=3, help="warm up/down cycles")
    ap.add_argument("--host-keys", choices=("ca", "strict"), default=None,
                    help="`lab up --host-keys` (strict: each guest makes its keys at its "
                         "first boot)")
    ap.add_argument("--base-tools", type=int, default=0, metavar="N",
                    help="compare the base recipes N rounds (no lab)")
    ap.add_argument("--layers", type=int, default=0, metavar="N",
                    help="role layers in turn and in parallel, N rounds (no lab)")
    args = ap.parse_args()
    if (args.cold or args.base_tools or args.layers) and args.root is None:
        ap.error("--cold, --base-tools and --layers need --root (the shared cache is never "
                 "emptied or rebuilt)")
    if args.root is not None:
        os.environ[ROOT_ENV] = str(args.root.resolve())
    if args.base_tools:
        base_tools(args.root.resolve(), args.base_tools)
        return 0
    if args.layers:
        layers(LabPaths.default(), args.layers)
        return 0
    updown(LabPaths.default(), args.cold, args.runs, args.host_keys)
    return 0


if __name__ == "__main__":
    sys.exit(main())
