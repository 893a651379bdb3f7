"""Soak: 5 minutes of the TUI at 1000 requests/s through the sandbox VIP with a failover every
30 s. Records the TUI process's RSS (start, middle, end), whether the prober's counts add up,
and the delay from a key press to the screen update.

    sudo .venv/bin/python bench/soak.py [--seconds 300]

Takes the sandbox lab's lock (/tmp/labguide-lab.lock), rebuilds the lab, runs the chapter to
its end in plain mode, runs bench/soak_app.py in a tmux server of its own, then takes the lab
down. Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labguide.sandbox import lab  # noqa: E402
from labguide.sandbox.paths import LabPaths  # noqa: E402

SOCKET = f"lgt-soak-{os.getpid()}"


def main(seconds: float) -> None:
    with open("/tmp/labguide-lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        paths = LabPaths.default()
        if lab.is_up(paths):
            lab.down(paths)
        lab.up(paths)
        try:
            with tempfile.TemporaryDirectory(prefix="lgt-soak-") as tmp:
                env = {**os.environ, "LABGUIDE_STATE_DIR": tmp}
                chapter = subprocess.run(
                    [sys.executable, "-m", "labguide", "run", "l4lb-ha", "--plain", "--yes",
                     "--inventory", str(paths.inventory)], env=env, capture_output=True,
                    text=True, stdin=subprocess.DEVNULL, timeout=1200)
                if chapter.returncode != 0:
                    raise SystemExit(f"the chapter failed:\n{chapter.stdout[-3000:]}")
                out = Path(tmp) / "soak.json"
                # stderr stays on the tmux terminal: Textual draws the screen there
                cmd = (f"cd {ROOT} && {sys.executable} bench/soak_app.py {paths.inventory} "
                       f"{seconds} {out}")
                subprocess.run(["tmux", "-L", SOCKET, "new-session", "-d", "-s", "soak", "-x",
                                "160", "-y", "50", cmd], check=True)
                try:
                    deadline = time.monotonic() + seconds + 120
                    err = out.with_suffix(".err")
                    while not (out.exists() or err.exists()) and time.monotonic() < deadline:
                        time.sleep(1)
                    time.sleep(1)
                finally:
                    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], check=False,
                                   capture_output=True)
                if not out.exists():
                    raise SystemExit(err.read_text() if err.exists() else "soak_app timed out")
                report(json.loads(out.read_text()), seconds)
        finally:
            lab.down(paths)


def report(r: dict[str, object], seconds: float) -> None:
    rss = r["rss_mib"]
    assert isinstance(rss, list)
    start, middle, end = rss[1], rss[len(rss) // 2], rss[-1]
    p = r.get("probe", {})
    k = r["key_to_screen_ms"]
    assert isinstance(p, dict) and isinstance(k, dict)
    print(f"Run of {time.strftime('%Y-%m-%d %H:%M')}, {seconds:g} s, load average "
          f"{Path('/proc/loadavg').read_text().split()[0]} at the end.\n")
    print("| | value |\n|---|---|")
    print(f"| RSS of the TUI process (start / middle / end) | {start[1]} / {middle[1]} / "
          f"{end[1]} MiB (at {start[0]} s / {middle[0]} s / {end[0]} s) |")
    print(f"| requests scheduled / sent / ok / failed / dropped | {p.get('scheduled')} / "
          f"{p.get('sent')} / {p.get('ok')} / {p.get('failed')} / {p.get('dropped')} |")
    print(f"| counts add up (sent = ok + failed, scheduled = sent + dropped) | "
          f"{p.get('adds_up')} |")
    print(f"| achieved rate | {p.get('rate')}/s |")
    print(f"| failovers | {len(r['failovers'])} (keepalived on l4lb-1 stopped, then started, "
          "every 30 s) |")  # type: ignore[arg-type]
    outages = p.get("outages", [])
    assert isinstance(outages, list)
    big = [o for o in outages if o[2] >= 50]
    small = [o for o in outages if o[2] < 50]
    stops = [t for t, what in r["failovers"] if what.startswith("stop")]  # type: ignore[union-attr]
    near_stop = [o for o in small if any(0 <= o[0] - t < 1.0 for t in stops)]
    if big:
        print(f"| outages of 50+ requests | {len(big)}: {min(o[1] for o in big):.2f}–"
              f"{max(o[1] for o in big):.2f} s, {min(o[2] for o in big)}–"
              f"{max(o[2] for o in big)} lost each, at {[o[0] for o in big]} s |")
    print(f"| short gaps (under 50 lost) | {len(small)}, {sum(o[2] for o in small)} lost; "
          f"{len(near_stop)} of them within 1 s after a keepalived stop |")
    print(f"| failures by cause | {p.get('by_cause')} |")
    print(f"| key press → screen update, {k['n']} presses | median {k['med']} ms, p95 "
          f"{k['p95']} ms, max {k['max']} ms |")
    after = next((m for t, m in rss if t >= 60), start[1])
    minutes = (end[0] - 60) / 60
    if minutes > 0:
        print(f"| RSS from minute 1 to the end | {after} → {end[1]} MiB "
              f"({(end[1] - after) / minutes:+.2f} MiB/min) |")
    worker = r.get("worker_rss_mib") or []
    assert isinstance(worker, list)
    if len(worker) >= 3:
        w0, wm, w1 = worker[0], worker[len(worker) // 2], worker[-1]
        print(f"| RSS of the HTTP prober's worker process (start / middle / end) | {w0[1]} / "
              f"{wm[1]} / {w1[1]} MiB (at {w0[0]} s / {wm[0]} s / {w1[0]} s) |")
    per_minute = [f"{t:g} s: {m} MiB" for t, m in rss if int(t) % 60 < 5]
    print(f"\nRSS once a minute: {', '.join(per_minute)}")
    if worker:
        print("\nWorker RSS once a minute: " + ", ".join(
            f"{t:g} s: {m} MiB" for t, m in worker if int(t) % 60 < 5))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    main(parser.parse_args().seconds)
