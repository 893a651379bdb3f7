"""Drift in --check (issue 18, item 5), as `ansible --check --diff`: every file step's file
on its host against what the chapter writes, read-only, in the table, JSON and JUnit; a
keepalived configuration compared as keepalived reads it, its `include` lines followed (a
split configuration used to be reported as missing its instances). Real processes over the
test sshd; the files live in the test's own folder."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from labguide.chapter import parse_chapter
from labguide.check import collect
from labguide.inventory import Inventory
from labguide.plan import bind
from tests.conftest import Sshd
from tests.core.test_cli import run

KEEPALIVED = """global_defs {
    vrrp_garp_master_refresh 60
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.18.16.140
    }
}

vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 99
    virtual_ipaddress {
        198.18.16.141
    }
}
"""

CHAPTER = f"""+++
id = "drift"
title = "Drift test"
hosts = ["a", "b"]
[vars]
DIR = "/nonexistent"
+++

## Files

```conf {{on="a" id="app-conf" path="${{DIR}}/app.conf"}}
name = one
```

```conf {{on="a" id="app-conf-again" path="${{DIR}}/app.conf"}}
name = two
```

```conf {{on="a" id="ka-conf" path="${{DIR}}/keepalived/keepalived.conf"}}
{KEEPALIVED}```

```keepalived {{on="a" check id="ka-check" path="${{DIR}}/keepalived/keepalived.conf"}}
vrrp_garp_master_refresh = 60

[VI_1]
state = "MASTER"
interface = "eth0"
virtual_router_id = 51
priority = 100
virtual_ipaddress = ["198.18.16.140"]

[VI_2]
state = "BACKUP"
interface = "eth0"
virtual_router_id = 52
priority = 99
virtual_ipaddress = ["198.18.16.141"]
```

