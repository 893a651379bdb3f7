"""Plain mode in a log (issue 18, item 7): one greppable line per step result, the failed
steps with their hints at the end, and a "resume with" hint that names the chapter as it was
given. A real process over the test sshd."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Sshd
from tests.core.test_cli import run

CHAPTER = """+++
id = "plainlog"
title = "Plain log test"
hosts = ["a"]
+++

## Steps

```sh {on="a" id="says-hello"}
echo hello
```

```sh {on="a" check id="a-check" message="true is true"}
true
```

```sh {on="a" id="breaks" hint="create the marker, then run again"}
echo "no marker" >&2; exit 3
```

```sh {on="a" id="never"}
echo never
```
"""


def test_each_result_is_one_line_and_the_summary_lists_failures(tmp_path: Path,
                                                                 sshd: Sshd) -> None:
    (tmp_path / "my.md").write_text(CHAPTER)
    (tmp_path / "inv.toml").write_text(sshd.inventory_host("a"))
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    res = run("run", "./my.md", "--plain", "--inventory", "inv.toml", cwd=tmp_path, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    results = re.findall(r"^(PASS|FAIL|WARN|SKIP) (\S+) \(\d+\.\d s\)(.*)$", res.stdout, re.M)
    assert [(word, sid) for word, sid, _ in results] == [
        ("PASS", "says-hello"), ("PASS", "a-check"), ("FAIL", "breaks")]
    assert results[1][2] == " — true is true"
    summary = res.stdout.split("\n2 passed, 1 failed — run failed\n", 1)[1]
    assert summary.startswith("FAIL breaks — ")
    assert "     hint: create the marker, then run again\n" in summary
    # the chapter as given: a path stays a path (its id, "plainlog", would find nothing)
    assert "resume with: labguide run ./my.md --plain (continues at breaks) or --from " \
           "breaks" in summary
    odd = tmp_path / "my lab.md"
    odd.write_text(CHAPTER)
    res = run("run", str(odd), "--plain", "--inventory", "inv.toml", cwd=tmp_path, env=env)
    assert f"resume with: labguide run '{odd}' --plain" in res.stdout
