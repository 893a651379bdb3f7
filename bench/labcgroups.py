"""What the sandbox lab's VMs spent, read from their own cgroups: each VM's cgroup2 directory
(found by the lab's records, labguide/sandbox/cgroups.py) and the units under the guest's
`payload/system.slice` (sshd and the commands it runs are `ssh.service`). cgroup2's
`cpu.stat` keeps what exited processes used, so a delta of two readings is all the CPU a VM
or unit spent between them. For the benches; changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from labguide.sandbox.cgroups import RECORD, recorded
from labguide.sandbox.paths import LabPaths


def _usage(stat: Path) -> float:
    fields = dict(line.split() for line in stat.read_text().splitlines())
    return int(fields["usage_usec"]) / 1e6


def unit_usage(paths: LabPaths) -> dict[str, float]:
    """CPU seconds so far by "VM" and "VM unit" (e.g. "client", "client ssh.service")."""
    out: dict[str, float] = {}
    for vm in sorted(paths.run.glob("vm/*")):
        try:
            name = json.loads((vm / "vm.json").read_text())["name"]
        except (OSError, ValueError, KeyError):
            name = vm.name
        for cgroup in recorded(vm / RECORD):
            if not (cgroup / "cpu.stat").is_file():
                continue  # the cgroup v1 record: no cpu.stat
            out[name] = _usage(cgroup / "cpu.stat")
            for stat in (cgroup / "payload" / "system.slice").glob("*/cpu.stat"):
                out[f"{name} {stat.parent.name}"] = _usage(stat)
    return out


def lab_usage(paths: LabPaths) -> float:
    """CPU seconds the lab's VMs have used, all together."""
    return sum(v for k, v in unit_usage(paths).items() if " " not in k)


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each VM and unit spent between two readings, largest first."""
    delta = {k: round(v - before.get(k, 0.0), 3) for k, v in after.items()}
    return dict(sorted(delta.items(), key=lambda kv: -kv[1]))
