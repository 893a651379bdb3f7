"""Choosing a chapter's language: `--lang`, else the locale (LC_ALL, LC_MESSAGES, LANG), else
English; `list` and `show` name the languages; results and resume are shared across them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labguide.chapter import find_chapter, load_chapter
from labguide.chapter_files import locale_lang, pick_translation, split_name, translations
from labguide.errors import LabguideError
from tests.conftest import Sshd

LABGUIDE = [sys.executable, "-m", "labguide"]
LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
EN_TITLE = "Make the load balancer highly available"
JA_TITLE = "L4ロードバランサを高可用化する"


def run(*args: str, locale: dict[str, str] | None = None, state: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    """labguide as a process, with exactly the locale variables given (none by default)."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE}
    env.update(locale or {})
    env["PYTHONIOENCODING"] = "utf-8"
    if state is not None:
        env["LABGUIDE_STATE_DIR"] = str(state)
    return subprocess.run([*LABGUIDE, *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL, encoding="utf-8")


@pytest.mark.parametrize(("name", "want"), [
    ("l4lb-ha.md", ("l4lb-ha", "en")), ("l4lb-ha.ja.md", ("l4lb-ha", "ja")),
    ("a.b.md", ("a.b", "en")), ("x.fil.md", ("x", "fil")), ("x.JA.md", ("x.JA", "en")),
    (".ja.md", (".ja", "en"))])
def test_file_names(name: str, want: tuple[str, str]) -> None:
    assert split_name(Path(name)) == want


@pytest.mark.parametrize(("env", "want"), [
    ({}, None), ({"LANG": "ja_JP.UTF-8"}, "ja"), ({"LANG": "C.UTF-8"}, None),
    ({"LANG": "POSIX"}, None), ({"LANG": "de_DE@euro"}, "de"),
    ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, None),          # LC_ALL wins
    ({"LC_ALL": "", "LC_MESSAGES": "ja_JP", "LANG": "en_US.UTF-8"}, "ja"),  # empty = unset
    ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),
    ({"LANG": "ja"}, "ja"), ({"LANG": "../../etc"}, None)])
def test_locale(env: dict[str, str], want: str | None) -> None:
    assert locale_lang(env) == want


def test_translations_are_found_beside_the_file(tmp_path: Path) -> None:
    for name in ("t.md", "t.ja.md", "t.de.md", "tt.fr.md", "t.notes.md"):
        (tmp_path / name).write_text("x")
    got = translations(tmp_path / "t.ja.md")
    assert list(got) == ["en", "de", "ja"] and got["en"] == tmp_path / "t.md"
    assert pick_translation(tmp_path / "t.md", "de") == tmp_path / "t.de.md"
    assert pick_translation(tmp_path / "t.md", "fr", fallback=True) == tmp_path / "t.md"
    with pytest.raises(LabguideError) as err:
        pick_translation(tmp_path / "t.md", "fr")
    assert str(err.value).startswith(f"{tmp_path / 't.md'}: chapter t has no translation 'fr'")
    assert "it has: en, de, ja" in str(err.value)


def test_bundled_lookup() -> None:
    en = find_chapter("l4lb-ha")
    assert en.name == "l4lb-ha.md"  # a bundled name without --lang: English, whatever the locale
    assert find_chapter("l4lb-ha", "ja").name == "l4lb-ha.ja.md"
    assert find_chapter("l4lb-ha", "ko", fallback=True) == en
    with pytest.raises(LabguideError, match="no chapter named 'l4lb-ha.ja'"):
        find_chapter("l4lb-ha.ja")  # a translation is not a chapter of its own
    assert load_chapter(find_chapter("l4lb-ha", "ja")).id == "l4lb-ha"


def test_list_names_the_languages() -> None:
    res = run("list")
    assert res.returncode == 0, res.stderr
    assert EN_TITLE in res.stdout and "languages: en, ja" in res.stdout
    assert res.stdout.count("l4lb-ha") == 1  # one line per chapter, not per file
    res = run("list", locale={"LANG": "ja_JP.UTF-8"})  # the interface in Japanese too
    assert JA_TITLE in res.stdout and "言語: en, ja" in res.stdout


def test_show_by_flag_and_by_locale() -> None:
    for args, locale, title, shown in [
            (["--lang", "ja"], {}, JA_TITLE, "ja"),
            (["--lang", "ja_JP.UTF-8"], {}, JA_TITLE, "ja"),
            (["--lang", "JA"], {}, JA_TITLE, "ja"),
            (["--lang", "en"], {"LANG": "ja_JP.UTF-8"}, EN_TITLE, "en"),
            ([], {"LANG": "ja_JP.UTF-8"}, JA_TITLE, "ja"),
            ([], {"LC_ALL": "C.UTF-8", "LANG": "ja_JP.UTF-8"}, EN_TITLE, "en"),
            ([], {"LC_MESSAGES": "ja_JP.UTF-8"}, JA_TITLE, "ja"),
            ([], {"LANG": "fr_FR.UTF-8"}, EN_TITLE, "en"),  # no French: English
            ([], {}, EN_TITLE, "en")]:
        res = run("show", "l4lb-ha", *args, locale=locale)
        assert res.returncode == 0, (args, locale, res.stderr)
        first = res.stdout.splitlines()[0]
        assert first.startswith(title), (args, locale, first)
        said = ("言語: en, ja（表示中: {shown}）" if shown == "ja"
                else "languages: en, ja (shown: {shown})")
        assert said.format(shown=shown) in res.stdout, (args, locale)
    res = run("show", "l4lb-ha", "--lang", "ja")
    assert "始める前に" in res.stdout and "前提: node1（Proxmox VE）" in res.stdout


