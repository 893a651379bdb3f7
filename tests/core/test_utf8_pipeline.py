"""Japanese and other non-ASCII text through the whole pipeline, over a real sshd: a chapter
with Japanese prose, headings, messages and hints, run with a value in Japanese (with a
combining mark, the ideographic space U+3000, an emoji ZWJ sequence, right-to-left text
and a direction override), then checked with --format json and junit.

What comes back, byte for byte:
- plain output, JUnit XML and the transcript (JSON Lines, `ensure_ascii=False`: a file for
  people to read and grep) carry the text as UTF-8 bytes, never `\\u` escapes;
- state.json and the JSON check report are ASCII JSON (`\\u` escapes, json's default): any
  consumer can read them whatever its encoding, and json.loads gives back the same text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import Sshd

LABGUIDE = [sys.executable, "-m", "labguide"]
VALUE = "値\u3000か\u3099 👩\u200d💻 שלום \u202eabc\u202c 🇯🇵"
HEADING = "日本語の節\u3000その一"
MESSAGE = "値は {v} です"
HINT = "ヒント：印のファイル {m} を消してください 😀"

CHAPTER = """+++
id = "utf8"
title = "日本語の章"
hosts = ["box"]
[vars]
NAME = "既定値"
MARK = "{mark}"
+++

# 日本語の章

## {heading}

最初の手順です。値を表示します（ﾊﾝｶｸ、e\u0301、مرحبا）。

```sh {{on="box" id="hello" title="挨拶"}}
echo "こんにちは ${{NAME}}"
```

```sh {{on="box" check id="value" message="{message}" hint="{hint}"}}
if [ -e "${{MARK}}" ]; then echo "失敗: ${{NAME}}"; exit 1; fi
printf '%s\\n' "${{NAME}}"
```
"""


def test_every_byte_comes_back(tmp_path: Path, sshd: Sshd) -> None:
    mark = tmp_path / "印"
    chapter = tmp_path / "utf8.md"
    chapter.write_text(CHAPTER.format(mark=mark, heading=HEADING,
                                      message=MESSAGE.format(v="${NAME}"),
                                      hint=HINT.format(m="${MARK}")), encoding="utf-8")
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    state = tmp_path / "state"
    env = {**{k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")},
           "LANG": "ja_JP.UTF-8", "LABGUIDE_STATE_DIR": str(state)}

    def labguide(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*LABGUIDE, *args, "--inventory", str(inv), "--set",
                               f"NAME={VALUE}"], capture_output=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)

    res = labguide("run", str(chapter), "--plain", "--yes")
    assert res.returncode == 0, res.stderr.decode("utf-8", "replace")
    out = res.stdout
    message = MESSAGE.format(v=VALUE)
    for text in (HEADING, f"box | こんにちは {VALUE}", f"box | {VALUE}",
                 "PASS value (", message):
        assert text.encode("utf-8") in out, text
    out.decode("utf-8")  # strict: nothing else in it but UTF-8

    # the transcript: UTF-8 as is, no escapes
    transcript = next(state.rglob("transcript.jsonl")).read_bytes()
    assert f"こんにちは {VALUE}".encode() in transcript and message.encode() in transcript
    assert b"\\u" not in transcript
    records = [json.loads(line) for line in transcript.decode("utf-8").splitlines()]
    assert {r["line"] for r in records if r["event"] == "output"} >= {
        f"こんにちは {VALUE}", VALUE}
    # state.json: ASCII JSON, the same text once read
    saved = json.loads(next(state.rglob("state.json")).read_bytes().decode("ascii"))
    assert saved["steps"]["value"]["message"] == message

    mark.touch()  # now the check fails, and says so in Japanese
    res = labguide("check", str(chapter), "--format", "json")
    assert res.returncode == 1, res.stderr.decode("utf-8", "replace")
    report = json.loads(res.stdout.decode("ascii"))
    (value,) = [c for c in report["checks"] if c["id"] == "value"]
    assert value["status"] == "failed" and f"失敗: {VALUE}" in json.dumps(value,
                                                                        ensure_ascii=False)
    assert HINT.format(m=mark) in json.dumps(report, ensure_ascii=False)

    res = labguide("check", str(chapter), "--format", "junit")
    assert res.returncode == 1
    xml = res.stdout
    assert f"失敗: {VALUE}".encode() in xml and HEADING.encode() in xml
    root = ET.fromstring(xml)
    failure = root.find(".//testcase/failure")
    assert failure is not None and f"失敗: {VALUE}" in (
        (failure.get("message") or "") + (failure.text or ""))
    suites = {s.get("name") for s in root.iter("testsuite")}
    assert HEADING in suites


def test_a_value_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Bytes from a terminal in another encoding (here Latin-1 'é') used to crash the run
    with a traceback when the transcript was written; now --set refuses them up front."""
    chapter = tmp_path / "utf8.md"
    chapter.write_text(CHAPTER.format(mark=tmp_path / "m", heading=HEADING, message="m",
                                      hint="h"), encoding="utf-8")
    inv = tmp_path / "inv.toml"
    inv.write_text('[hosts.box]\ntransport = "local"\n')
    res = subprocess.run([*LABGUIDE, "run", str(chapter), "--plain", "--inventory", str(inv),
                          "--set", b"NAME=caf\xe9".decode("utf-8", "surrogateescape")],
                         capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                         env={**os.environ, "LABGUIDE_STATE_DIR": str(tmp_path / "state")})
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == 2 and "Traceback" not in err, err
    assert err.startswith("labguide: [--set]: --set NAME: the value is not UTF-8 text"), err
