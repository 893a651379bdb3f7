"""Per-command cost: a reused asyncssh connection vs a fresh `ssh host cmd` per command.

Both against the same OpenSSH sshd on loopback, in the same run. Writes a Markdown table
to stdout; docs/benchmarks.md records a run.

    .venv/bin/python bench/ssh_reuse.py [N]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labguide.transports.ssh import SshTransport  # noqa: E402
from tests.conftest import start_sshd  # noqa: E402


async def reused(t: SshTransport, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        res = await t.run("true", lambda s, line: None)
        times.append(time.perf_counter() - t0)
        assert res.ok
    return times


def fresh(info: object, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(
            ["ssh", "-p", str(info.port), "-i", str(info.identity),  # type: ignore[attr-defined]
             "-o", f"UserKnownHostsFile={info.known_hosts}",  # type: ignore[attr-defined]
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
             f"{info.user}@127.0.0.1", "true"],  # type: ignore[attr-defined]
            check=True, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


USER = "lgbench-ssh"


async def main(n: int) -> None:
    # A throw-away user with a plain shell and no rc files, so that both methods measure
    # SSH and not this machine's root .bashrc (which runs pyenv init for every session).
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--password", "*",
                    "--shell", "/bin/sh", USER], check=True)
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        info, proc = start_sshd(Path(d) / "sshd", user=USER)
        os.chmod(Path(d) / "sshd", 0o755)
        for name in ("id", "authorized_keys"):
            shutil.chown(Path(d) / "sshd" / name, user=USER)
        try:
            async with SshTransport(info.host()) as t:
                await reused(t, 5)  # warm-up
                a = await reused(t, n)
            b = await asyncio.to_thread(fresh, info, n)
        finally:
            proc.terminate()
            proc.wait()
            subprocess.run(["userdel", USER], check=False)
    ma, mb = statistics.median(a), statistics.median(b)
    print("| method | commands | median per command | mean |")
    print("|---|---|---|---|")
    print(f"| asyncssh, one reused connection | {n} | {ma * 1000:.2f} ms | "
          f"{statistics.mean(a) * 1000:.2f} ms |")
    print(f"| fresh `ssh host true` per command | {n} | {mb * 1000:.2f} ms | "
          f"{statistics.mean(b) * 1000:.2f} ms |")
    print(f"\nspeed-up (median): {mb / ma:.1f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