def test_a_language_the_chapter_lacks_is_a_clear_error() -> None:
    for cmd in (["show", "l4lb-ha"], ["run", "l4lb-ha", "--dry-run"], ["check", "l4lb-ha"]):
        res = run(*cmd, "--lang", "xx")
        assert res.returncode == 2, (cmd, res.stdout, res.stderr)
        assert "chapter l4lb-ha has no translation 'xx'; it has: en, ja" in res.stderr, cmd
        assert "Traceback" not in res.stderr


def test_dry_run_and_check_in_japanese(tmp_path: Path) -> None:
    res = run("run", "l4lb-ha", "--dry-run", "--lang", "ja")
    assert res.returncode == 0, res.stderr
    assert "## node1でl4lb-2を作る" in res.stdout
    assert "# l4lb-1がVIP 192.168.16.140 を持っています" in res.stdout
    assert "$ qm clone 999 501 --name l4lb-2 --full" in res.stdout  # the commands are the same
    en = run("run", "l4lb-ha", "--dry-run", "--lang", "en")
    commands = [ln for ln in en.stdout.splitlines() if ln.startswith("    ")]
    assert commands == [ln for ln in res.stdout.splitlines() if ln.startswith("    ")]
    # check takes --lang too (here it stops at the missing inventory, after the language)
    res = run("check", "l4lb-ha", "--lang", "ja", "--inventory", str(tmp_path / "none.toml"))
    assert res.returncode == 2 and "none.toml" in res.stderr and "translation" not in res.stderr


CHAPTER = """+++
id = "{id}"
title = "{title}"
hosts = ["box"]
[vars]
MARK = "{mark}"
+++

## {first}

{prose}

```sh {{on="box" id="make"}}
echo made
```

## {second}

```sh {{on="box" check id="marked" message="{message}"}}
test -e "${{MARK}}"
```

```sh {{on="box" id="after"}}
echo after
```
"""


def write_pair(folder: Path, mark: Path, ja_id: str = "pair") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pair.md").write_text(CHAPTER.format(
        id="pair", title="Pair", mark=mark, first="Make", second="Check", prose="Make it.",
        message="the mark is there"), encoding="utf-8")
    (folder / "pair.ja.md").write_text(CHAPTER.format(
        id=ja_id, title="ペア", mark=mark, first="作る", second="確かめる", prose="作ります。",
        message="印があります"), encoding="utf-8")
    return folder / "pair.md"


def test_results_and_resume_are_shared_across_languages(tmp_path: Path, sshd: Sshd) -> None:
    mark = tmp_path / "mark"
    chapter = write_pair(tmp_path / "ch", mark)
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    state = tmp_path / "state"
    res = run("run", str(chapter), "--plain", "--inventory", str(inv), state=state)
    assert res.returncode == 1 and "FAIL marked (" in res.stdout, res.stdout + res.stderr
    mark.touch()
    # the same run, in Japanese: it resumes where the English one stopped
    res = run("run", str(chapter), "--plain", "--inventory", str(inv), "--lang", "ja",
              state=state)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "marked から再開します: 1 ステップは完了済みです" in res.stdout
    assert "== 確かめる" in res.stdout and "印があります" in res.stdout
    assert "made" not in res.stdout  # the first step was not run again
    # one state file for both, keyed by the chapter id, not by the file name
    files = list(state.rglob("state.json"))
    assert len(files) == 1 and files[0].parent.name.startswith("pair-")
    saved = json.loads(files[0].read_text())
    assert saved["chapter"] == "pair" and set(saved["steps"]) == {"make", "marked", "after"}
    # and the file of the translation, named directly, shares it too
    res = run("run", str(tmp_path / "ch" / "pair.ja.md"), "--plain", "--inventory", str(inv),
              state=state)
    assert res.returncode == 0, res.stdout + res.stderr
    assert list(state.rglob("state.json")) == files


def test_a_translation_must_keep_the_chapter_id(tmp_path: Path) -> None:
    chapter = write_pair(tmp_path / "ch", tmp_path / "mark", ja_id="pair-ja")
    res = run("run", str(chapter), "--dry-run", "--lang", "ja")
    assert res.returncode == 2
    assert res.stderr.startswith(f"labguide: {tmp_path / 'ch' / 'pair.ja.md'} [id]:"), res.stderr
    assert "'pair-ja'" in res.stderr and "'pair'" in res.stderr


def test_a_translation_without_an_id_takes_the_chapter_name(tmp_path: Path) -> None:
    folder = tmp_path / "ch"
    write_pair(folder, tmp_path / "mark")
    ja = folder / "pair.ja.md"
    ja.write_text(ja.read_text(encoding="utf-8").replace('id = "pair"\n', ""), encoding="utf-8")
    assert load_chapter(ja).id == "pair"
