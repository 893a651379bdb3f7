"""Key press → its effect on the screen, through a real terminal: the real app (`App.run()`)
in a tmux server of the benchmark's own at 160×50, keys sent with `send-keys` and the
screen read with `capture-pane` until the key's effect shows, over one tmux control-mode
client (no process per poll: a poll costs ≈ 0.3 ms, the resolution of the figures).

    .venv/bin/python bench/tui_keys_tmux.py [--rounds 40] [--size 160x50] [--out F.json]

The app is LabguideApp on the l4lb-ha chapter bound to local hosts, nothing running (no VIP
watcher): what is measured is the TUI's own work for each key. For each key the effect
waited for is written beside it below (a step's title in the step view, a modal's title, a
pane's new text). Prints, per key, n / median / p95 / max in ms, and with --tree DIR the
same for another checkout (e.g. a `git worktree` of an older commit), one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSION = "keys"


class Tmux:
    """A tmux server of our own and one control-mode client on it."""

    made = 0

    def __init__(self, command: str, size: tuple[int, int]) -> None:
        Tmux.made += 1
        self.socket = f"lgbench-keys-{os.getpid()}-{Tmux.made}"
        self.base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        subprocess.run([*self.base, "new-session", "-d", "-s", SESSION, "-x", str(size[0]),
                        "-y", str(size[1]), command], check=True)
        # tmux holds a lone Escape for 500 ms by default (escape-time): not the app's time
        subprocess.run([*self.base, "set", "-s", "escape-time", "0"], check=True)
        self.socket_path = subprocess.run(
            [*self.base, "display", "-p", "#{socket_path}"], capture_output=True, text=True,
            check=True).stdout.strip()
        # %output notifications tell when the app wrote to its terminal: the screen is read
        # then, not in a busy loop that would take the CPU the app needs (2 cores)
        self.ctl = subprocess.Popen([*self.base, "-C", "attach", "-t", SESSION],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buffer = b""
        self.wrote = False
        self._block()  # the attach command's own reply comes first
        self.ask("refresh-client -C " + f"{size[0]}x{size[1]}")

    def _line(self, timeout: float = 10.0) -> bytes:
        assert self.ctl.stdout is not None
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.ctl.stdout], [], [], timeout)
            if not ready:
                raise TimeoutError("tmux did not answer")
            chunk = os.read(self.ctl.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("tmux control client ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def ask(self, command: str) -> list[str]:
        """Run a tmux command; its output lines (between %begin and %end)."""
        assert self.ctl.stdin is not None
        self.ctl.stdin.write(command.encode() + b"\n")
        self.ctl.stdin.flush()
        return self._block()

    def _block(self) -> list[str]:
        """The next reply: the lines between %begin and %end (notifications skipped)."""
        out: list[str] = []
        inside = False
        while True:
            line = self._line()
            if not inside and line.startswith(b"%output"):
                self.wrote = True
            elif line.startswith(b"%begin"):
                inside = True
                out = []
            elif line.startswith((b"%end", b"%error")) and inside:
                return out
            elif inside:
                out.append(line.decode("utf-8", "replace"))

    def wait_output(self, timeout: float) -> None:
        """Until the app writes to its terminal (at once if it did since the last read)."""
        deadline = time.perf_counter() + timeout
        while not self.wrote:
            line = self._line(max(0.001, deadline - time.perf_counter()))
            self.wrote = line.startswith(b"%output")
        self.wrote = False

    def drain(self) -> None:
        """Forget what the app wrote so far (between commands only)."""
        while True:
            try:
                self._line(0)
            except TimeoutError:
                break
        self.wrote = False

    def screen(self) -> str:
        return "\n".join(self.ask(f"capture-pane -p -t {SESSION}"))

    def keys(self, *keys: str) -> None:
        self.ask(f"send-keys -t {SESSION} -- " + " ".join(shlex.quote(k) for k in keys))

    def close(self) -> None:
        try:
            subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)
        finally:
            self.ctl.kill()
            self.ctl.wait()
            if self.socket_path:  # tmux may leave its socket behind
                Path(self.socket_path).unlink(missing_ok=True)


def until(tmux: Tmux, seen: Callable[[str], bool], timeout: float = 5.0) -> float:
    """Read the screen each time the app writes to it, until `seen`; the time it took (s)."""
    t0 = time.perf_counter()
    while True:
        if seen(tmux.screen()):
            return time.perf_counter() - t0
        left = timeout - (time.perf_counter() - t0)
        try:
            tmux.wait_output(left)
        except TimeoutError:
            raise TimeoutError("the effect never showed:\n" + tmux.screen()) from None


def step_number(screen: str) -> int:
    found = re.search(r"Step (\d+)/\d+", screen)
    return int(found.group(1)) if found else -1


def stream_rate(screen: str) -> int:
    """The stream pane's chosen rate ('0/s of 10/s')."""
    found = re.search(r"\d/s +of (\d+)/s", screen)
    return int(found.group(1)) if found else -1


def press(tmux: Tmux, key: str, seen: Callable[[str], bool]) -> float:
    """Send a key and wait for its effect; ms from just before send-keys."""
    tmux.drain()
    t0 = time.perf_counter()
    tmux.keys(key)
    until(tmux, seen)
    return (time.perf_counter() - t0) * 1000


def moved(tmux: Tmux, key: str, by: int) -> float:
    """n/b/arrows: the step view shows the next (previous) step's number."""
    want = step_number(tmux.screen()) + by
    return press(tmux, key, lambda s: step_number(s) == want)


