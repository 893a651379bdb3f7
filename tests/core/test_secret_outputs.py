"""A secret from the inventory, used in a step's command, message and hint, never shows: not in
the plain output, the dry run, the --check reports (table, JSON, JUnit), the state and
transcripts, nor on any TUI screen (step view, confirmation, output, failure panel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labguide.chapter import load_chapter, parse_chapter
from labguide.engine import Engine
from labguide.errors import LabguideError
from labguide.inventory import load_inventory, parse_inventory
from labguide.plan import bind
from labguide.redact import MASK, Redactor
from labguide.state import RunState, Transcript
from labguide.tui.app import make_app
from labguide.tui.keymap import TuiSettings
from tests.conftest import Sshd

SECRET = "Tok3n-7f2c9e1b-do-not-show"
CHAPTER = """+++
id = "sec"
title = "Secrets stay hidden"
hosts = ["a"]
[vars]
TOKEN = "placeholder"
+++

## Use the token

```sh {on="a" id="use" disruptive title="log in with ${TOKEN}" hint="the token: ${TOKEN}"}
echo "token=${TOKEN}" ${TOKEN}
```

```sh {on="a" check id="verify" message="the token ${TOKEN} works" hint="export T=${TOKEN}"}
echo "checking ${TOKEN}" >&2; exit 1
```
"""


def write_lab(tmp_path: Path, sshd: Sshd) -> tuple[Path, Path]:
    chapter = tmp_path / "sec.md"
    chapter.write_text(CHAPTER)
    inv = tmp_path / "inv.toml"
    inv.write_text('[vars]\nTOKEN = { env = "LGT_SECRET_TOKEN", secret = true }\n\n'
                   + sshd.inventory_host("a"))
    return chapter, inv


def labguide(*args: str, state: Path) -> str:
    res = subprocess.run([sys.executable, "-m", "labguide", *args], capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL,
                         env={**os.environ, "LGT_SECRET_TOKEN": SECRET,
                              "LABGUIDE_STATE_DIR": str(state)})
    assert "Traceback" not in res.stderr, res.stderr
    return res.stdout + res.stderr


def test_every_command_line_output_and_file_masks_the_secret(tmp_path: Path,
                                                               sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    state = tmp_path / "state"
    outputs = {
        "plain run": labguide("run", str(chapter), "--plain", "--yes", "--inventory", str(inv),
                              state=state),
        "dry run": labguide("run", str(chapter), "--dry-run", "--inventory", str(inv),
                            state=state),
    }
    for fmt in ("table", "json", "junit"):
        outputs[f"--check {fmt}"] = labguide("run", str(chapter), "--check", "--format", fmt,
                                             "--inventory", str(inv), state=state)
    assert "token=" in outputs["plain run"] and "checking" in outputs["plain run"]
    assert "export T=" in outputs["--check json"]
    for name, text in outputs.items():
        assert SECRET not in text, name
        assert MASK in text or "\\u2022" * 6 in text, name  # it was there, masked
    files = [p for p in state.rglob("*") if p.is_file()]
    assert files
    for f in files:
        assert SECRET not in f.read_text(errors="replace"), f


async def test_no_tui_screen_shows_the_secret(tmp_path: Path, sshd: Sshd,
                                              monkeypatch: object) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    os.environ["LGT_SECRET_TOKEN"] = SECRET
    try:
        plan = bind(load_chapter(chapter), load_inventory(inv))
    finally:
        del os.environ["LGT_SECRET_TOKEN"]
    assert SECRET in plan.bound("use").script  # what runs has the real value
    folder = tmp_path / "run"
    folder.mkdir()
    engine = Engine(plan, state=RunState.load(folder / "state.json", "sec"),
                    transcript=Transcript(folder / "t.jsonl"))
    app = make_app(engine, settings=TuiSettings(), watch=False)
    screens: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screens.append(app.export_screenshot())  # the step view of "use"
        await pilot.press("r")  # disruptive: the confirmation shows the command
        await pilot.pause()
        screens.append(app.export_screenshot())
        await pilot.press("y")
        for _ in range(100):
            await pilot.pause(0.05)
            if engine.results.get("use") is not None and app.current == "verify":
                break
        screens.append(app.export_screenshot())  # output of "use", step view of "verify"
        await pilot.press("r")
        for _ in range(100):
            await pilot.pause(0.05)
            if engine.results.get("verify") is not None:
                break
        await pilot.pause(0.2)
        screens.append(app.export_screenshot())  # the failure panel with the hint
        await pilot.press("q")
    await engine.close()
    assert engine.results["use"].status.value == "passed"
    assert engine.results["verify"].status.value == "failed"
    for n, svg in enumerate(screens):
        text = svg.replace("&#160;", " ")
        assert SECRET not in text, n
    assert any(MASK in s for s in screens)


PEM = ("-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
       "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6\n-----END TEST KEY-----")
PATH_TOKEN = "dir-Zq81-secret"
FILE_CHAPTER = """+++
id = "pem"
title = "A multi-line secret in a file"
hosts = ["a"]
[vars]
DIR = "/tmp"
SUB = "placeholder"
[vars.CERT]
default = "placeholder"
multiline = true
+++

## Install the key

