"""Choosing what runs (issue 18, item 2): --from/--to/--only with step or section ids,
--limit HOST for run and check, and "did you mean" for a mistyped id or host. The CLI runs
as a real process over the test sshd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.errors import LabguideError
from labguide.plan import bind
from labguide.selection import Selection, first_step, narrow, resolve
from tests.conftest import Sshd
from tests.core.test_cli import run

CHAPTER = """+++
id = "sel"
title = "Selection test"
hosts = ["a", "b"]
[vars]
DIR = "/tmp"
+++

## Prepare both

```sh {on="a, b" id="hello"}
echo "hello from $LABGUIDE_HOST_NAME"
```

```sh {on="a" check id="a-ok" message="a answers"}
echo a-ok
```

## Only on b

```sh {on="b" id="b-only"}
echo "b only"
```

```sh {on="a, b" check id="both-ok" message="both answer"}
echo both-ok
```

## Last

```sh {on="a" id="last"}
echo last
```
"""


def chapter(tmp_path: Path) -> Path:
    path = tmp_path / "sel.md"
    path.write_text(CHAPTER.replace("$LABGUIDE_HOST_NAME", "${DIR}"))
    return path


def lab(tmp_path: Path, sshd: Sshd) -> tuple[Path, Path]:
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a") + "\n" + sshd.inventory_host("b"))
    return chapter(tmp_path), inv


def test_section_ids_stand_for_their_steps_and_names_are_checked(tmp_path: Path) -> None:
    ch = parse_chapter(CHAPTER, tmp_path / "sel.md")
    chosen = resolve(ch, Selection(start="only-on-b", stop="only-on-b"))
    assert (chosen.start, chosen.stop) == ("b-only", "both-ok")
    chosen = resolve(ch, Selection(only=("prepare-both", "last")))
    assert chosen.only == {"hello", "a-ok", "last"}
    with pytest.raises(LabguideError) as err:
        resolve(ch, Selection(only=("only-on-c",)))
    assert "no step or section 'only-on-c'" in str(err.value)
    assert "did you mean 'only-on-b'?" in str(err.value)
    with pytest.raises(LabguideError) as err:
        resolve(ch, Selection(start="hello-x"))
    assert "[--from]" in str(err.value) and "'hello'" in str(err.value)
    with pytest.raises(LabguideError) as err:
        resolve(ch, Selection(limit=("bb",)))
    assert "no host 'bb'" in str(err.value) and "did you mean 'b'?" in str(err.value)
    with pytest.raises(LabguideError, match="comes after --to"):
        resolve(ch, Selection(start="last", stop="hello"))


def test_limit_narrows_steps_to_its_hosts_and_marks_them_partial(tmp_path: Path) -> None:
    ch = parse_chapter(CHAPTER, tmp_path / "sel.md")
    plan = narrow(bind(ch, None), resolve(ch, Selection(limit=("b",))))
    assert [(b.id, b.step.hosts) for b in plan.steps] == [
        ("hello", ("b",)), ("b-only", ("b",)), ("both-ok", ("b",))]
    assert plan.partial == {"hello", "both-ok"}
    chosen = resolve(ch, Selection(start="a-ok", limit=("b",)))
    plan = narrow(bind(ch, None), chosen)
    assert first_step(plan, chosen) == "b-only"  # --from a step left out: the next one kept
    with pytest.raises(LabguideError, match="nothing to run"):
        narrow(bind(ch, None), resolve(ch, Selection(only=("last",), limit=("b",))))


def test_a_plain_run_of_a_section_on_one_host(tmp_path: Path, sshd: Sshd) -> None:
    chapter_path, inv = lab(tmp_path, sshd)
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    res = run("run", str(chapter_path), "--plain", "--inventory", str(inv),
              "--only", "only-on-b", "--limit", "b", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "b | b only" in res.stdout and "b | both-ok" in res.stdout
    assert "a |" not in res.stdout and "hello" not in res.stdout
    assert "not saved as the step's result" in res.stdout
    state = json.loads(next((tmp_path / "state").rglob("state.json")).read_text())
    assert state["steps"]["b-only"]["status"] == "passed"
    assert "both-ok" not in state["steps"]  # ran on b only: not the step's result


def test_to_stops_and_from_takes_a_section(tmp_path: Path, sshd: Sshd) -> None:
    chapter_path, inv = lab(tmp_path, sshd)
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    res = run("run", str(chapter_path), "--plain", "--inventory", str(inv), "--to", "a-ok",
              env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "a | a-ok" in res.stdout and "b only" not in res.stdout
    res = run("run", str(chapter_path), "--plain", "--inventory", str(inv), "--from", "last",
              env=env)
    assert "a | last" in res.stdout and "b only" not in res.stdout


def test_check_with_limit_and_only(tmp_path: Path, sshd: Sshd) -> None:
    chapter_path, inv = lab(tmp_path, sshd)
    res = run("check", str(chapter_path), "--inventory", str(inv), "--format", "json",
              "--limit", "b")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert [(c["id"], c["hosts"]) for c in report["checks"]] == [("both-ok", ["b"])]
    res = run("check", str(chapter_path), "--inventory", str(inv), "--format", "json",
              "--only", "a-ok")
    assert [c["id"] for c in json.loads(res.stdout)["checks"]] == ["a-ok"]
    res = run("check", str(chapter_path), "--inventory", str(inv), "--only", "a-okk")
    assert res.returncode == 2 and "did you mean 'a-ok'?" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_translation_takes_the_english_section_ids(tmp_path: Path) -> None:
    english = chapter(tmp_path)
    ja = tmp_path / "sel.ja.md"
    ja.write_text(english.read_text().replace("## Prepare both", "## 準備")
                  .replace("## Only on b", "## b だけ").replace("## Last", "## 最後"))
    res = run("run", str(ja), "--dry-run", "--only", "only-on-b")
    assert res.returncode == 0, res.stderr
    assert "[b-only]" in res.stdout and "[hello]" not in res.stdout


def test_an_unknown_host_for_ssh_says_what_is_close(tmp_path: Path, sshd: Sshd) -> None:
    _chapter, inv = lab(tmp_path, sshd)
    res = run("ssh", "--inventory", str(inv), "aa", "true")
    assert res.returncode == 2 and "did you mean 'a'?" in res.stderr


async def test_the_tui_walks_the_chosen_steps_only(tmp_path: Path) -> None:
    from labguide.engine import Engine
    from labguide.tui.app import make_app
    from labguide.tui.keymap import TuiSettings

    ch = parse_chapter(CHAPTER, tmp_path / "sel.md")
    chosen = resolve(ch, Selection(only=("only-on-b", "last")))
    plan = narrow(bind(ch, None), chosen)
    app = make_app(Engine(plan), start=first_step(plan, chosen), settings=TuiSettings(),
                   watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.current == "b-only"
        assert list(app.step_tree.nodes) == ["b-only", "both-ok", "last"]
        for _ in range(4):
            await pilot.press("n")
        assert app.current == "last"
        await pilot.press("q")
