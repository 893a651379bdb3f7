"""One control group per sandbox VM, so that the guests' systemd instances never share one.

systemd-nspawn with `--keep-unit` puts the container under the cgroup it was started in, as
`<that cgroup>/payload`. Started side by side from one process, every guest's systemd would
manage the same `/payload` tree: units of the same name in two guests race on the same
directories (a unit then fails with status 219/CGROUP; `systemd-user-sessions` failing leaves
/run/nologin behind, and sshd refuses every login), and stopping a unit in one guest could touch
the other's processes.

On a host booted with systemd, nspawn is run without `--keep-unit` and asks systemd for a scope
of its own (`lg-<name>.scope`). Without systemd as PID 1 (containers, CI runners), the
supervisor makes a cgroup per VM in each hierarchy that nspawn uses, moves itself there before
it starts nspawn, and records the directories in the VM's run directory; teardown (and the
crash cleanup in machines.py) removes exactly those directories.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
RECORD = "cgroups"


def host_has_systemd() -> bool:
    """True if this machine was booted with systemd (nspawn can then ask it for a scope)."""
    return Path("/run/systemd/system").is_dir()


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy key: "" for cgroup2, "name=systemd" for v1."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid == "0" and controllers == "":
            found[""] = path
        elif "name=systemd" in controllers.split(","):
            found["name=systemd"] = path
    return found


def hierarchies() -> list[tuple[Path, str]]:
    """(directory of this process's cgroup, hierarchy key) for each hierarchy nspawn uses:
    the unified (cgroup2) one and the named v1 `name=systemd` one, where mounted."""
    own = _own_paths()
    found: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, fs = line.partition(" - ")
        parts, fs_parts = fields.split(), fs.split()
        root, mount = parts[3], Path(parts[4])
        if not fs_parts or not mount.is_relative_to(CGROUP_ROOT):
            continue
        if fs_parts[0] == "cgroup2":
            key = ""
        elif fs_parts[0] == "cgroup" and "name=systemd" in fs_parts[-1].split(","):
            key = "name=systemd"
        else:
            continue
        if key in seen or key not in own:
            continue
        rel = own[key]
        if root != "/" and (rel == root or rel.startswith(root.rstrip("/") + "/")):
            rel = rel[len(root):]
        seen.add(key)
        found.append((mount / rel.lstrip("/"), key))
    return found


def enter_own(name: str, record: Path) -> list[Path]:
    """Make `<own cgroup>/<name>` in each hierarchy, record it, and move this process there.

    The record is written before anything is made, so a crash half-way leaves nothing that
    `remove_recorded` does not know about."""
    made = [base / name for base, _ in hierarchies()]
    record.write_text("".join(f"{d}\n" for d in made))
    for d in made:
        d.mkdir(exist_ok=True)
        (d / "cgroup.procs").write_text(f"{os.getpid()}\n")
    return made


def leave(dirs: list[Path]) -> None:
    """Move this process back to the parent of each recorded cgroup (so they can go)."""
    for d in dirs:
        try:
            (d.parent / "cgroup.procs").write_text(f"{os.getpid()}\n")
        except OSError:
            pass


def recorded(record: Path) -> list[Path]:
    try:
        return [Path(line) for line in record.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def kill_all(top: Path) -> None:
    """SIGKILL every process in `top` and below: a guest whose nspawn died before it knew the
    guest's PID 1 (a stop early in the boot) is orphaned, and only its cgroup still holds it.
    cgroup2's `cgroup.kill` does it at once; elsewhere each listed process is killed."""
    kill = top / "cgroup.kill"
    if kill.exists():
        try:
            kill.write_text("1\n")
            return
        except OSError:
            pass
    for dirpath, _dirs, _files in os.walk(top):
        try:
            pids = (Path(dirpath) / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def remove_tree(top: Path, timeout: float = 5.0) -> bool:
    """rmdir `top` and every cgroup below it, deepest first; waits (up to `timeout`) while the
    kernel still counts dying processes in them. True if `top` is gone."""
    deadline = time.monotonic() + timeout
    while top.exists():
        for dirpath, _dirs, _files in os.walk(top, topdown=False):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
        if not top.exists() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return not top.exists()


def remove_recorded(record: Path) -> list[Path]:
    """Kill what is left in the cgroups in `record`, remove them (and the record); returns
    those that would not go. The caller must not be in them (see `leave`)."""
    dirs = recorded(record)
    for d in dirs:
        if d.exists():
            kill_all(d)
    left = [d for d in dirs if not remove_tree(d)]
    if not left:
        record.unlink(missing_ok=True)
    return left
