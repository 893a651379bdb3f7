"""Worker tasks of the emulated node: real-format UPIDs, status, log lines, exit status.

A task is an asyncio task running a coroutine that logs lines; it knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from labguide.sandbox.pve.auth import Identity


class TaskError(Exception):
    """The task failed; str() becomes its exit status (and the `TASK ERROR:` log line)."""


def _process_start_ticks() -> int:
    try:
        stat = open("/proc/self/stat").read()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    identity: Identity
    lines: list[str] = field(default_factory=list)
    warnings: int = 0
    exitstatus: str | None = None
    endtime: int | None = None
    runner: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def log(self, line: str) -> None:
        for part in line.rstrip("\n").split("\n"):
            self.lines.append(part)

    def warn(self, message: str) -> None:
        self.warnings += 1
        self.log(f"WARN: {message}")

    @property
    def running(self) -> bool:
        return self.exitstatus is None

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
            "starttime": self.starttime, "type": self.type, "id": self.id,
            "user": self.identity.user,
            "status": "running" if self.running else "stopped",
        }
        if self.identity.token:
            data["tokenid"] = self.identity.token
        if not self.running:
            data["exitstatus"] = self.exitstatus
        return data

    def list_entry(self) -> dict[str, Any]:
        data = self.status()
        del data["status"]
        if not self.running:
            data["status"] = data.pop("exitstatus")
            data["endtime"] = self.endtime
        return data


TaskBody = Callable[[Task], Awaitable[None]]


class TaskManager:
    """Starts and tracks the node's tasks (kept in memory, newest last)."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._pids = itertools.count(os.getpid() * 16 % 0x3FFFFF + 1000)
        self._pstart = _process_start_ticks()
        self.tasks: dict[str, Task] = {}

    def start(self, type_: str, id_: str, who: Identity, body: TaskBody) -> Task:
        pid = next(self._pids)
        pstart = self._pstart + (pid % 997)
        now = int(time.time())
        upid = (f"UPID:{self.node}:{pid:08X}:{pstart:08X}:{now:08X}:{type_}:{id_}:"
                f"{who.upid_user}:")
        task = Task(upid, self.node, pid, pstart, now, type_, id_, who)
        self.tasks[upid] = task
        task.runner = asyncio.create_task(self._run(task, body), name=upid)
        return task

    async def _run(self, task: Task, body: TaskBody) -> None:
        try:
            await body(task)
        except asyncio.CancelledError:
            self._finish(task, "interrupted by signal")
            raise
        except TaskError as exc:
            self._finish(task, str(exc).strip())
        except Exception as exc:  # a bug in the emulator still ends the task, as PVE would
            self._finish(task, f"{type(exc).__name__}: {exc}")
        else:
            self._finish(task, f"WARNINGS: {task.warnings}" if task.warnings else "OK")

    def _finish(self, task: Task, status: str) -> None:
        if task.exitstatus is not None:
            return
        if status == "OK" or status.startswith("WARNINGS: "):
            task.log(f"TASK {status}")
        else:
            # a PVE exit status is one line: details of a long error go to the log before it
            first, _, rest = status.partition("\n")
            if rest.strip():
                task.log(rest)
            status = first.strip() or "unknown error"
            task.log(f"TASK ERROR: {status}")
        task.endtime = int(time.time())
        task.exitstatus = status
        task.done.set()

    def get(self, upid: str) -> Task | None:
        return self.tasks.get(upid)

    async def stop(self, task: Task) -> None:
        if task.runner is not None and not task.runner.done():
            task.runner.cancel()
            await asyncio.wait({task.runner}, timeout=10.0)

    async def shutdown(self) -> None:
        for task in list(self.tasks.values()):
            await self.stop(task)
