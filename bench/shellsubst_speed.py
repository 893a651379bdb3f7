"""How long putting values into the bundled chapter's scripts takes (shellsubst), and a
200 KB script; with a git revision, that revision's shellsubst.py side by side, same run.

    .venv/bin/python bench/shellsubst_speed.py [REV]

Best of 5 rounds of 30 passes each; prints a Markdown table. docs/benchmarks.md records a run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labguide import shellsubst  # noqa: E402
from labguide.chapter import find_chapter, load_chapter  # noqa: E402

Subst = Callable[[str, Mapping[str, str]], str]


def from_revision(rev: str) -> Subst:
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:labguide/shellsubst.py"],
                          check=True, capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(text)
    spec = importlib.util.spec_from_file_location("shellsubst_at_rev", fh.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["shellsubst_at_rev"] = module
    spec.loader.exec_module(module)
    Path(fh.name).unlink()
    return module.substitute_shell  # type: ignore[no-any-return]


def best(f: Subst, scripts: list[str], values: Mapping[str, str], passes: int = 30) -> float:
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(passes):
            for script in scripts:
                f(script, values)
        times.append((time.perf_counter() - t0) / passes)
    return min(times)


def main() -> None:
    chapter = load_chapter(find_chapter("l4lb-ha"))
    scripts = [s.body for s in chapter.steps if s.lang in ("sh", "bash", "shell", "qm")]
    big = ["x='" + "y" * 200_000 + "'\necho ${VIP} \"${VIP}\"\n"]
    values = dict(chapter.vars)
    runs: list[tuple[str, Subst]] = [("this tree", shellsubst.substitute_shell)]
    if len(sys.argv) > 1:
        runs.append((sys.argv[1], from_revision(sys.argv[1])))
    print(f"| shellsubst | chapter ({len(scripts)} scripts, "
          f"{sum(map(len, scripts))} chars) | one 200 KB script |")
    print("|---|---|---|")
    for name, f in runs:
        print(f"| {name} | {best(f, scripts, values) * 1000:.2f} ms "
              f"| {best(f, big, values, 3) * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
