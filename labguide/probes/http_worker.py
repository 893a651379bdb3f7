"""The HTTP prober's worker: an open-model request loop in its own process and event loop.

Run as `python -m labguide.probes.http_worker CONFIG_JSON`; it writes JSON-line batches
to stdout and reads commands from stdin (EOF means stop). Nothing here knows a front-end.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import re
import resource
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from labguide.probes.events import OutageWindow, ProbeBatch, ProbeSummary
from labguide.probes.http_engines import Client, Fetch, connection_mode, open_client
from labguide.probes.http_protocol import ENGINES, WorkerConfig, encode
from labguide.probes.http_stats import OK, RequestResult, RunStats, exact_summary

BODY_KEEP = 200  # characters of the body kept per result


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (__cause__, __context__, aiohttp's os_error)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "os_error", None)])
    return seen


def classify(exc: BaseException) -> str:
    """The failure cause (see http_stats.CAUSES) of an exception from any engine."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "refused"
    for e in chain:
        if isinstance(e, TimeoutError) or "Timeout" in type(e).__name__:
            return "timeout"
    for e in chain:
        if isinstance(e, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return "reset"
        if isinstance(e, OSError) and e.errno in (errno.ECONNRESET, errno.EPIPE):
            return "reset"
    if names & {"ServerDisconnectedError", "ClientPayloadError", "RemoteProtocolError",
                "ReadError", "WriteError", "ClientOSError"}:
        return "reset"
    if names & {"ClientConnectorError", "ConnectError", "ClientConnectionError",
                "ClientConnectorDNSError", "ClientSSLError", "gaierror"}:
        return "connect_error"
    for e in chain:
        if isinstance(e, OSError):
            return "connect_error"
    return "other"


class Worker:
    """The request loop: starts requests on schedule, aggregates, emits batches."""

    def __init__(self, config: WorkerConfig, emit: Callable[[str], None]) -> None:
        if config.engine not in ENGINES:
            raise ValueError(f"unknown engine {config.engine!r}")
        self.config = config
        self.emit = emit
        self.rate = config.rate
        self._stop = asyncio.Event()
        self._rate_changed = asyncio.Event()
        self._expect = re.compile(config.expect) if config.expect else None
        self._epoch_offset = time.time() - time.monotonic()
        self.stats = RunStats(self.to_epoch, self._on_outage, config.recent,
                              config.late_threshold)
        self._tasks: set[asyncio.Task[None]] = set()
        self._out: IO[str] | None = None
        self._started_at = 0.0
        self._batch_from = 0.0
        self._clients: dict[str, Client] = {}
        #: the connection modes used so far, in order (the summary says them)
        self.modes: list[str] = []

    @property
    def mode(self) -> str:
        """'new' (a connection per request) or 'keepalive' at the current rate."""
        return connection_mode(self.rate, self.config.connections)

    def _client(self, mode: str) -> Client:
        """The client of a connection mode, opened once (the engine's import with it)."""
        client = self._clients.get(mode)
        if client is None:
            client = self._clients[mode] = open_client(self.config, mode)
        return client

    def _fetch(self) -> Fetch:
        """The fetch of the current rate's connection mode."""
        mode = self.mode
        if not self.modes or self.modes[-1] != mode:
            self.modes.append(mode)
        return self._client(mode).fetch

    async def _close_clients(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.close()

    def to_epoch(self, t: float) -> float:
        return t + self._epoch_offset

    def stop(self) -> None:
        self._stop.set()

    def set_rate(self, rate: float) -> None:
        self.rate = max(0.0, float(rate))
        self._rate_changed.set()

    def _on_outage(self, window: OutageWindow) -> None:
        self.emit(encode("outage", window))

    async def run(self) -> ProbeSummary:
        config = self.config
        if config.out:
            self._out = open(config.out, "w", encoding="utf-8")  # noqa: SIM115
        loop = asyncio.get_running_loop()
        self._client(self.mode)  # before the schedule starts: importing takes a while
        cpu0 = _cpu()
        self._started_at = self._batch_from = loop.time()
        batcher = asyncio.create_task(self._batches())
        scheduled_until = self._started_at
        try:
            await self._schedule()
            scheduled_until = loop.time()
            if self._tasks:  # let requests in flight finish (each is bounded by the timeout)
                await asyncio.wait(set(self._tasks), timeout=config.timeout + 1.0)
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=1.0)
        finally:
            batcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await batcher
            await self._close_clients()
        ended = loop.time()
        self.stats.outages.finish()
        self._emit_batch(ended)
        if self._out is not None:
            self._out.close()
        # The rate is over the sending period (as asked), not the drain of the last answers.
        return self._summary(scheduled_until - self._started_at, _cpu() - cpu0)

    async def _schedule(self) -> None:
        """Open model: request n of the current rate is due at base + n / rate."""
        loop = asyncio.get_running_loop()
        config = self.config
        stats = self.stats
        end = self._started_at + config.duration if config.duration is not None else None
        base = self._started_at
        n = 0
        seq = 0
        fetch: Fetch | None = None  # of the current rate's connection mode
        while not self._stop.is_set():
            if self._rate_changed.is_set():
                self._rate_changed.clear()
                base, n = loop.time(), 0
                fetch = None
            rate = self.rate
            if rate <= 0:
                await self._wait_for_change(None if end is None else end - loop.time())
                if end is not None and loop.time() >= end:
                    return
                continue
            due = base + n / rate
            if end is not None and due >= end:
                return
            now = loop.time()
            if due > now:
                await self._wait_for_change(due - now)
                continue
            n += 1
            if now - due > config.max_lateness or stats.in_flight >= config.max_in_flight:
                stats.on_drop(seq)
            else:
                fetch = fetch or self._fetch()
                task = loop.create_task(self._one(fetch, seq, due))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                stats.on_start(seq, now - due)
            seq += 1

    async def _wait_for_change(self, delay: float | None) -> None:
        """Sleep for delay seconds, or less if asked to stop or to change the rate."""
        if delay is not None and delay <= 0.05:
            await asyncio.sleep(max(delay, 0.0))  # the hot path: no extra tasks
            return
        waiters = [asyncio.ensure_future(self._stop.wait()),
                   asyncio.ensure_future(self._rate_changed.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _one(self, fetch: Fetch, seq: int, due: float) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        status: int | None = None
        latency: float | None = None
        body = ""
        error = ""
        try:
            status, data = await fetch()
            latency = loop.time() - started
            body = data[:BODY_KEEP].decode("utf-8", "replace").strip()
            if not 200 <= status < 400:
                cause = "http_error"
            elif self._expect is not None and not self._expect.search(body):
                cause = "wrong_body"
            else:
                cause = OK
        except asyncio.CancelledError:
            cause, error = "timeout", "cancelled at the end of the run"
        except Exception as exc:  # noqa: BLE001 - every failure is a result, classified
            cause = classify(exc)
            error = f"{type(exc).__name__}: {exc}"[:300]
        result = RequestResult(seq, due, started, latency, status, cause, body, error)
        self.stats.on_result(result)
        if self._out is not None:
            self._write_result(result)

    def _write_result(self, r: RequestResult) -> None:
        assert self._out is not None
        record: dict[str, Any] = {
            "seq": r.seq,
            "scheduled": round(self.to_epoch(r.scheduled), 6),
            "started": round(self.to_epoch(r.started), 6),
            "lateness_ms": round(max(r.lateness, 0.0) * 1000, 3),
            "latency_ms": round(r.latency * 1000, 3) if r.latency is not None else None,
            "status": r.status,
            "cause": r.cause,
            "body": r.body,
        }
        if r.error:
            record["error"] = r.error
        self._out.write(json.dumps(record, separators=(",", ":")) + "\n")

    async def _batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.batch_interval)
            self._emit_batch(loop.time())

    def _emit_batch(self, now: float) -> None:
        s = self.stats
        w = s.take_window()
        batch = ProbeBatch(
            t0=self.to_epoch(self._batch_from),
            t1=self.to_epoch(now),
            target_rate=self.rate,
            started=w.started,
            ok=w.ok,
            failed=w.failed,
            dropped=w.dropped,
            late=w.late,
            in_flight=s.in_flight,
            by_cause=dict(w.by_cause),
            by_status=dict(w.by_status),
            by_backend=dict(w.by_backend),
            latency=exact_summary(w.latencies),
            recent=tuple(s.answer(r) for r in w.recent),
            outage=s.outages.current,
            total_scheduled=s.scheduled,
            total_sent=s.sent,
            total_ok=s.ok,
            total_failed=s.failed,
            total_dropped=s.dropped,
            connections=self.mode,
            t=self.to_epoch(now),
        )
        self._batch_from = now
        self.emit(encode("batch", batch))

    def _summary(self, duration: float, cpu: float) -> ProbeSummary:
        s = self.stats
        config = self.config
        return ProbeSummary(
            url=config.url,
            engine=config.engine,
            target_rate=config.rate,
            duration=duration,
            scheduled=s.scheduled,
            http_reqs=s.sent,
            rate=s.sent / duration if duration > 0 else 0.0,
            http_req_failed=s.failed,
            checks_passed=s.ok,
            dropped=s.dropped,
            late=s.late,
            http_req_duration=s.latency.summary(),
            lateness_ms=s.lateness.summary(),
            by_cause=dict(s.by_cause),
            by_status=dict(s.by_status),
            by_backend=dict(s.by_backend),
            outages=tuple(s.outages.windows),
            cpu_seconds=cpu,
            max_in_flight=config.max_in_flight,
            connections=tuple(self.modes),
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _read_commands(worker: Worker) -> None:
    """Commands from the parent on stdin, one JSON object a line; EOF means stop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            worker.stop()
            return
        try:
            command = json.loads(line)
        except ValueError:
            continue
        if command.get("cmd") == "stop":
            worker.stop()
        elif command.get("cmd") == "rate":
            worker.set_rate(float(command["rate"]))


async def _main(config: WorkerConfig) -> None:
    out = sys.stdout

    def emit(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    worker = Worker(config, emit)
    commands = asyncio.create_task(_read_commands(worker))
    try:
        summary = await worker.run()
    finally:
        commands.cancel()
    emit(encode("summary", summary))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        config = WorkerConfig.from_json(args[0])
        asyncio.run(_main(config))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a line
        sys.stdout.write(json.dumps({"type": "error",
                                     "message": f"{type(exc).__name__}: {exc}"}) + "\n")
        sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
