"""A class of labs checked at once (`labguide check CHAPTER -i labs/`), against the test sshd:
several inventories pointing at it, one at a closed port (unreachable), one broken."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.classcheck import ClassOptions, ConnectionBudget, check_class, inventory_files
from tests.conftest import Sshd

CHAPTER = """+++
id = "cls"
title = "Class test"
hosts = ["a", "b"]
[vars]
FILE = "/"
+++

## Base

```sh {on="a, b" check id="base-ok"}
true
```

## Files

```sh {on="a" check id="file-there" message="the file exists"}
test -e ${FILE} || { echo "no ${FILE}"; exit 1; }
```

```sh {on="b" check id="after-file" needs="file-there"}
true
```

## Later

```sh {on="b" check id="later-ok" needs="file-there"}
true
```

```sh {on="a" id="change"}
touch /tmp/should-never-exist-labguide-class
```
"""


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lab(folder: Path, name: str, sshd: Sshd, *, file: str = "/", b_port: int | None = None
              ) -> Path:
    b = sshd.inventory_host("b")
    if b_port is not None:
        b = b.replace(f"port = {sshd.port}", f"port = {b_port}")
    path = folder / f"{name}.toml"
    path.write_text(f'[vars]\nFILE = "{file}"\n\n{sshd.inventory_host("a")}\n{b}')
    return path


@pytest.fixture
def chapter_file(tmp_path: Path) -> Path:
    path = tmp_path / "cls.md"
    path.write_text(CHAPTER)
    return path


@pytest.fixture
def labs(tmp_path: Path, sshd: Sshd) -> Path:
    folder = tmp_path / "labs"
    folder.mkdir()
    for n in (1, 2, 3):
        write_lab(folder, f"lab-{n:02d}", sshd)
    write_lab(folder, "lab-04", sshd, file="/nonexistent")
    write_lab(folder, "lab-05", sshd, b_port=closed_port())
    (folder / "notes.txt").write_text("not an inventory\n")
    return folder


def labguide(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labguide", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ))


def test_table_a_row_per_lab_a_column_per_section(chapter_file: Path, labs: Path) -> None:
    res = labguide("check", str(chapter_file), "-i", str(labs))
    assert res.returncode == 2, res.stderr  # lab-05 could not be reached
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["lab", "Base", "Files", "Later", "verdict"]
    rows = {ln.split()[0]: ln for ln in lines[1:6]}
    assert list(rows) == ["lab-01", "lab-02", "lab-03", "lab-04", "lab-05"]
    for n in (1, 2, 3):
        assert rows[f"lab-0{n}"].split() == [f"lab-0{n}", "✓", "✓", "✓", "pass"]
    # the first failed check of its section; the later section's checks all skipped
    assert rows["lab-04"].split() == ["lab-04", "✓", "✗", "file-there", "–", "fail"]
    assert rows["lab-05"].split()[-1] == "unreachable"
    assert "✗ base-ok" in rows["lab-05"]
    assert "5 labs: 3 pass, 1 fail, 1 unreachable" in res.stdout
    assert lines[6].split() == ["✓", "of", "5", "4", "3", "3"]
    assert "lab-05: b: cannot connect to" in res.stdout
    assert not Path("/tmp/should-never-exist-labguide-class").exists()


def test_exit_codes_0_1_2(chapter_file: Path, labs: Path) -> None:
    good = [str(labs / f"lab-0{n}.toml") for n in (1, 2, 3)]
    res = labguide("check", str(chapter_file), *(a for g in good for a in ("-i", g)))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 labs: 3 pass, 0 fail" in res.stdout
    res = labguide("check", str(chapter_file), "-i", good[0], "-i", str(labs / "lab-04.toml"))
    assert res.returncode == 1
    res = labguide("check", str(chapter_file), "-i", good[0], "-i", str(labs / "lab-05.toml"))
    assert res.returncode == 2


def test_json_one_object_per_lab(chapter_file: Path, labs: Path) -> None:
    res = labguide("check", str(chapter_file), "-i", str(labs), "--format", "json")
    data = json.loads(res.stdout)
    assert data["exit_code"] == 2 and data["totals"] == {
        "labs": 5, "pass": 3, "fail": 1, "unreachable": 1, "error": 0}
    by = {lab["lab"]: lab for lab in data["labs"]}
    assert by["lab-04"]["sections"]["files"] == {"title": "Files", "status": "failed",
                                                "step": "file-there"}
    assert by["lab-04"]["sections"]["later"]["status"] == "not reached"
    assert by["lab-05"]["unreachable_hosts"].keys() == {"b"}
    assert by["lab-01"]["check"]["counts"] == {"passed": 4}


def test_junit_one_testsuite_per_lab(chapter_file: Path, labs: Path) -> None:
    res = labguide("check", str(chapter_file), "-i", str(labs), "--format", "junit")
    root = ET.fromstring(res.stdout.split("?>", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"lab-0{n}" for n in range(1, 6)]
    assert suites[3].get("failures") == "1"
    assert suites[3].find("testcase[@name='file-there [a]']/failure") is not None
    assert suites[4].find("testcase[@name='reach b']/error") is not None
    assert root.get("errors") == "1" and root.get("tests") == str(4 * 4 + 5)


def test_bad_inventory_is_named_and_not_checked(chapter_file: Path, labs: Path) -> None:
    (labs / "lab-06.toml").write_text('[hosts.a]\naddress = "127.0.0.1"\nport = "x"\n')
    res = labguide("check", str(chapter_file), "-i", str(labs))
    assert res.returncode == 2
    assert "lab-06" in res.stdout and str(labs / "lab-06.toml") in res.stdout
    empty = labs.parent / "empty"
    empty.mkdir()
    res = labguide("check", str(chapter_file), "-i", str(empty), "-i", str(labs))
    assert res.returncode == 2 and f"{empty}: no inventory (*.toml)" in res.stderr


def test_drill_is_refused_for_a_class(chapter_file: Path, labs: Path) -> None:
    res = labguide("check", str(chapter_file), "-i", str(labs), "--drill", "--yes")
    assert res.returncode == 2 and "one lab at a time" in res.stderr


async def test_a_dead_host_costs_its_timeout_once(tmp_path: Path, sshd: Sshd) -> None:
    """A host that never answers (TCP accepted by the kernel, no SSH banner ever) fails every
    check of its lab after one connect timeout, not one per check."""
    chapter = parse_chapter(CHAPTER, tmp_path / "cls.md")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        path = write_lab(tmp_path, "dead", sshd, b_port=silent.getsockname()[1])
        ok = write_lab(tmp_path, "alive", sshd)
        report = await check_class(chapter, [path, ok], {},
                                   ClassOptions(connections=8, host_timeout=1.0))
        silent.setblocking(False)
        attempts = 0
        while True:
            try:
                silent.accept()[0].close()
            except BlockingIOError:
                break
            attempts += 1
    dead, alive = report.labs
    assert dead.verdict == "unreachable" and "b" in dead.unreachable, dead.unreachable
    assert alive.verdict == "pass"
    # 3 checks on b, one connection attempt (one timeout) for all of them
    assert attempts == 1
    assert all(r.status == "failed" for r in dead.report.results  # type: ignore[union-attr]
               if "b" in r.step.step.hosts and r.status != "skipped")


def test_inventory_files_folder_sorted_and_files_kept(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text("")
    (tmp_path / "a.toml").write_text("")
    one = tmp_path / "x.conf"
    one.write_text("")
    assert inventory_files([tmp_path, one]) == [tmp_path / "a.toml", tmp_path / "b.toml", one]


async def test_connection_budget_never_exceeded() -> None:
    import asyncio

    budget = ConnectionBudget(5)
    peak = 0

    async def lab(n: int) -> None:
        nonlocal peak
        taken = await budget.take(n)
        peak = max(peak, budget.used)
        await asyncio.sleep(0.01)
        await budget.give(taken)

    await asyncio.gather(*(lab(n) for n in (3, 3, 2, 4, 9, 1)))
    assert peak <= 5 and budget.used == 0


CREATED = """+++
id = "made"
title = "Created host"
hosts = ["a", "c"]
[exists]
c = "c-made"
+++