```conf {{on="b" id="b-conf" path="${{DIR}}/b.conf"}}
only on b
```
"""

SPLIT_MAIN = """! the same configuration, split the way many hosts keep it
global_defs {
    vrrp_garp_master_refresh 60
}
include conf.d/*.conf
"""


def split_lab(folder: Path, priority2: int = 99) -> None:
    """A keepalived.conf that includes conf.d/*.conf, one instance per file."""
    conf = folder / "keepalived"
    (conf / "conf.d").mkdir(parents=True, exist_ok=True)
    (conf / "keepalived.conf").write_text(SPLIT_MAIN)
    first, second = KEEPALIVED.split("vrrp_instance VI_2")
    (conf / "conf.d" / "10-vi1.conf").write_text(first.split("}\n\n", 1)[1])
    (conf / "conf.d" / "20-vi2.conf").write_text(
        ("vrrp_instance VI_2" + second).replace("priority 99", f"priority {priority2}"))
    (folder / "app.conf").write_text("name = two\n")


def lab(tmp_path: Path, sshd: Sshd) -> tuple[Path, Path, Path]:
    files = tmp_path / "files"
    files.mkdir()
    chapter = tmp_path / "drift.md"
    chapter.write_text(CHAPTER.replace('DIR = "/nonexistent"', f'DIR = "{files}"'))
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a") + "\n" + sshd.inventory_host("b"))
    return chapter, inv, files


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_mode, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


async def test_a_split_keepalived_config_is_the_same_and_its_check_passes(
        tmp_path: Path, sshd: Sshd) -> None:
    _chapter, _inv, files = lab(tmp_path, sshd)
    split_lab(files)
    ch = parse_chapter(CHAPTER.replace('DIR = "/nonexistent"', f'DIR = "{files}"'),
                       tmp_path / "drift.md")
    plan = bind(ch, Inventory(hosts={"a": sshd.host("a"), "b": sshd.host("b")},
                              path=tmp_path / "inv.toml"), {})
    before = snapshot(files)
    report = await collect(plan)
    assert snapshot(files) == before  # read-only: not a byte, mode or mtime changed
    check = next(r for r in report.results if r.step.id == "ka-check")
    assert check.status == "passed", check.message  # failed before includes were followed
    drift = {(d.step.id, d.host): d for d in report.drift}
    assert set(drift) == {("app-conf-again", "a"), ("ka-conf", "a"), ("b-conf", "b")}
    assert drift[("app-conf-again", "a")].status == "same"  # the last writer of the file
    ka = drift[("ka-conf", "a")]
    assert ka.status == "same" and "split across 3 files" in ka.drift.note
    assert f"{files}/keepalived/conf.d/10-vi1.conf" in ka.drift.note
    missing = drift[("b-conf", "b")]
    assert missing.status == "missing" and missing.drift.diff[-1] == "+only on b"
    assert report.exit_code == 0
    report.strict = True
    assert report.exit_code == 1  # drift fails with --strict, as warnings do


def test_drift_in_the_table_json_and_junit(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv, files = lab(tmp_path, sshd)
    split_lab(files, priority2=98)
    (files / "b.conf").write_text("only on b\n")
    args = ["check", str(chapter), "--inventory", str(inv)]
    res = run(*args)
    assert res.returncode == 1, res.stdout + res.stderr  # the keepalived check fails
    out = res.stdout
    assert "VI_2.priority: expected 99, found 98" in out
    assert "DRIFT ka-conf" in out and "compared as keepalived reads it, split across 3" in out
    assert f"--- {files}/keepalived/keepalived.conf (includes in place)" in out
    assert "        -    priority 98\n        +    priority 99\n" in out
    assert "same  app-conf-again" in out and "same  b-conf" in out
    assert "; 1 of 3 files drifted in " in out
    data = json.loads(run(*args, "--format", "json").stdout)
    by = {(d["step"], d["host"]): d for d in data["drift"]}
    assert by[("ka-conf", "a")]["status"] == "differs" and data["drifted"] == 1
    assert "+    priority 99" in by[("ka-conf", "a")]["diff"]
    xml = run(*args, "--format", "junit", "--strict").stdout
    root = ET.fromstring(xml.split("?>", 1)[1])
    suite = root.find("testsuite[@id='drift']")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "+    priority 99" in (failure.text or "")


def test_include_patterns_never_run_anything(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv, files = lab(tmp_path, sshd)
    split_lab(files)
    pwned = tmp_path / "pwned"
    main = files / "keepalived" / "keepalived.conf"
    main.write_text(main.read_text() + f'include "conf.d/$(touch {pwned})*.conf"\n'
                                       f'include "conf.d/`touch {pwned}`{{a,b}}"\n'
                                       f'include "conf.d/x;touch {pwned}"\n'
                                       f"include 'conf.d/x'\"'\"'; touch {pwned}'\n")
    res = run("check", str(chapter), "--inventory", str(inv), "--format", "json")
    assert not pwned.exists()
    ka = next(d for d in json.loads(res.stdout)["drift"] if d["step"] == "ka-conf")
    assert ka["status"] == "same", ka  # the odd patterns match nothing
    os.chmod(files, 0o755)


def test_brace_patterns_and_nested_relative_includes(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv, files = lab(tmp_path, sshd)
    split_lab(files)
    conf = files / "keepalived"
    (conf / "keepalived.conf").write_text(
        SPLIT_MAIN.replace("include conf.d/*.conf", "include conf.d/{10-vi1,nested}.conf"))
    (conf / "deeper").mkdir()
    (conf / "conf.d" / "20-vi2.conf").rename(conf / "deeper" / "vi2.conf")
    (conf / "conf.d" / "nested.conf").write_text("includer ../deeper/vi2.conf  # relative\n")
    res = run("check", str(chapter), "--inventory", str(inv), "--format", "json")
    report = json.loads(res.stdout)
    ka = next(d for d in report["drift"] if d["step"] == "ka-conf")
    assert ka["status"] == "same", ka
    assert f"{conf}/deeper/vi2.conf" in ka["note"] and "split across 4 files" in ka["note"]
    assert next(c for c in report["checks"] if c["id"] == "ka-check")["status"] == "passed"
