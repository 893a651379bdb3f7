"""TUI benchmarks, run in a real terminal (a tmux server of our own):

  python bench/tui_bench.py stream [--rate 1000] [--seconds 20]
      the app's CPU while the stream pane shows RATE answers/s from nginx on loopback,
      and whether the prober (its own process) held the rate.
  python bench/tui_bench.py vip [--count 20]
      the delay from a VIP change in the kernel to the VIP pane showing it, in a network
      namespace made for it (lgt-tui-bench, a veth pair inside it, 198.18.99.140/32).

Everything started here is removed by name at the end (tmux socket, netns, nginx).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from probe_targets import Nginx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOCKET = f"lgt-tui-bench-{os.getpid()}"
NETNS = "lgt-tui-bench"
DEV = "lgt-tui-d0"


def tmux(*args: str) -> None:
    subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=False,
                   capture_output=True)


def run_in_tmux(argv: list[str], out: Path, timeout: float) -> dict[str, object]:
    cmd = " ".join(f"'{a}'" for a in argv)
    tmux("new-session", "-d", "-s", "bench", "-x", "160", "-y", "50",
         f"cd '{ROOT}' && {cmd}")  # stderr stays on the terminal: Textual draws there
    deadline = time.monotonic() + timeout
    try:
        err = Path(f"{out}.err")
        while time.monotonic() < deadline and not (out.exists() or err.exists()):
            time.sleep(0.5)
        quit_by = time.monotonic() + 15  # the app quits by itself and cleans up after it
        while time.monotonic() < quit_by and subprocess.run(
                ["tmux", "-L", SOCKET, "has-session", "-t", "bench"],
                capture_output=True).returncode == 0:
            time.sleep(0.2)
    finally:
        tmux("kill-server")
    try:
        if not out.exists():
            raise SystemExit(f"no result; stderr: {err.read_text() if err.exists() else ''}")
        return dict(json.loads(out.read_text()))
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
        Path(f"/tmp/tmux-{os.getuid()}/{SOCKET}").unlink(missing_ok=True)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def stream(rate: int, seconds: float) -> dict[str, object]:
    web = Nginx(name="web-1").start()
    try:
        out = Path(tempfile.mkdtemp(prefix="lgt-tui-bench-")) / "stream.json"
        return run_in_tmux([sys.executable, "bench/tui_bench_app.py", "stream", str(out),
                            web.url, str(rate), str(seconds)], out, seconds + 60)
    finally:
        web.cleanup()


def vip(count: int) -> dict[str, object]:
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        ns = ["ip", "netns", "exec", NETNS]
        subprocess.run([*ns, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run([*ns, "ip", "link", "add", DEV, "type", "veth", "peer", "name",
                        DEV + "p"], check=True)
        subprocess.run([*ns, "ip", "link", "set", DEV, "up"], check=True)
        out = Path(tempfile.mkdtemp(prefix="lgt-tui-bench-")) / "vip.json"
        return run_in_tmux([*ns, sys.executable, "bench/tui_bench_app.py", "vip", str(out),
                            str(count), DEV], out, count * 3 + 60)
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["stream", "vip"])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    before = loadavg()
    result = stream(args.rate, args.seconds) if args.what == "stream" else vip(args.count)
    result["loadavg_before"] = before
    result["loadavg_after"] = loadavg()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
