"""The engine runs real steps over SSH (the test sshd) and records what happened."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.events import Event, Output, StepFinished, StepStatus
from labguide.inventory import Inventory
from labguide.plan import Plan, bind
from labguide.state import RunState, Transcript
from tests.conftest import Sshd

CHAPTER = """+++
id = "eng"
title = "Engine test"
hosts = ["a", "b"]
[vars]
DIR = "/tmp"
WORD = "hello"
+++

## One

Say hello on both hosts.

```sh {on="a, b" id="hello"}
echo ${WORD} from $(hostname)
sleep 1
```

```sh {on="a" check id="warns"}
echo "not great"; exit 2
```

```conf {on="a" id="conf" path="${DIR}/labguide-engine-test/app.conf" mode="0600"}
value = ${WORD}
```

```sh {on="a" wait id="appears" timeout=5 interval=0.1 message="the file has the value"}
grep -q "value = hello" ${DIR}/labguide-engine-test/app.conf
```

## Two

```sh {on="b" id="fails"}
echo about to fail
exit 7
```

```sh {on="a" id="after"}
echo after
```
"""


def make_plan(tmp_path: Path, sshd: Sshd, body: str = CHAPTER,
              secrets: frozenset[str] = frozenset(),
              sets: dict[str, str] | None = None) -> Plan:
    chapter = parse_chapter(body, tmp_path / "eng.md")
    inv = Inventory(hosts={"a": sshd.host("a"), "b": sshd.host("b")}, secrets=secrets,
                    path=tmp_path / "inv.toml")
    return bind(chapter, inv, sets or {"DIR": str(tmp_path)})


def engine_for(plan: Plan, tmp_path: Path) -> tuple[Engine, list[Event]]:
    events: list[Event] = []
    state = RunState.load(tmp_path / "state.json", plan.chapter.id)
    eng = Engine(plan, state=state, transcript=Transcript(tmp_path / "t.jsonl"))
    eng.bus.subscribe(events.append)
    return eng, events


async def test_runs_until_the_first_failure_and_resumes(tmp_path: Path, sshd: Sshd) -> None:
    plan = make_plan(tmp_path, sshd)
    eng, events = engine_for(plan, tmp_path)
    status = await eng.run()
    await eng.close()
    assert status == StepStatus.FAILED
    finished = {e.step_id: e for e in events if isinstance(e, StepFinished)}
    assert finished["hello"].status == StepStatus.PASSED
    # both hosts printed before either finished: they ran concurrently
    order = [type(e).__name__ for e in events if getattr(e, "step_id", "") == "hello"]
    assert order.index("HostFinished") > max(i for i, n in enumerate(order) if n == "Output")
    assert finished["warns"].status == StepStatus.WARNED
    assert "not great" in finished["warns"].message
    assert finished["conf"].status == StepStatus.PASSED
    assert finished["appears"].status == StepStatus.PASSED
    assert finished["fails"].status == StepStatus.FAILED and "7" in finished["fails"].message
    assert "after" not in finished
    outs = [(e.host, e.line) for e in events if isinstance(e, Output) and e.step_id == "hello"]
    assert ("a", f"hello from {__import__('socket').gethostname()}") in outs
    diff = [e.line for e in events if isinstance(e, Output) and e.stream == "diff"]
    assert "+value = hello" in diff
    assert (tmp_path / "labguide-engine-test/app.conf").read_text() == "value = hello\n"
    assert oct((tmp_path / "labguide-engine-test/app.conf").stat().st_mode & 0o777) == "0o600"
    # transcript: valid JSON lines with every command's host, exit status and output
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert {"command", "output", "step_started", "step_finished"} <= {r["event"] for r in records}
    assert any(r["event"] == "command" and r["host"] == "b" and r["exit_status"] == 7
               for r in records)

    # a new engine on the same state resumes at the failed step
    eng2, _ = engine_for(plan, tmp_path)
    assert eng2.next_step() == "fails"
    fixed = make_plan(tmp_path, sshd, CHAPTER.replace("exit 7", "exit 0"))
    eng3, events3 = engine_for(fixed, tmp_path)
    assert await eng3.run() == StepStatus.PASSED
    await eng3.close()
    ran = [e.step_id for e in events3 if isinstance(e, StepFinished)]
    assert ran == ["fails", "after"]


async def test_from_step_and_rerun_of_a_file_step_is_unchanged(tmp_path: Path, sshd: Sshd) -> None:
    plan = make_plan(tmp_path, sshd)
    eng, events = engine_for(plan, tmp_path)
    await eng.run(start="conf", stop_after="conf")
    rec = await eng.run_step("conf")
    assert rec.status == StepStatus.PASSED and rec.message.endswith("unchanged")
    preview = await eng.preview("conf")
    assert preview == {"a": []}
    await eng.close()


async def test_cancel_records_cancelled(tmp_path: Path, sshd: Sshd) -> None:
    body = CHAPTER.replace("sleep 1", "sleep 60")
    plan = make_plan(tmp_path, sshd, body)
    eng, events = engine_for(plan, tmp_path)
    task = asyncio.create_task(eng.run_step("hello"))
    while not any(isinstance(e, Output) for e in events):
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert eng.state is not None and eng.state.status("hello") == StepStatus.CANCELLED
    assert eng.next_step() == "hello"
    await eng.close()


async def test_command_timeout_fails_the_step(tmp_path: Path, sshd: Sshd) -> None:
    body = CHAPTER.replace('id="hello"}', 'id="hello" timeout=0.5}')
    eng, _ = engine_for(make_plan(tmp_path, sshd, body), tmp_path)
    rec = await eng.run_step("hello")
    assert rec.status == StepStatus.FAILED and "timed out after 0.5 s" in rec.message
    await eng.close()


async def test_secrets_are_masked_everywhere(tmp_path: Path, sshd: Sshd) -> None:
    secret = "s3cr3t-token-value"
    plan = make_plan(tmp_path, sshd, secrets=frozenset({secret}),
                     sets={"DIR": str(tmp_path), "WORD": secret})
    eng, events = engine_for(plan, tmp_path)
    await eng.run_step("hello")
    await eng.close()
    assert not any(secret in repr(e) for e in events)
    assert secret not in (tmp_path / "t.jsonl").read_text()
    assert secret not in (tmp_path / "state.json").read_text()


async def test_check_mode_refuses_steps_that_change_things(tmp_path: Path, sshd: Sshd) -> None:
    from labguide.errors import LabguideError

    plan = make_plan(tmp_path, sshd)
    eng = Engine(plan, mode="check")
    with pytest.raises(LabguideError, match="read-only"):
        await eng.run_step("hello")
    assert (await eng.run_step("warns")).status == StepStatus.WARNED
    await eng.close()
