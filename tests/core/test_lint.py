"""`labguide lint`: every load-time error of a chapter with its line, the author's warnings,
exit codes, text and JSON; the bundled chapters lint clean in every language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labguide.chapter import bundled_chapters
from labguide.chapter_files import translations
from labguide.lint import COMMENT, ERROR, LOGS_IN, WARNING, exit_code, lint_file

CLEAN = """\
+++
id = "tiny"
title = "A tiny chapter"
hosts = ["a", "b"]

[vars]
PORT = "80"
+++

# A tiny chapter

## Start a thing

```sh {on="a" id="start"}
sudo systemctl start thing --port ${PORT}
```

```sh {on="a, b" check id="thing-up" message="the thing runs"}
systemctl is-active thing
```

## Break it

```sh {on="b" disruptive id="stop" message="the thing is stopped on b"}
sudo systemctl stop thing
```

```sh {on="a" wait id="gone" timeout=10 message="a saw it go"}
! ping -c1 b
```
"""


def write(tmp_path: Path, text: str, name: str = "tiny.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


def lint(*args: str, **locale: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    return subprocess.run([sys.executable, "-m", "labguide", "lint", *args],
                          capture_output=True, text=True, timeout=60, encoding="utf-8",
                          env={**env, "PYTHONIOENCODING": "utf-8", **locale},
                          stdin=subprocess.DEVNULL)


def test_a_clean_chapter_has_no_findings_and_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN)
    assert lint_file(path) == []
    res = lint(str(path), "--strict")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 file linted: 0 errors, 0 warnings" in res.stdout


def test_every_error_is_reported_with_its_line_not_only_the_first(tmp_path: Path) -> None:
    text = (CLEAN
            .replace('```sh {on="a" id="start"}', '```sh {on="a" id="start" colour=red}')
            .replace("systemctl is-active thing", "systemctl is-active ${NOPE}")
            .replace('{on="b" disruptive id="stop"', '{on="c" disruptive id="stop"')
            .replace('id="gone"', 'id="thing-up"'))
    path = write(tmp_path, text)
    found = lint_file(path)
    errors = [(f.line, f.message) for f in found if f.severity == ERROR]
    lines = text.split("\n")
    line_of = {needle: next(n for n, ln in enumerate(lines, 1) if needle in ln)
               for needle in ("colour=red", "${NOPE}", 'on="c"', 'wait id="thing-up"')}
    assert [ln for ln, _ in errors] == sorted(line_of.values()), errors
    messages = " | ".join(m for _, m in errors)
    assert "unknown attribute 'colour'" in messages
    assert "undefined variable ${NOPE}" in messages
    assert "unknown host 'c'" in messages
    assert "step id 'thing-up' is used twice" in messages
    assert all(f.file == str(path) for f in found)
    assert exit_code(found, strict=False) == 1
    res = lint(str(path))
    assert res.returncode == 1
    assert f"{path}:{line_of['colour=red']}: error: unknown attribute 'colour'" in res.stdout


def test_an_error_in_the_front_matter_is_one_located_finding(tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN.replace('hosts = ["a", "b"]', 'hosts = "a"'))
    found = lint_file(path)
    assert [(f.severity, f.line) for f in found] == [(ERROR, 4)]
    assert "'hosts' must be a list" in found[0].message


def test_warnings_an_author_wants(tmp_path: Path) -> None:
    text = (CLEAN
            .replace('PORT = "80"', 'PORT = "80"\nUNUSED = "x"')
            .replace('hosts = ["a", "b"]', 'hosts = ["a", "b", "idle"]')
            .replace(' message="the thing is stopped on b"', "")
            .replace(" timeout=10", "")
            + '\n## Tidy up\n\n```sh {on="a" id="tidy"}\nrm -f /tmp/thing\n```\n'
            + '\n## Compare\n\n```sh {on="a" check id="same-conf"}\n[ "$(ssh b cat /etc/thing)" = '
              '"$(cat /etc/thing)" ]\n```\n')
    path = write(tmp_path, text)
    found = lint_file(path)
    assert all(f.severity == WARNING for f in found), found
    lines = text.split("\n")

    def line(needle: str) -> int:
        return next(n for n, ln in enumerate(lines, 1) if needle in ln)

    assert {(f.code, f.line) for f in found} == {
        ("no-check", line("## Tidy up")),
        ("wait-timeout", line('id="gone"')),
        ("disruptive-message", line('id="stop"')),
        ("unused-var", line("UNUSED =")),
        ("unused-host", line("hosts =")),
        ("check-logs-in", line('id="same-conf"')),
    }
    by_code = {f.code: f.message for f in found}
    assert "UNUSED" in by_code["unused-var"] and "idle" in by_code["unused-host"]
    assert "'same-conf' logs in from a to another host" in by_code["check-logs-in"]
    assert "'gone'" in by_code["wait-timeout"] and "60 s" in by_code["wait-timeout"]
    assert exit_code(found, strict=False) == 0 and exit_code(found, strict=True) == 1
    assert lint(str(path)).returncode == 0
    assert lint(str(path), "--strict").returncode == 1


def test_a_lead_in_section_whose_subsections_check_is_not_warned(tmp_path: Path) -> None:
    text = CLEAN.replace("## Break it\n", '## Break it\n\n```sh {on="a" id="prepare"}\n'
                         'true\n```\n\n### Now\n')
    found = lint_file(write(tmp_path, text))
    assert found == []
    text = CLEAN.replace("## Break it\n", '## Lonely\n\n```sh {on="a" id="prepare"}\n'
                         'true\n```\n\n## Break it\n')
    assert [f.code for f in lint_file(write(tmp_path, text))] == ["no-check"]


def test_json_lists_the_findings_and_the_counts(tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN.replace(" timeout=10", "").replace("${PORT}", "80"))
    res = lint(str(path), "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["files"] == [str(path)]
    assert (data["errors"], data["warnings"], data["exit_code"]) == (0, 2, 0)
    assert {f["code"] for f in data["findings"]} == {"wait-timeout", "unused-var"}
    first = data["findings"][0]
    assert set(first) == {"severity", "code", "file", "line", "message", "hint"}
    res = lint(str(path), "--format", "json", "--strict")
    assert res.returncode == 1 and json.loads(res.stdout)["exit_code"] == 1


def test_an_unreadable_file_and_an_unknown_name(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.md"
    bad.write_bytes(b"+++\ntitle = \"caf\xe9\"\n+++\n")
    found = lint_file(bad)
    assert [(f.severity, f.message) for f in found] == [(ERROR, "chapter is not UTF-8 text")]
    res = lint("no-such-chapter")
    assert res.returncode == 2 and "no chapter named 'no-such-chapter'" in res.stderr


def test_the_bundled_chapters_lint_clean_in_every_language() -> None:
    for path in bundled_chapters():
        for lang, file in translations(path).items():
            assert lint_file(file) == [], (lang, [str(f) for f in lint_file(file)])
    res = lint("l4lb-ha", "--strict")
    assert res.returncode == 0, res.stdout
    assert "2 files linted: 0 errors, 0 warnings" in res.stdout


def test_the_second_chapter_lints_clean_in_both_languages() -> None:
    """more-web, by its bundled name: its English file and its Japanese translation."""
    res = lint("more-web", "--strict")
    assert res.returncode == 0, res.stdout
    assert "2 files linted: 0 errors, 0 warnings" in res.stdout
    res = lint("more-web", "--lang", "ja", "--strict")  # the Japanese file, in Japanese
    assert res.returncode == 0, res.stdout
    assert "ファイル 1 件を検査: エラー 0 件、警告 0 件" in res.stdout, res.stdout


def test_findings_in_the_readers_language(tmp_path: Path) -> None:
    """The findings, hints and summary are labguide's words: Japanese for a Japanese reader
    (the codes and the file:line stay as they are, for tools)."""
    path = write(tmp_path, CLEAN.replace(" timeout=10", "").replace(
        ' message="the thing is stopped on b"', ""))
    res = lint(str(path), LANG="ja_JP.UTF-8")
    assert res.returncode == 0, res.stdout + res.stderr
    gone = next(n for n, ln in enumerate(CLEAN.split("\n"), 1) if 'id="gone"' in ln)
    assert f"{path}:{gone}: 警告: wait 'gone' に独自の timeout がありません" in res.stdout
    assert "[wait-timeout]" in res.stdout and "[disruptive-message]" in res.stdout
    assert "ヒント: 読者が最長でどれだけ待つかを書いてください" in res.stdout
    assert "ファイル 1 件を検査: エラー 0 件、警告 2 件" in res.stdout
    res = lint(str(path), "--format", "json", LANG="ja_JP.UTF-8")
    assert {f["severity"] for f in json.loads(res.stdout)["findings"]} == {"warning"}
    # an author's own chapter has no translation: --lang sets the findings' language only
    res = lint(str(path), "--lang", "ja")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ファイル 1 件を検査: エラー 0 件、警告 2 件" in res.stdout


@pytest.mark.parametrize("script, logs_in", [
    ('a=$(ssh ubuntu@b cat /etc/f | sha256sum)', True),
    ("ssh b true", True),
    ("/usr/bin/ssh b true", True),
    ("sudo ssh b true", True),
    ("timeout 5 ssh b true", True),
    ("if ssh b true; then echo up; fi", True),
    ("true && scp b:/etc/f /tmp", True),
    ("systemctl is-active ssh", False),
    ("journalctl -u ssh --since today | tail", False),
    ("grep -w ssh /etc/services", False),
    ("# ssh b would compare it, but here:\nsha256sum /etc/f", False),
    ('echo "not an ssh login"', False),
])
def test_check_logs_in_only_where_a_command_starts(script: str, logs_in: bool) -> None:
    assert bool(LOGS_IN.search(COMMENT.sub("", script))) is logs_in
