"""--check against hosts on the test sshd: verdicts, needs/skips, reports and exit codes."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.check import collect
from labguide.engine import Engine
from labguide.errors import LabguideError
from labguide.events import StepStatus
from labguide.inventory import Inventory
from labguide.plan import Plan, bind
from labguide.report import write_report
from tests.conftest import Sshd

CHAPTER = """+++
id = "chk"
title = "Check test"
hosts = ["a", "b"]
[vars]
FILE = "/nonexistent"
+++

## Setup

```sh {on="a" id="change"}
touch /tmp/should-never-exist-labguide
```

```sh {on="a, b" check id="good" message="true is true"}
true
```

```sh {on="a" check id="missing" message="the file exists" hint="create it"}
test -e ${FILE} || { echo "no ${FILE}"; exit 1; }
```

```sh {on="a" check id="after-missing" needs="missing"}
true
```

```sh {on="b" check id="meh"}
echo "could be better"; exit 2
```

```sh {on="a" check transient id="moment"}
false
```

```sh {on="a" wait id="settled" timeout=30}
true
```
"""


def plan_for(tmp_path: Path, sshd: Sshd, b_port: int | None = None) -> Plan:
    ch = parse_chapter(CHAPTER, tmp_path / "chk.md")
    hosts = {"a": sshd.host("a"), "b": sshd.host("b", port=b_port or sshd.port)}
    return bind(ch, Inventory(hosts=hosts, path=tmp_path / "inv.toml"), {})


async def test_verdicts_skips_and_exit_codes(tmp_path: Path, sshd: Sshd) -> None:
    report = await collect(plan_for(tmp_path, sshd))
    by = {r.step.id: r for r in report.results}
    assert set(by) == {"good", "missing", "after-missing", "meh", "settled"}
    assert not Path("/tmp/should-never-exist-labguide").exists()
    assert by["good"].status == "passed" and by["missing"].status == "failed"
    assert by["after-missing"].status == "skipped" and "missing" in by["after-missing"].message
    assert by["meh"].status == "warned"
    assert report.exit_code == 1
    out = io.StringIO()
    write_report("table", out, report)
    text = out.getvalue()
    assert "FAIL  missing" in text and "host a: exit status 1" in text
    assert "found: no /nonexistent" in text and "hint: create it" in text
    assert "expected: the file exists" in text


async def test_warnings_fail_only_when_strict(tmp_path: Path, sshd: Sshd) -> None:
    plan = plan_for(tmp_path, sshd)
    report = await collect(bind(plan.chapter, plan.inventory, {"FILE": "/"}), strict=False)
    assert report.exit_code == 0
    report.strict = True
    assert report.exit_code == 1


async def test_unreachable_host_is_exit_2_and_named(tmp_path: Path, sshd: Sshd) -> None:
    report = await collect(plan_for(tmp_path, sshd, b_port=1))
    assert report.exit_code == 2 and report.unreachable == ["b"]
    good = next(r for r in report.results if r.step.id == "good")
    assert good.status == "failed" and "b" in good.message


async def test_json_and_junit_reports(tmp_path: Path, sshd: Sshd) -> None:
    plan = plan_for(tmp_path, sshd)
    report = await collect(plan)
    out = io.StringIO()
    write_report("json", out, report)
    data = json.loads(out.getvalue())
    assert data["exit_code"] == 1 and data["counts"]["failed"] == 1
    missing = next(c for c in data["checks"] if c["id"] == "missing")
    assert missing["results"]["a"]["exit_status"] == 1 and missing["hint"] == "create it"
    out = io.StringIO()
    write_report("junit", out, report)
    root = ET.fromstring(out.getvalue().split("?>", 1)[1])
    assert root.tag == "testsuites" and root.get("failures") == "1"
    failure = root.find(".//testcase[@name='missing [a]']/failure")
    assert failure is not None and "create it" in (failure.text or "")


async def test_check_report_says_the_counts_and_exit_code(tmp_path: Path, sshd: Sshd
                                                          ) -> None:
    out = io.StringIO()
    report = await collect(plan_for(tmp_path, sshd))
    write_report("table", out, report)
    assert report.exit_code == 1
    assert "passed, 1 failed" in out.getvalue()


SAME = """+++
id = "same"
title = "Same output"
hosts = ["a", "b"]
+++

## Compare

```sh {on="a, b" check same id="agree" message="both print one line"}
echo "one line"
```

```sh {on="a, b" check same id="disagree" message="a config copied to both"}
# both hosts are this machine here: the first to make the directory prints "first"
if mkdir "$DIR" 2>/dev/null; then echo first; else echo second; fi
```

