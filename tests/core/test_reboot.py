"""Reboot steps against real sshds: one in a PID namespace of its own that really goes away and
comes back as a new "boot", and one that never reboots at all."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.events import Event, Output, StepStatus
from labguide.inventory import Inventory
from labguide.plan import bind
from tests.conftest import SSHD, Sshd, start_sshd

CHAPTER = """+++
id = "rb"
title = "Reboot"
hosts = ["a"]
+++

## Reboot

```sh {on="a" id="boot" reboot timeout=TIMEOUT}
COMMAND
```
"""


def engine(sshd: Sshd, command: str, timeout: int, tmp_path: Path) -> tuple[Engine, list[Event]]:
    text = CHAPTER.replace("COMMAND", command).replace("TIMEOUT", str(timeout))
    plan = bind(parse_chapter(text, tmp_path / "rb.md"),
                Inventory(hosts={"a": sshd.host("a")}, path=tmp_path / "inv.toml"))
    eng = Engine(plan)
    events: list[Event] = []
    eng.bus.subscribe(events.append)
    return eng, events


class Rebooting:
    """sshd as PID 1 of a PID namespace: `kill 1` on it is a reboot; it is back, in a new
    namespace (a new boot), `pause` seconds after it went away."""

    def __init__(self, sshd: Sshd, pause: float) -> None:
        # --kill-child: the namespace dies with unshare (which ignores SIGTERM)
        self.argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                     SSHD, "-D", "-e", "-f", str(sshd.dir / "sshd_config")]
        self.pause, self.boots = pause, 0
        self.stop = threading.Event()
        self.proc = self._boot()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _boot(self) -> subprocess.Popen[bytes]:
        self.boots += 1
        return subprocess.Popen(self.argv, stderr=subprocess.DEVNULL)

    def _loop(self) -> None:
        while not self.stop.is_set():
            if self.proc.poll() is not None and not self.stop.wait(self.pause):
                self.proc = self._boot()
            self.stop.wait(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.proc.kill()
        self.proc.wait(5)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
async def test_a_reboot_waits_for_the_new_boot_and_says_how_long(tmp_path: Path) -> None:
    info, plain = start_sshd(tmp_path / "sshd")
    plain.terminate()
    plain.wait(5)
    host = Rebooting(info, pause=3.0)
    try:
        eng, events = engine(info, "kill 1", 30, tmp_path)
        await _wait_for_sshd(eng)
        result = await eng.run_step("boot")
        await eng.close()
    finally:
        host.close()
    assert result.status == StepStatus.PASSED, result.message
    away = float(result.message.split("was back after ", 1)[1].split(" s")[0])
    assert away >= 3.0 and host.boots == 2
    lines = [e.line for e in events if isinstance(e, Output)]
    assert any(line.startswith("waiting for a to answer SSH") for line in lines)
    assert any(line.startswith("a answers again after") for line in lines)


async def test_a_reboot_command_that_does_not_reboot_fails(sshd: Sshd, tmp_path: Path) -> None:
    eng, _ = engine(sshd, "true", 4, tmp_path)
    result = await eng.run_step("boot")
    await eng.close()
    assert result.status == StepStatus.FAILED
    assert "did not answer within" in result.message
    assert "still runs the boot from before the reboot" in result.message


async def _wait_for_sshd(eng: Engine) -> None:
    import asyncio

    for _ in range(100):
        try:
            await eng.pool.get("a").connect()
            return
        except Exception:  # noqa: BLE001 - not listening yet
            await asyncio.sleep(0.05)