def measure(tmux: Tmux, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}

    def add(name: str, ms: float) -> None:
        out.setdefault(name, []).append(ms)
        time.sleep(0.12)  # a reader's pace between keys (≈ 8 keys/s)

    pairs = [("n", 1), ("b", -1)]
    try:  # arrows move through the steps since issue 18; an older tree: n and b only
        want = step_number(tmux.screen()) + 1
        tmux.keys("Down")
        until(tmux, lambda s: step_number(s) == want, timeout=1.5)
        tmux.keys("Up")
        until(tmux, lambda s: step_number(s) == want - 1, timeout=1.5)
        pairs += [("Down", 1), ("Up", -1)]
    except TimeoutError:
        pass
    for _ in range(rounds):
        for key, by in pairs:
            add(key, moved(tmux, key, by))
    for _ in range(rounds // 2):  # walking forward: texts shown for the first time
        add("n (forward)", moved(tmux, "n", 1))
    for _ in range(rounds // 2):
        add("b (back)", moved(tmux, "b", -1))
    for _ in range(rounds // 2):
        add("j (jump picker)", press(tmux, "j", lambda s: "Jump to a step" in s))
        add("Escape (close it)", press(tmux, "Escape", lambda s: "Jump to a step" not in s))
        before = stream_rate(tmux.screen())
        add("+ (rate)", press(tmux, "+", lambda s, b=before: stream_rate(s) > b))
        add("- (rate)", press(tmux, "-", lambda s, b=before: stream_rate(s) == b))
    extra = tmux_extra(tmux, rounds)
    for name, values in extra.items():
        out.setdefault(name, []).extend(values)
    return out


def tmux_extra(tmux: Tmux, rounds: int) -> dict[str, list[float]]:
    """The output pane's keys (issue 18, item 6), when the app has them: on a step with two
    hosts, `h` (one host's lines), `/` (a search typed into the border) and its Escape,
    `c` (copy the command: a notification)."""
    out: dict[str, list[float]] = {}
    if "h host" not in tmux.screen():
        return out
    while "on  l4lb-1   l4lb-2" not in tmux.screen() and step_number(tmux.screen()) < 40:
        moved(tmux, "n", 1)

    def add(name: str, ms: float) -> None:
        out.setdefault(name, []).append(ms)
        time.sleep(0.12)

    for _ in range(rounds // 2):
        add("h (one host)", press(tmux, "h", lambda s: "Output · host l4lb-1" in s))
        add("h (the other)", press(tmux, "h", lambda s: "Output · host l4lb-2" in s))
        add("h (all again)", press(tmux, "h", lambda s: "Output · host" not in s))
        add("/ (search)", press(tmux, "/", lambda s: "/▏" in s))
        add("a letter", press(tmux, "x", lambda s: "/x▏" in s))
        add("Escape (search)", press(tmux, "Escape", lambda s: "/x" not in s))
    for _ in range(max(1, rounds // 8)):
        add("c (copy)", press(tmux, "c", lambda s: "copied" in s))
        until(tmux, lambda s: "copied" not in s, timeout=10)
    return out


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "median": round(statistics.median(values), 1),
            "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def app_main() -> None:
    """The app, in the tmux pane (as `labguide run` starts it: launch's environment first)."""
    sys.path.insert(0, str(Path.cwd()))
    try:
        from labguide.tui.launch import key_settings
    except ImportError:  # an older tree
        pass
    else:
        key_settings(os.environ)
    from labguide.chapter import load_chapter
    from labguide.engine import Engine
    from labguide.inventory import Host, Inventory
    from labguide.plan import bind
    from labguide.tui.app import LabguideApp
    from labguide.tui.keymap import TuiSettings

    names = ("node1", "l4lb-1", "l4lb-2", "client")
    hosts = {n: Host(name=n, address="127.0.0.1", transport="local") for n in names}
    with tempfile.TemporaryDirectory(prefix="lgbench-keys-") as folder:
        plan = bind(load_chapter(Path("chapters/l4lb-ha.md")),
                    Inventory(hosts=hosts, path=Path(folder) / "inventory.toml"), {})
        LabguideApp(Engine(plan), settings=TuiSettings(), watch=False).run()


def one_tree(tree: Path, rounds: int, size: tuple[int, int]) -> dict[str, dict[str, float]]:
    env = f"PYTHONPATH={shlex.quote(str(tree))} LABGUIDE_CONFIG_DIR=/nonexistent-lgbench"
    command = (f"cd {shlex.quote(str(tree))} && env {env} {shlex.quote(sys.executable)} "
               f"{shlex.quote(str(Path(__file__).resolve()))} --app")
    tmux = Tmux(command, size)
    try:
        until(tmux, lambda s: step_number(s) == 1, timeout=30)
        time.sleep(1.0)
        found = measure(tmux, rounds)
        tmux.keys("q")  # the app ends by itself (its temporary folder with it)
        time.sleep(1.0)
    finally:
        tmux.close()
    return {name: summary(values) for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--size", default="160x50")
    parser.add_argument("--tree", action="append", default=[], type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.app:
        app_main()
        return
    width, height = (int(x) for x in args.size.split("x"))
    results = {}
    for tree in [ROOT, *args.tree]:
        results[str(tree)] = one_tree(tree, args.rounds, (width, height))
        print(f"{tree}  (load average {os.getloadavg()[0]:.2f})")
        for name, s in results[str(tree)].items():
            print(f"  {name:<20} n={s['n']:<4} median {s['median']:6.1f} ms  "
                  f"p95 {s['p95']:6.1f} ms  max {s['max']:6.1f} ms")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