```pem {on="a" id="key" path="${DIR}/${SUB}/key.pem" mode="0600"}
# the key
${CERT}
```
"""


def test_a_multi_line_secret_and_a_secret_in_a_path_never_show(tmp_path: Path,
                                                                sshd: Sshd) -> None:
    """Masking was per line and the file step's diff was built from the real text: each line
    of a PEM secret showed in the diff, the transcript and state.json, and a secret in path=
    showed in the 'wrote …' message."""
    chapter = tmp_path / "pem.md"
    chapter.write_text(FILE_CHAPTER)
    (tmp_path / "cert.pem").write_text(PEM + "\n")
    (tmp_path / "cert.pem").chmod(0o600)
    inv = tmp_path / "inv.toml"
    inv.write_text('[vars]\nCERT = { file = "cert.pem", secret = true }\n'
                   f'SUB = {{ value = "{PATH_TOKEN}", secret = true }}\n\n'
                   + sshd.inventory_host("a"))
    state = tmp_path / "state"
    target = tmp_path / "target"
    out = labguide("run", str(chapter), "--plain", "--yes", "--inventory", str(inv),
                   "--set", f"DIR={target}", state=state)
    out += labguide("run", str(chapter), "--dry-run", "--inventory", str(inv),
                    "--set", f"DIR={target}", state=state)
    written = target / PATH_TOKEN / "key.pem"
    assert written.read_text() == f"# the key\n{PEM}\n"  # what was written has the real values
    assert "wrote" in out and "+# the key" in out, out  # the diff and the message were shown
    secret_lines = [*PEM.splitlines(), PATH_TOKEN]
    texts = {"output": out, **{str(f): f.read_text() for f in state.rglob("*") if f.is_file()}}
    assert any(name.endswith("transcript.jsonl") for name in texts), texts.keys()
    for name, text in texts.items():
        for line in secret_lines:
            assert line not in text, (name, line)
    assert MASK in out


def test_the_redactor_masks_a_multi_line_secret_whole_and_line_by_line() -> None:
    redact = Redactor([PEM])
    assert redact(f"a\n{PEM}\nb") == f"a\n{MASK}\nb"
    for line in PEM.splitlines():
        assert redact(f"+{line}") == f"+{MASK}"
    assert redact("ab\n\ncd") == "ab\n\ncd"  # short and empty lines are not secrets


def test_a_secret_too_short_to_mask_is_refused_with_its_key(tmp_path: Path) -> None:
    for value in ("abc", "", "long enough\nab\nlong enough too"):
        with pytest.raises(LabguideError) as err:
            parse_inventory(f"[vars]\nX = 1\nPIN = {{ value = {json.dumps(value)}, "
                            "secret = true }\n", Path("inv.toml"), {})
        text = str(err.value)
        assert text.startswith("inv.toml:3 [vars.PIN]: variable PIN: "), text


KEEPALIVED_CHAPTER = """+++
id = "kc"
title = "A secret in a keepalived.conf"
hosts = ["a"]
[vars]
DIR = "/tmp"
+++

## Check

```keepalived {on="a" check id="conf" path="${DIR}/keepalived.conf"}
[VI_1]
state = "MASTER"
```
"""


def test_a_secret_found_in_a_checked_keepalived_conf_is_masked(tmp_path: Path,
                                                                sshd: Sshd) -> None:
    """The check names what the file has and the chapter did not expect: a value there that
    is an inventory secret is masked in the step's message too."""
    chapter = tmp_path / "kc.md"
    chapter.write_text(KEEPALIVED_CHAPTER.replace('DIR = "/tmp"', 'DIR = "/tmp"\nPASS = "x"'))
    (tmp_path / "keepalived.conf").write_text(
        "vrrp_instance VI_1 {\n  state MASTER\n  authentication {\n    auth_type PASS\n"
        f"    auth_pass {SECRET}\n  }}\n}}\n")
    inv = tmp_path / "inv.toml"
    inv.write_text('[vars]\nPASS = { env = "LGT_SECRET_TOKEN", secret = true }\n'
                   f'DIR = "{tmp_path}"\n\n' + sshd.inventory_host("a"))
    state = tmp_path / "state"
    out = labguide("run", str(chapter), "--check", "--format", "json", "--inventory", str(inv),
                   state=state)
    out += labguide("run", str(chapter), "--plain", "--yes", "--inventory", str(inv),
                    state=state)
    assert "VI_1.authentication: not expected" in out, out
    texts = {"output": out, **{str(f): f.read_text() for f in state.rglob("*") if f.is_file()}}
    for name, text in texts.items():
        assert SECRET not in text, name


def test_urls_and_paths_are_shown_masked(tmp_path: Path) -> None:
    text = ('+++\nid = "u"\ntitle = "u"\nhosts = ["a"]\n[vars]\nT = "x"\n[watch]\n'
            'url = "http://198.18.16.140/?t=${T}"\n+++\n\n## S\n\n'
            '```sh {on="a" load id="l" url="http://198.18.16.140/?t=${T}"}\ntrue\n```\n\n'
            '```conf {on="a" id="f" path="/etc/${T}/x"}\n${T}\n```\n')
    inv = parse_inventory('[vars]\nT = { value = "tok-Secret-99", secret = true }\n'
                          '[hosts.a]\naddress = "198.18.16.2"\n', Path("inv.toml"), {})
    plan = bind(parse_chapter(text, Path("u.md")), inv)
    assert plan.url == "http://198.18.16.140/?t=tok-Secret-99"  # what is requested
    assert plan.shown_url == f"http://198.18.16.140/?t={MASK}"  # what the stream pane shows
    load, file = plan.bound("l"), plan.bound("f")
    assert load.url == plan.url and load.shown_url == plan.shown_url
    assert file.path == "/etc/tok-Secret-99/x" and file.shown_path == f"/etc/{MASK}/x"
    assert file.script == "tok-Secret-99\n" and file.shown == f"{MASK}\n"