```sh {on="a, b" check same id="one-fails" message="one host fails on its own"}
if mkdir "$DIR-2" 2>/dev/null; then echo "no config"; exit 1; fi
echo "one line"
```
"""


async def test_same_compares_the_hosts_outputs(tmp_path: Path, sshd: Sshd) -> None:
    text = SAME.replace("$DIR", str(tmp_path / "made"))
    ch = parse_chapter(text, tmp_path / "same.md")
    inv = Inventory(hosts={"a": sshd.host("a"), "b": sshd.host("b")}, path=tmp_path / "i.toml")
    report = await collect(bind(ch, inv, {}))
    by = {r.step.id: r for r in report.results}
    assert by["agree"].status == "passed", by["agree"].message
    disagree = by["disagree"]
    assert disagree.status == "failed"
    assert {h: r["message"] for h, r in disagree.hosts.items()} == {
        "a": "its output differs from b's", "b": "its output differs from a's"}
    # the second host shows what it printed instead of the first's, as a diff
    printed = disagree.hosts["b"]["tail"][0]  # "first" or "second": whichever b was
    other = {"first": "second", "second": "first"}[printed]
    assert disagree.hosts["b"]["tail"][-5:] == ["--- a", "+++ b", "@@ -1 +1 @@",
                                                f"-{other}", f"+{printed}"]
    assert [ln for ln in disagree.hosts["a"]["tail"] if ln.startswith("---")] == []
    # one host's own failure is that host's; the other passed, with no one left to compare
    one = by["one-fails"]
    assert one.status == "failed"
    assert sorted(r["status"] for r in one.hosts.values()) == ["failed", "passed"]
    assert "no config" in one.message and "differs" not in one.message
    out = io.StringIO()
    write_report("table", out, report)
    text = out.getvalue()
    assert "the same output on every host" in text
    # a host that exited 0 and still failed says why, not "output did not match"
    assert "host b: its output differs from a's" in text


def test_same_needs_two_hosts_and_is_a_flag(tmp_path: Path) -> None:
    front = '+++\nid = "s"\ntitle = "S"\nhosts = ["a", "b"]\n+++\n\n## S\n\n'
    for attrs, wanted in (('on="a" check same', "name two or more in on="),
                          ('on="a, b" check same="yes"', "same is a flag")):
        with pytest.raises(LabguideError, match=wanted) as err:
            parse_chapter(f"{front}```sh {{{attrs}}}\ntrue\n```\n", tmp_path / "s.md")
        assert err.value.location is not None and err.value.location.line == 9
    ch = parse_chapter(f'{front}```sh {{on="a, b" check same=false}}\ntrue\n```\n',
                       tmp_path / "s.md")
    assert not ch.steps[0].options.same


THREE = """+++
id = "three"
title = "Three hosts"
hosts = ["a", "b", "c"]
+++

## Compare

```sh {on="a, b, c" check same id="two-agree" message="one config everywhere"}
# one host, whichever is first to make the directory, prints something else
if mkdir "$DIR" 2>/dev/null; then echo odd; else echo usual; fi
```
"""


async def test_same_compares_every_host_with_the_first(tmp_path: Path, sshd: Sshd) -> None:
    """Three hosts, one prints something else: compared with the first host (a), only the
    hosts that disagree with it fail, each naming the other side."""
    ch = parse_chapter(THREE.replace("$DIR", str(tmp_path / "made")), tmp_path / "t.md")
    hosts = {h: sshd.host(h) for h in ("a", "b", "c")}
    report = await collect(bind(ch, Inventory(hosts=hosts, path=tmp_path / "i.toml"), {}))
    r = report.results[0]
    odd = next(h for h, rec in r.hosts.items() if rec["tail"][0] == "odd")
    said = {h: rec["message"] for h, rec in r.hosts.items() if rec["status"] == "failed"}
    if odd == "a":  # the reference itself is the odd one: everyone else differs from it
        assert said == {"a": "its output differs from those of b, c",
                        "b": "its output differs from a's", "c": "its output differs from a's"}
    else:
        assert said == {"a": f"its output differs from {odd}'s",
                        odd: "its output differs from a's"}
        assert r.hosts[odd]["tail"][-2:] == ["-usual", "+odd"]
    assert r.status == "failed"


async def test_same_on_one_host_compares_nothing_and_warns(tmp_path: Path, sshd: Sshd
                                                          ) -> None:
    """--limit (or a host that does not exist yet) leaves one host: no claim of sameness."""
    ch = parse_chapter(SAME.replace("$DIR", str(tmp_path / "made")), tmp_path / "same.md")
    inv = Inventory(hosts={"a": sshd.host("a"), "b": sshd.host("b")}, path=tmp_path / "i.toml")
    engine = Engine(bind(ch, inv, {}), mode="check")
    try:
        rec = await engine.run_step("agree", hosts=("a",))
    finally:
        await engine.close()
    assert rec.status == StepStatus.WARNED
    assert rec.message == "a: not compared with another host: only a ran this check"
