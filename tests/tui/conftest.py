"""Fixtures of the TUI tests: a small chapter whose steps really run over SSH (the shared
`sshd` fixture), the real l4lb-ha chapter bound to a local inventory, and the app factory."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.chapter import load_chapter
from labguide.engine import Engine
from labguide.inventory import Host, Inventory
from labguide.plan import bind
from labguide.state import RunState, Transcript
from labguide.tui.app import LabguideApp, make_app
from labguide.tui.keymap import TuiSettings
from tests.conftest import Sshd

ROOT = Path(__file__).resolve().parents[2]
#: A fixed instant for snapshots (2024-05-01 10:00:00 UTC); TZ is UTC in these tests.
T0 = 1714557600.0

MINI = """+++
id = "mini"
title = "A tiny chapter for the TUI tests"
hosts = ["lb-1", "lb-2"]

[vars]
NAME = "world"
VIP = "198.18.16.240"
DIR = "/tmp"
URL = "http://127.0.0.1:9/hostname"

[watch]
vips = ["${VIP}"]
candidates = ["lb-1", "lb-2"]
url = "${URL}"
+++

# A tiny chapter

## Prepare

Say hello on both hosts; the *output* streams per host.

```sh {on="lb-1, lb-2" id="hello"}
echo "hello ${NAME} from $(hostname)"
echo "second line"
```

This check passes.

```sh {on="lb-1" check id="check-ok" message="true is true"}
true
```

Write a file (the diff is shown first).

```conf {on="lb-1" id="write-conf" path="${DIR}/lgt-tui-conf/app.conf" mode="0644"}
name = ${NAME}
```

## Break things

This step is disruptive: the TUI asks first.

```sh {on="lb-2" disruptive id="stop-it"}
echo stopping
```

This one fails.

```sh {on="lb-1" id="fails" hint="create the marker file, then retry"}
echo "looking for the marker"
test -e "${DIR}/lgt-tui-conf/marker" || { echo "no marker" >&2; exit 3; }
```

This one takes long (cancel it).

```sh {on="lb-1" id="slow"}
echo started; sleep 30; echo never
```
"""


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LABGUIDE_CONFIG_DIR", str(tmp_path / "config"))
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def mini_chapter(tmp_path: Path) -> Path:
    path = tmp_path / "mini.md"
    path.write_text(MINI.replace('DIR = "/tmp"', f'DIR = "{tmp_path}"'))
    return path


def make_engine(chapter: Path, hosts: dict[str, Host], folder: Path,
                sets: dict[str, str] | None = None) -> Engine:
    plan = bind(load_chapter(chapter), Inventory(hosts=hosts, path=folder / "inventory.toml"),
                sets or {})
    folder.mkdir(parents=True, exist_ok=True)
    state = RunState.load(folder / "state.json", plan.chapter.id)
    return Engine(plan, state=state, transcript=Transcript(folder / "transcript.jsonl"))


@pytest.fixture
def mini_engine(mini_chapter: Path, sshd: Sshd, tmp_path: Path) -> Engine:
    hosts = {"lb-1": sshd.host("lb-1"), "lb-2": sshd.host("lb-2")}
    return make_engine(mini_chapter, hosts, tmp_path / "run")


def l4lb_engine(folder: Path, lang: str = "en") -> Engine:
    """The l4lb-ha chapter (in `lang`), bound to an inventory of local hosts (nothing runs in
    snapshots).

    A frozen copy (tests/tui/data), so the snapshots do not change with each chapter edit."""
    chapter = Path(__file__).parent / "data" / ("l4lb-ha.md" if lang == "en"
                                                else f"l4lb-ha.{lang}.md")
    names = ("node1", "l4lb-1", "l4lb-2", "client")
    hosts = {n: Host(name=n, address="127.0.0.1", transport="local") for n in names}
    sets = {"VIP": "198.18.16.140", "VIP2": "198.18.16.141", "L4LB1_IP": "198.18.16.133",
            "L4LB2_IP": "198.18.16.134", "GATEWAY": "198.18.16.1"}
    return make_engine(chapter, hosts, folder, sets)


def app_for(engine: Engine, **kw: object) -> LabguideApp:
    return make_app(engine, settings=TuiSettings(), watch=False, **kw)  # type: ignore[arg-type]


def env_ok() -> bool:
    return os.geteuid() == 0


sys.path.insert(0, str(ROOT / "bench"))

from probe_targets import Nginx as Nginx  # noqa: E402


@pytest.fixture
def web() -> Iterator[Nginx]:
    """nginx on loopback answering GET /hostname with "web-1" (stopped by its own records)."""
    server = Nginx(name="web-1")
    try:
        yield server.start()
    finally:
        server.cleanup()