## Make c

```sh {on="a" check id="c-made"}
test -e /nonexistent-labguide-c
```

```sh {on="c" check id="c-ok"}
true
```
"""


async def test_a_host_the_chapter_creates_is_not_unreachable_before_it_exists(
        tmp_path: Path, sshd: Sshd) -> None:
    """In a lab's start state the host the chapter makes does not answer: its checks are
    skipped and the lab fails (not reached), it is not 'unreachable'."""
    chapter = parse_chapter(CREATED, tmp_path / "made.md")
    path = tmp_path / "start.toml"
    c = sshd.inventory_host("c").replace(f"port = {sshd.port}", f"port = {closed_port()}")
    path.write_text(f'{sshd.inventory_host("a")}\n{c}')
    report = await check_class(chapter, [path], {}, ClassOptions(connections=4))
    lab = report.labs[0]
    assert lab.unreachable == {} and lab.verdict == "fail" and report.exit_code == 1
    assert lab.report is not None
    assert [r.status for r in lab.report.results] == ["failed", "skipped"]


async def test_a_created_host_that_exists_and_does_not_answer_is_unreachable(
        tmp_path: Path, sshd: Sshd) -> None:
    chapter = parse_chapter(CREATED.replace("/nonexistent-labguide-c", "/"), tmp_path / "m.md")
    path = tmp_path / "done.toml"
    c = sshd.inventory_host("c").replace(f"port = {sshd.port}", f"port = {closed_port()}")
    path.write_text(f'{sshd.inventory_host("a")}\n{c}')
    report = await check_class(chapter, [path], {}, ClassOptions(connections=4))
    lab = report.labs[0]
    assert list(lab.unreachable) == ["c"] and lab.verdict == "unreachable"
    assert report.exit_code == 2
