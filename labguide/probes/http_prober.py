"""The HTTP prober's async API: runs the request loop in a worker process, publishes its events.

The worker (labguide.probes.http_worker) has its own interpreter and event loop, so a busy
UI or engine in this process cannot starve it (the GIL); it sends aggregated batches back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import urllib.parse
from collections import deque
from collections.abc import Callable

from labguide.errors import LabguideError
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.probes.events import ProbeBatch, ProbeSummary
from labguide.probes.http_engines import CONNECTIONS
from labguide.probes.http_protocol import ENGINES, WorkerConfig, decode


class Prober:
    """GET `url` at `rate` requests per second (open model), in a worker process.

    `start()` launches it; `set_rate(n)` changes the rate on the fly (0 pauses);
    `wait()` returns the summary once `duration` has passed; `stop()` ends it early and
    returns the summary. Every batch (ProbeBatch, every `batch_interval` s), finished
    outage (OutageWindow) and the final ProbeSummary go to `publish`.

    `connections`: "auto" opens a new connection per request up to 100/s (as curl does:
    HAProxy in TCP mode balances connections) and keeps 10 alive above (as k6's VUs do);
    "new" or "keepalive" fix the mode (labguide.probes.http_engines).
    """

    def __init__(
        self,
        url: str,
        rate: float,
        timeout: float = 2.0,
        duration: float | None = None,
        publish: Callable[[Event], None] | None = None,
        *,
        engine: str = "aiohttp",
        max_in_flight: int = 1000,
        expect: str | None = None,
        out: str | None = None,
        batch_interval: float = 0.1,
        max_lateness: float = 1.0,
        connections: str = "auto",
        python: str = sys.executable,
    ) -> None:
        if engine not in ENGINES:
            raise LabguideError(_("unknown prober engine {name!r}").format(name=engine),
                                hint=_("one of: {names}").format(names=", ".join(ENGINES)))
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LabguideError(_("not an http(s) URL: {url!r}").format(url=url),
                                hint=_("e.g. {url}").format(url="http://198.18.16.140/hostname"))
        if rate < 0:
            raise LabguideError(_("the rate must be >= 0, not {rate}").format(rate=rate))
        if connections not in CONNECTIONS:
            raise LabguideError(_("unknown connection mode {name!r}").format(name=connections),
                                hint=_("one of: {names}").format(names=", ".join(CONNECTIONS)))
        if timeout <= 0:
            raise LabguideError(_("the timeout must be > 0, not {timeout}").format(
                timeout=timeout))
        self.config = WorkerConfig(
            url=url, rate=rate, timeout=timeout, duration=duration, engine=engine,
            max_in_flight=max_in_flight, expect=expect, out=out,
            batch_interval=batch_interval, max_lateness=max_lateness,
            connections=connections,
        )
        self._publish = publish or (lambda event: None)
        self._python = python
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._stderr_task: asyncio.Task[None] | None = None
        self._error: str | None = None
        self.summary: ProbeSummary | None = None
        #: The latest batch, for whoever polls instead of subscribing.
        self.latest: ProbeBatch | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The worker process's pid while it runs (benchmarks read its memory)."""
        return self._proc.pid if self.running and self._proc is not None else None

    async def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("the prober was already started")
        self._proc = await asyncio.create_subprocess_exec(
            self._python, "-m", "labguide.probes.http_worker", self.config.to_json(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**22,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._reader = asyncio.create_task(self._read(self._proc.stdout))
        self._stderr_task = asyncio.create_task(self._read_stderr(self._proc.stderr))

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while True:
            line = await stdout.readline()
            if not line:
                return
            try:
                event = decode(line.decode("utf-8", "replace"))
            except (ValueError, KeyError, TypeError) as exc:
                self._error = f"unreadable line from the prober worker: {exc}"
                continue
            if isinstance(event, str):
                self._error = event
                continue
            if isinstance(event, ProbeBatch):
                self.latest = event
            elif isinstance(event, ProbeSummary):  # it carries every outage window
                self.summary = event
            self._publish(event)

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        while True:
            line = await stderr.readline()
            if not line:
                return
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def _send(self, command: dict[str, object]) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.stdin.is_closing():
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._proc.stdin.write((json.dumps(command) + "\n").encode())

    def set_rate(self, rate: float) -> None:
        """Change the rate now; the schedule restarts from this moment at the new rate."""
        if rate < 0:
            raise LabguideError(_("the rate must be >= 0, not {rate}").format(rate=rate))
        self._send({"cmd": "rate", "rate": rate})

    def request_stop(self) -> None:
        """Ask the worker to stop now (non-blocking, e.g. from a signal handler); then wait()."""
        self._send({"cmd": "stop"})

    async def wait(self) -> ProbeSummary:
        """Wait until the worker ends by itself (its duration passed) and return the summary."""
        if self._proc is None:
            raise RuntimeError("the prober was not started")
        try:
            await self._proc.wait()
            if self._reader is not None:
                await self._reader
            if self._stderr_task is not None:
                await self._stderr_task
        except asyncio.CancelledError:
            await asyncio.shield(self._kill())
            raise
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if self.summary is None:
            detail = self._error or " | ".join(self._stderr) or f"exit {self._proc.returncode}"
            raise LabguideError(_("the HTTP prober for {url} failed: {error}").format(
                url=self.config.url, error=detail))
        return self.summary

    async def stop(self) -> ProbeSummary:
        """Stop scheduling, let requests in flight end (bounded by the timeout), summarize."""
        if self.summary is not None:
            return self.summary
        self.request_stop()
        return await self.wait()

    async def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        for task in (self._reader, self._stderr_task):
            if task is not None:
                task.cancel()

    async def __aenter__(self) -> Prober:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.running:
            try:
                await asyncio.wait_for(self.stop(), self.config.timeout + 5.0)
            except (TimeoutError, LabguideError):
                await self._kill()
