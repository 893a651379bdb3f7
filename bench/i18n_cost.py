"""What the interface's language costs: loading the compiled catalog, a lookup, measuring
text in cells instead of characters, `labguide --help` in English and Japanese, and what
compiling the .po at first use (babel at run time, the alternative to setup.py's build step)
would have cost every first run.

    .venv/bin/python bench/i18n_cost.py [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labguide import i18n  # noqa: E402
from labguide.cells import cut, ljust  # noqa: E402


def per_call(fn: object, n: int) -> float:
    """Median seconds per call of fn() over 5 batches of n."""
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()  # type: ignore[operator]
        batches.append((time.perf_counter() - t0) / n)
    return statistics.median(batches)


def wall(cmd: list[str], env: dict[str, str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(rounds: int) -> None:
    load = per_call(lambda: i18n.use("ja"), 200)
    with i18n.speaking("ja"):
        ja = per_call(lambda: i18n.gettext("exit status {status}"), 100_000)
    en = per_call(lambda: i18n.gettext("exit status {status}"), 100_000)
    i18n.use("en")
    rows = [(f"step-{n:02d}-keepalived-conf-l4lb1", "l4lb-1, l4lb-2",
             "l4lb-1でHAProxyが動いています") for n in range(70)]
    chars = per_call(lambda: [f"{a:<32} {b:<16} {c[:40]}" for a, b, c in rows], 200)
    cells = per_call(lambda: [f"{ljust(a, 32)} {ljust(b, 16)} {cut(c, 40)}" for a, b, c in rows],
                     200)
    print(f"catalog load (ja .mo, {i18n.catalog_path('ja').stat().st_size} bytes): "
          f"{load * 1e6:.0f} µs")
    print(f"one lookup: ja {ja * 1e9:.0f} ns, en {en * 1e9:.0f} ns")
    print(f"a 70-row check table: by characters {chars * 1e3:.3f} ms, by cells "
          f"{cells * 1e3:.3f} ms ({cells / chars:.1f}×)")
    base = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    cmd = [sys.executable, "-m", "labguide", "--help"]
    t_en = wall(cmd, {**base, "LANG": "C.UTF-8"}, rounds)
    t_ja = wall(cmd, {**base, "LANG": "ja_JP.UTF-8"}, rounds)
    print(f"labguide --help (median of {rounds}): en {t_en * 1e3:.0f} ms, ja {t_ja * 1e3:.0f} ms")
    po = ROOT / "labguide/locale/ja/LC_MESSAGES/labguide.po"
    code = ("import sys, time; t0 = time.perf_counter()\n"
            "from babel.messages.pofile import read_po\n"
            "from babel.messages.mofile import write_mo\n"
            f"cat = read_po(open({str(po)!r}, 'rb'))\n"
            "write_mo(open(sys.argv[1], 'wb'), cat)\n"
            "print(time.perf_counter() - t0)")
    with tempfile.TemporaryDirectory() as tmp:
        first = [float(subprocess.run([sys.executable, "-c", code, f"{tmp}/x.mo"],
                                      capture_output=True, text=True, check=True).stdout)
                 for _ in range(rounds)]
    print(f"compiling the .po at first use instead (import babel, read .po, write .mo; median "
          f"of {rounds}): {statistics.median(first) * 1e3:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
