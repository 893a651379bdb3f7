"""The chapter parser: the bundled chapter's shape, and located errors for bad chapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from labguide.chapter import find_chapter, load_chapter, parse_chapter
from labguide.errors import LabguideError
from labguide.plan import bind, parse_sets

FRONT = """+++
id = "t"
title = "T"
hosts = ["a", "b"]
[vars]
X = "1.2.3.4"
+++
"""


def parse(body: str, front: str = FRONT) -> object:
    return parse_chapter(front + body, Path("t.md"))


def error_of(body: str, front: str = FRONT) -> LabguideError:
    with pytest.raises(LabguideError) as err:
        parse(body, front)
    return err.value


def test_bundled_chapter_covers_every_part_of_the_seed() -> None:
    ch = load_chapter(find_chapter("l4lb-ha"))
    titles = [s.title for s in ch.sections]
    for needle in ("Before you start", "Create l4lb-2", "Install HAProxy", "Install Keepalived",
                   "Configure VRRP", "Fail over", "Stop HAProxy", "Maintenance mode",
                   "Stop Keepalived under load", "Stop HAProxy under load",
                   "reboot, under load", "Active/active"):
        assert any(needle in t for t in titles), needle
    steps = {s.id: s for s in ch.steps}
    assert steps["create-l4lb-2"].kind == "qm" and steps["create-l4lb-2"].reaches == ("l4lb-2",)
    assert steps["load-reboot-l4lb1"].kind == "reboot" and steps["load-reboot-l4lb1"].disruptive
    assert steps["keepalived-conf-l4lb1"].texts["path"] == "/etc/keepalived/keepalived.conf"
    assert sum(1 for s in ch.steps if s.kind == "load") == 3
    assert all(s.background for s in ch.steps if s.kind == "load")
    assert ch.watch.candidates == ("l4lb-1", "l4lb-2")
    # each section with steps explains itself before its first step
    assert all(sec.steps[0].prose for sec in ch.sections if sec.steps)
    # every section that changes the lab also proves it worked
    for sec in ch.sections:
        if any(s.kind in ("run", "qm", "file") and s.id != "k6-script" for s in sec.steps):
            assert any(s.check for s in sec.steps), sec.title


def test_variables_bound_and_quoted_for_the_shell() -> None:
    ch = load_chapter(find_chapter("l4lb-ha"))
    plan = bind(ch, None, parse_sets(["VIP=198.18.16.140"]))
    assert "198.18.16.140" in plan.bound("vip-on-l4lb1").script
    assert plan.url == "http://198.18.16.140/hostname"
    evil = bind(ch, None, {"VIP": "x; touch /tmp/pwned"})
    assert "'x; touch /tmp/pwned'" in evil.bound("vip-on-l4lb1").script
    # a file's content is not shell: the value goes in literally
    assert "        x; touch /tmp/pwned\n" in evil.bound("keepalived-conf-l4lb1").script


def test_steps_prose_and_sections() -> None:
    ch = parse("""
## First
Explain the step.

```sh {on="a" id="one"}
echo ${X}
```

Some `text` block, not a step:

```text
hello
```

```sh {on="a, b" check}
true
```
## Second

```conf {on="b" path="/etc/f" sudo mode="0640"}
x=${X}
```
""")
    first, second = ch.sections  # type: ignore[attr-defined]
    assert [s.id for s in first.steps] == ["one", "first-2"]
    assert first.steps[0].prose == "Explain the step."
    assert "hello" in first.steps[1].prose
    assert first.steps[1].hosts == ("a", "b") and first.steps[1].kind == "check"
    f = second.steps[0]
    assert (f.kind, f.texts["path"], f.options.sudo, f.options.mode) == (
        "file", "/etc/f", True, 0o640)


@pytest.mark.parametrize("body, line, words", [
    ('\n```sh {on="zz"}\ntrue\n```\n', 9, "unknown host 'zz'"),
    ('\n```sh {on="a"}\necho ${NOPE}\n```\n', 10, "undefined variable ${NOPE}"),
    ('\n\n```sh {on="a"}\ntrue\n', 10, "not closed"),
    ('\n```sh {on="a" colour=red}\ntrue\n```\n', 9, "unknown attribute 'colour'"),
    ('\n```sh {on="a" timeout=soon}\ntrue\n```\n', 9, "not a duration"),
    ('\n```sh {check}\ntrue\n```\n', 9, 'needs on='),
    ('\n```sh {on="a" id="x"}\ntrue\n```\n```sh {on="a" id="x"}\ntrue\n```\n', 12, "used twice"),
    ('\n```qm {on="a"}\nqm migrate 100 node2\n```\n', 10, "migrate"),
    ('\n```sh {on="a" needs="ghost" check}\ntrue\n```\n', 9, "needs='ghost'"),
    ('\n```sh {on="a" expect="(" check}\ntrue\n```\n', 9, "regular expression"),
])
def test_errors_name_file_and_line(body: str, line: int, words: str) -> None:
    err = error_of(body)
    assert err.location is not None and str(err.location.file) == "t.md"
    assert err.location.line == line, str(err)
    assert words in str(err)


@pytest.mark.parametrize("front, line, words", [
    ("+++\ntitle = \n+++\n", 2, "not valid TOML"),
    ("+++\ntitle = \"x\"\ncolour = 1\n+++\n", 3, "unknown front matter key"),
    ("no front matter\n", 1, "front matter"),
    ("+++\ntitle = \"x\"\n", 1, "not closed"),
    ("+++\ntitle = \"x\"\n[vars]\nX = [1]\n+++\n", 4, "string or a number"),
])
def test_front_matter_errors(front: str, line: int, words: str) -> None:
    with pytest.raises(LabguideError) as err:
        parse_chapter(front, Path("t.md"))
    assert err.value.location is not None and err.value.location.line == line, str(err.value)
    assert words in str(err.value)


def test_set_errors() -> None:
    with pytest.raises(LabguideError, match="expected NAME=VALUE"):
        parse_sets(["VIP"])
    ch = load_chapter(find_chapter("l4lb-ha"))
    with pytest.raises(LabguideError, match="no variable NOPE"):
        bind(ch, None, {"NOPE": "1"})
