"""Run a program on a pseudo-terminal, as a reader at a terminal would: read what it shows,
wait for a text, type a line. For tests of what asks on a terminal (prompts, host keys)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class PtyRun:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                     env=dict(env) if env is not None else None, cwd=cwd,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.seen = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the program ended and closed the terminal
            return False
        self.seen += ANSI.sub("", data.decode("utf-8", "replace")).replace("\r", "")
        return bool(data)

    def expect(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """Wait until what was shown since the start matches `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.seen)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._read(0.2)):
                raise AssertionError(f"{pattern!r} never appeared; shown:\n{self.seen[-3000:]}")
            self._read(min(left, 0.5))

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout: float = 600.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.5)
        while self._read(0.1):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"still running after {timeout} s; shown:\n{self.seen[-3000:]}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)
