"""What a run has done, kept on disk: the step results (atomic JSON) and the transcript (JSONL).

Both live under the XDG state directory, one folder per (chapter, inventory) pair, so that
a run can resume after a crash; a run holds that folder's lock (RunLock) so that two runs
of the same chapter and lab do not mix their results. Nothing here runs commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from labguide.atomic import write_atomic
from labguide.errors import LabguideError, Location
from labguide.events import StepStatus
from labguide.i18n import gettext as _


def state_root() -> Path:
    override = os.environ.get("LABGUIDE_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("labguide"))


def run_dir(chapter_id: str, inventory_path: Path | None) -> Path:
    key = str(inventory_path.resolve()) if inventory_path else "(dry-run)"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return state_root() / "runs" / f"{chapter_id}-{digest}"


@dataclass
class StepRecord:
    status: StepStatus
    duration: float = 0.0
    finished_at: float = 0.0
    message: str = ""
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


class RunState:
    """Step results of one (chapter, lab), saved after every change."""

    def __init__(self, path: Path, chapter_id: str, lab_id: str | None = None) -> None:
        self.path = path
        self.chapter_id = chapter_id
        #: The lab the results were made on (the inventory's [lab] id), if it has one.
        self.lab_id = lab_id
        self.steps: dict[str, StepRecord] = {}
        self.cursor: str | None = None
        #: Set when the saved file could not be read (and was kept aside): say it to the user.
        self.warning: str | None = None
        #: The run folder's lock, when the caller took one (kept with the state it guards).
        self.lock: RunLock | None = None

    @classmethod
    def load(cls, path: Path, chapter_id: str, lab_id: str | None = None) -> RunState:
        """The saved results; none when they were made on another lab than `lab_id` (they
        are kept aside and said, like a file that cannot be read)."""
        state = cls(path, chapter_id, lab_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return state
        except OSError as exc:
            state.warning = _("{path} could not be read ({error}); starting with no results"
                              ).format(path=path, error=exc.strerror)
            return state
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("chapter") != chapter_id:
                return state
            if lab_id is not None and data.get("lab") != lab_id and data.get("steps"):
                state.warning = _keep_other_lab(path, data.get("lab"), lab_id)
                return state
            state.steps, state.cursor = _records(data)
        except ValueError as exc:
            # never overwrite what cannot be read: the next save would lose it for good
            kept = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, kept)
            state.warning = _("{path} could not be read ({error}); kept as {kept}, starting "
                              "with no results").format(path=path, error=exc, kept=kept.name)
        return state

    def record(self, step_id: str, rec: StepRecord) -> None:
        self.steps[step_id] = rec
        self.save()

    def status(self, step_id: str) -> StepStatus:
        rec = self.steps.get(step_id)
        return rec.status if rec else StepStatus.PENDING

    def reset(self) -> None:
        self.steps.clear()
        self.cursor = None
        self.save()

    def save(self) -> None:
        data = {
            "chapter": self.chapter_id,
            "lab": self.lab_id,
            "saved_at": time.time(),
            "cursor": self.cursor,
            "steps": {sid: {**asdict(rec), "status": rec.status.value}
                      for sid, rec in self.steps.items()},
        }
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), mode=0o600)


def _keep_other_lab(path: Path, made_on: object, lab_id: str) -> str:
    """Keep aside results made on another lab; what to tell the reader."""
    kept = path.with_name(f"{path.name}.other-lab-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, kept)
    return _("the saved results were made on another lab ({other}), not on this one ({lab}): "
             "starting with no results (kept as {kept})").format(
        other=made_on or _("a lab without an id"), lab=lab_id, kept=kept.name)


def _records(data: dict[str, Any]) -> tuple[dict[str, StepRecord], str | None]:
    """The step records and cursor of a saved state; ValueError if any is not as saved."""
    steps, cursor = data.get("steps", {}), data.get("cursor")
    if not isinstance(steps, dict):
        raise ValueError("'steps' is not an object")
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError("'cursor' is not a step id")
    out: dict[str, StepRecord] = {}
    for sid, rec in steps.items():
        if not isinstance(rec, dict) or not isinstance(rec.get("hosts", {}), dict) or (
                not isinstance(rec.get("detail", {}), dict)):
            raise ValueError(f"the record of step {sid!r} is not as saved")
        try:
            out[sid] = StepRecord(
                status=StepStatus(rec["status"]), duration=float(rec.get("duration", 0)),
                finished_at=float(rec.get("finished_at", 0)),
                message=str(rec.get("message", "")), hosts=dict(rec.get("hosts", {})),
                detail=dict(rec.get("detail", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the record of step {sid!r} is not as saved ({exc!r})") from None
    return out, cursor


class RunLock:
    """An exclusive lock on one run folder (fcntl.flock on a file beside the state), held
    until release() or the end of the process. The file says who holds it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    @classmethod
    def take(cls, path: Path) -> RunLock:
        """The lock, or a LabguideError that names the run holding it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(os.pread(fd, 4096, 0))
            os.close(fd)
            raise LabguideError(
                _("another labguide run of this chapter on this lab is going on ({holder}); two "
                  "runs would mix their results").format(holder=holder), Location(file=path),
                hint=_("wait for it to end, or stop it (Ctrl-C where it runs); --check and "
                       "--dry-run need no lock")) from None
        os.ftruncate(fd, 0)  # who holds it (no command line: it may hold --set values)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "since": time.time()}).encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def _holder(raw: bytes) -> str:
    try:
        info = json.loads(raw.decode("utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        return f"process {int(info['pid'])} on {info['host']}, since {since}"
    except (ValueError, KeyError, TypeError):
        return "a process that is just starting"


class Transcript:
    """Append-only JSON Lines: one whole line per write() call, so a kill never splits one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
