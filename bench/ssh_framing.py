"""Per-command cost of sending the script on stdin (transports/shell.py PRELUDE: a length line,
`read -N`, eval) against the script as one `bash -c` argument, as before. Both over one
asyncssh connection to an OpenSSH sshd on loopback, interleaved in the same run.

    .venv/bin/python bench/ssh_framing.py [N]

Prints a Markdown table; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import asyncio
import os
import shlex
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


def as_argument(script: str) -> str:
    """The remote command before: the script inside the command line."""
    body = 'printf "%s\\n" "$$"\n' + script
    return f"exec setsid -w bash --norc --noprofile -ec {shlex.quote(body)}"


async def measure(t: SshTransport, n: int) -> tuple[list[float], list[float]]:
    conn = await t._connection()  # noqa: SLF001 (a bench: the raw connection for the old way)
    framed: list[float] = []
    argument: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        assert (await t.run("true", lambda s, line: None)).ok
        framed.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert (await conn.run(as_argument("true"), check=False)).exit_status == 0
        argument.append(time.perf_counter() - t0)
    return framed, argument


USER = "lgbench-frame"


async def main(n: int) -> None:
    # a throw-away user with a plain shell and no rc files (as bench/ssh_reuse.py), so that
    # the login shell does not drown the difference (root's .bashrc runs pyenv init here)
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--password", "*", "--shell", "/bin/sh", USER], check=True)
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        sshd, proc = start_sshd(Path(d) / "sshd", user=USER)
        os.chmod(Path(d) / "sshd", 0o755)
        for name in ("id", "authorized_keys"):
            shutil.chown(Path(d) / "sshd" / name, user=USER)
        try:
            async with SshTransport(sshd.host()) as t:
                await measure(t, 5)  # warm up
                framed, argument = await measure(t, n)
        finally:
            proc.terminate()
            proc.wait()
            subprocess.run(["userdel", USER], check=False)
    print("| script sent | commands | median | mean |")
    print("|---|---|---|---|")
    for name, xs in (("on stdin (length line, read -N, eval)", framed),
                     ("as one bash -c argument (before)", argument)):
        print(f"| {name} | {len(xs)} | {statistics.median(xs) * 1000:.2f} ms "
              f"| {statistics.fmean(xs) * 1000:.2f} ms |")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
