"""sudo that would ask for a password fails at once with a clear hint (no hanging prompt)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.transports.ssh import SshTransport
from tests.conftest import Sshd, start_sshd

USER = "lgtest-nosudo"


@pytest.fixture()
def plain_user_sshd() -> Iterator[Sshd]:
    """An sshd letting in a throw-away user who is not allowed passwordless sudo."""
    if shutil.which("sudo") is None or shutil.which("useradd") is None:
        pytest.skip("sudo or useradd missing")
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                    "/bin/bash", "--password", "*", USER], check=True)
    proc = None
    # not under pytest's tmp folders: their parents are private to root, and sshd reads
    # authorized_keys as the user
    folder = Path(tempfile.mkdtemp(prefix="lgtest-sudo-"))
    try:
        os.chmod(folder, 0o755)
        info, proc = start_sshd(folder / "sshd", user=USER)
        os.chmod(folder / "sshd", 0o755)
        shutil.chown(folder / "sshd" / "authorized_keys", user=USER)
        yield info
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(5)
        subprocess.run(["userdel", USER], check=False)
        shutil.rmtree(folder, ignore_errors=True)


async def test_sudo_password_prompt_is_a_clear_error(plain_user_sshd: Sshd) -> None:
    lines: list[tuple[str, str]] = []
    async with SshTransport(plain_user_sshd.host()) as t:
        res = await t.run("sudo systemctl restart keepalived",
                          lambda s, line: lines.append((s, line)), timeout=20)
    assert res.exit_status not in (0, None)
    hints = [line for s, line in lines if s == "info"]
    assert hints and "passwordless sudo" in hints[0] and "NOPASSWD" in hints[0]
