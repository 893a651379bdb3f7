"""The engine: runs a plan's steps on their hosts and publishes what happens as events.

It keeps the run's state on disk (resume, --from) and a JSONL transcript. It knows nothing
of Textual or of any front-end: the TUI, the plain runner and --check subscribe to its bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from labguide.errors import HostError, LabguideError
from labguide.events import (
    EventBus,
    HostFinished,
    Output,
    RunFinished,
    StepFinished,
    StepStarted,
    StepStatus,
)
from labguide.plan import BoundStep, Plan
from labguide.redact import Redactor
from labguide.state import RunState, StepRecord, Transcript
from labguide.transports import Transport, make_transport

Mode = Literal["run", "check"]
TAIL_LINES = 200
#: qm subcommands that only read; the only ones a check may run on a Proxmox host.
READ_ONLY_QM = {"status", "config", "list"}
Confirm = Callable[[BoundStep], Awaitable[bool]]


@dataclass
class HostOutcome:
    exit_status: int | None = None
    duration: float = 0.0
    reason: str | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stdout: list[str] = field(default_factory=list)
    #: This host's own verdict (a step fails if any host fails).
    status: str = ""
    message: str = ""

    def as_record(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message,
                "exit_status": self.exit_status, "duration": round(self.duration, 3),
                "reason": self.reason, "tail": list(self.tail)[-40:]}


class TransportPool:
    """One transport (one connection) per host, created on first use and reused."""

    def __init__(self, plan: Plan, *, accept_new_host_keys: bool = False,
                 preset: dict[str, Transport] | None = None) -> None:
        self.plan = plan
        self.accept_new_host_keys = accept_new_host_keys
        self._transports: dict[str, Transport] = dict(preset or {})

    def get(self, host: str) -> Transport:
        if host not in self._transports:
            self._transports[host] = make_transport(
                self.plan.host(host), accept_new_host_keys=self.accept_new_host_keys)
        return self._transports[host]

    async def close(self) -> None:
        for transport in self._transports.values():
            with contextlib.suppress(Exception):
                await transport.close()


#: Printed by a host; differs after each boot (see Engine._boot_marker).
BOOT_MARKER = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"


class Engine:
    def __init__(
        self,
        plan: Plan,
        *,
        bus: EventBus | None = None,
        state: RunState | None = None,
        transcript: Transcript | None = None,
        mode: Mode = "run",
        pool: TransportPool | None = None,
        accept_new_host_keys: bool = False,
    ) -> None:
        self.plan = plan
        self.bus = bus or EventBus()
        self.state = state
        self.transcript = transcript
        self.mode = mode
        self.pool = pool or TransportPool(plan, accept_new_host_keys=accept_new_host_keys)
        self.redact = Redactor(plan.secrets)
        self._background: dict[str, asyncio.Task[StepRecord]] = {}
        self.results: dict[str, StepRecord] = {}

    # -- queries ------------------------------------------------------------------------

    def status(self, step_id: str) -> StepStatus:
        if step_id in self._background:
            return StepStatus.RUNNING
        if step_id in self.results:
            return self.results[step_id].status
        return self.state.status(step_id) if self.state else StepStatus.PENDING

    def next_step(self) -> str | None:
        """The first step that has not passed (where a resumed run continues)."""
        for b in self.plan.steps:
            if not self.status(b.id).ok:
                return b.id
        return None

    def skip(self, step_id: str, reason: str = "skipped") -> StepRecord:
        """Record a step as skipped by the user (saved, in the transcript, on the bus)."""
        bound = self.plan.bound(step_id)
        rec = StepRecord(status=StepStatus.SKIPPED, finished_at=time.time(), message=reason)
        self.results[step_id] = rec
        if self.state is not None and self.mode == "run":
            self.state.cursor = step_id
            self.state.record(step_id, rec)
        self._log("step_finished", step=step_id, status="skipped", duration=0, message=reason)
        self.bus.publish(StepFinished(bound.id, StepStatus.SKIPPED, 0.0, reason))
        return rec

    # -- events ---------------------------------------------------------------------------

    def _log(self, event: str, **data: Any) -> None:
        if self.transcript is not None:
            self.transcript.write({"t": round(time.time(), 4), "event": event, **data})

    def _emit_line(self, step_id: str, host: str, stream: str, line: str,
                   outcome: HostOutcome | None = None) -> None:
        line = self.redact(line)
        if outcome is not None:
            outcome.tail.append(line)
            if stream == "stdout":
                outcome.stdout.append(line)
        self._log("output", step=step_id, host=host, stream=stream, line=line)
        self.bus.publish(Output(step_id, host, stream, line))

    # -- running --------------------------------------------------------------------------

    async def run_step(self, step_id: str, *, hosts: tuple[str, ...] | None = None
                       ) -> StepRecord:
        """Run one step and record the result. Cancelling records CANCELLED.

        `hosts` narrows a step to some of its hosts (--check leaves out hosts that do not
        exist yet).
        """
        bound = self.plan.bound(step_id)
        if hosts is not None:
            assert set(hosts) <= set(bound.step.hosts), hosts
            bound = dataclasses.replace(
                bound, step=dataclasses.replace(bound.step, hosts=hosts))
        step = bound.step
        if self.mode == "check" and not self._allowed_in_check(bound):
            raise LabguideError(
                f"step {step_id} changes the lab; --check runs only read-only checks",
                step.location)
        if step.kind == "load" and step.background:
            return self._start_background(bound)
        return await self._run_recorded(bound)

    def _allowed_in_check(self, bound: BoundStep) -> bool:
        step = bound.step
        if not step.read_only:
            return False
        if step.lang == "qm":
            from labguide.transports.qm import parse_qm_script

            return all(c.subcommand in READ_ONLY_QM for c in parse_qm_script(bound.script))
        return True

    async def _run_recorded(self, bound: BoundStep) -> StepRecord:
        step = bound.step
        started = time.monotonic()
        self.bus.publish(StepStarted(step.id, step.hosts))
        self._log("step_started", step=step.id, kind=step.kind, hosts=list(step.hosts),
                  script=self.redact(bound.shown), path=bound.shown_path)
        outcomes: dict[str, HostOutcome] = {h: HostOutcome() for h in step.hosts}
        try:
            status, message, detail = await self._dispatch(bound, outcomes)
        except asyncio.CancelledError:
            self._finish(bound, StepStatus.CANCELLED, "cancelled", {}, outcomes, started)
            raise
        except LabguideError as exc:
            status, message, detail = StepStatus.FAILED, self.redact(str(exc)), {}
        return self._finish(bound, status, message, detail, outcomes, started)

    def _finish(self, bound: BoundStep, status: StepStatus, message: str,
                detail: dict[str, Any], outcomes: dict[str, HostOutcome],
                started: float) -> StepRecord:
        duration = time.monotonic() - started
        rec = StepRecord(status=status, duration=duration, finished_at=time.time(),
                         message=message, hosts={h: o.as_record() for h, o in outcomes.items()},
                         detail=detail)
        self.results[bound.id] = rec
        if self.state is not None and self.mode == "run":
            self.state.cursor = bound.id
            self.state.record(bound.id, rec)
        self._log("step_finished", step=bound.id, status=status.value,
                  duration=round(duration, 3), message=message, detail=detail,
                  hosts={h: {k: v for k, v in o.as_record().items() if k != "tail"}
                         for h, o in outcomes.items()})
        for host in bound.step.hosts:
            accepted = getattr(self.pool.get(host), "accepted_keys", None)
            while accepted:
                key = accepted.pop(0)
                self._log("host_key_accepted", host=host, fingerprint=key)
                self.bus.publish(Output(bound.id, host, "info",
                                        f"accepted and recorded a new host key: {key}"))
        if self.transcript is not None:
            self.transcript.sync()
        self.bus.publish(StepFinished(bound.id, status, duration, message, detail))
        return rec

    async def _dispatch(self, bound: BoundStep, outcomes: dict[str, HostOutcome]
                        ) -> tuple[StepStatus, str, dict[str, Any]]:
        step = bound.step
        if step.delay:
            for host in step.hosts:
                self._emit_line(step.id, host, "info",
                                f"waiting {step.delay:g} s before running (delay={step.delay:g})")
            await asyncio.sleep(step.delay)
        if step.kind == "file":
            return await self._per_host(bound, outcomes, self._write_file)
        if step.kind == "wait" and self.mode == "run":
            return await self._per_host(bound, outcomes, self._wait)
        if step.kind == "wait":  # --check looks at the lab as it is: once, no waiting
            return await self._per_host(bound, outcomes, self._check_once)
        if step.kind == "check":
            return await self._per_host(bound, outcomes, self._check_once)
        if step.kind == "load":
            from labguide.loadtest import run_load

            return await run_load(self, bound, outcomes[step.hosts[0]])
        return await self._per_host(bound, outcomes, self._run_script)

    async def _per_host(
        self, bound: BoundStep, outcomes: dict[str, HostOutcome],
        action: Callable[[BoundStep, str, HostOutcome], Awaitable[tuple[StepStatus, str]]],
    ) -> tuple[StepStatus, str, dict[str, Any]]:
        step = bound.step

        async def one(host: str) -> tuple[StepStatus, str]:
            t0 = time.monotonic()
            outcome = outcomes[host]
            try:
                status, msg = await action(bound, host, outcome)
            except HostError as exc:
                status, msg = StepStatus.FAILED, self.redact(str(exc))
                outcome.reason = "unreachable"
                self._emit_line(step.id, host, "stderr", msg, outcome)
            outcome.duration = time.monotonic() - t0
            outcome.status, outcome.message = status.value, msg
            self.bus.publish(HostFinished(step.id, host, outcome.exit_status, outcome.duration,
                                          None if status.ok else msg))
            return status, msg

        results = await asyncio.gather(*(one(h) for h in step.hosts))
        order = [StepStatus.FAILED, StepStatus.WARNED, StepStatus.PASSED]
        worst = min((s for s, _ in results), key=lambda s: order.index(s) if s in order else 9)
        msgs = [f"{h}: {m}" for h, (s, m) in zip(step.hosts, results, strict=True)
                if m and s == worst]
        if worst == StepStatus.PASSED:
            message = bound.message or (msgs[0].split(": ", 1)[1] if len(msgs) == 1 else "")
        else:
            message = "; ".join(msgs)
        return worst, message, {}

    async def _exec(self, bound: BoundStep, host: str, outcome: HostOutcome,
                    script: str, timeout: float, quiet: bool = False) -> None:
        transport = self.pool.get(host)
        sink_lines: list[tuple[str, str]] = []

        def sink(stream: str, line: str) -> None:
            if quiet:
                sink_lines.append((stream, line))
            else:
                self._emit_line(bound.id, host, stream, line, outcome)

        outcome.stdout.clear()
        result = await transport.run(script, sink, timeout=timeout)
        if quiet:
            outcome.stdout = [self.redact(line) for s, line in sink_lines if s == "stdout"]
            outcome.tail.clear()
            outcome.tail.extend(self.redact(line) for _, line in sink_lines)
        outcome.exit_status = result.exit_status
        outcome.reason = result.reason
        self._log("command", step=bound.id, host=host, exit_status=result.exit_status,
                  reason=result.reason, duration=round(result.duration, 3))

    async def _run_script(self, bound: BoundStep, host: str, outcome: HostOutcome
                          ) -> tuple[StepStatus, str]:
        step = bound.step
        if step.reboot:
            return await self._reboot(bound, host, outcome)
        await self._exec(bound, host, outcome, bound.script, step.timeout)
        if outcome.reason == "timeout":
            return StepStatus.FAILED, f"timed out after {step.timeout:g} s"
        if outcome.reason:
            return StepStatus.FAILED, f"no exit status ({outcome.reason})"
        if outcome.exit_status != 0:
            return StepStatus.FAILED, f"exit status {outcome.exit_status}"
        if step.wait_ssh:
            return await self._wait_reachable(bound, step.wait_ssh, outcome, step.timeout)
        return StepStatus.PASSED, ""

    async def _reboot(self, bound: BoundStep, host: str, outcome: HostOutcome
                      ) -> tuple[StepStatus, str]:
        """Run a command that reboots the host: the connection drops, then wait for it back."""
        step = bound.step
        t0 = time.monotonic()
        before = await self._boot_marker(host)
        await self._exec(bound, host, outcome, bound.script, min(step.timeout, 60))
        if outcome.exit_status not in (None, 0, 255, -1) and outcome.reason is None:
            return StepStatus.FAILED, f"reboot failed with exit status {outcome.exit_status}"
        transport = self.pool.get(host)
        with contextlib.suppress(Exception):
            await transport.close()
        await asyncio.sleep(1.0)
        status, msg = await self._wait_reachable(bound, host, outcome, step.timeout - 1,
                                                 since=t0, old_boot=before)
        return status, msg

    async def _boot_marker(self, host: str) -> str | None:
        """What changes when `host` boots: the kernel's boot id (a VM) and its PID 1's start
        time (a container shares the kernel). None if the host cannot say."""
        lines: list[str] = []
        try:
            result = await self.pool.get(host).run(BOOT_MARKER, lambda s, line: lines.append(
                line) if s == "stdout" else None, timeout=10)
        except (HostError, TimeoutError, OSError):
            return None
        if not result.ok:
            return None
        return " ".join(lines).strip() or None

    async def _wait_reachable(self, bound: BoundStep, host: str, outcome: HostOutcome,
                              timeout: float, since: float | None = None,
                              old_boot: str | None = None) -> tuple[StepStatus, str]:
        """Until `host` runs a command again (and, after a reboot, from a new boot)."""
        t0 = since or time.monotonic()
        deadline = time.monotonic() + max(timeout, 1.0)
        transport = self.pool.get(host)
        attempt = 0
        last_error = ""
        last_note = 0.0
        while time.monotonic() < deadline:
            attempt += 1
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                    await transport.connect()
                now = await self._boot_marker(host) if old_boot else None
                if old_boot is not None and now == old_boot:
                    back = False
                    last_error = "it still runs the boot from before the reboot"
                elif now is not None:
                    back = True  # a new boot
                else:  # no reboot to tell apart, or the host cannot say: it answers
                    back = (await transport.run("true", lambda s, line: None, timeout=10)).ok
                if back:
                    away = time.monotonic() - t0
                    self._emit_line(bound.id, host, "info",
                                    f"{host} answers again after {away:.1f} s", outcome)
                    return StepStatus.PASSED, f"{host} was back after {away:.1f} s"
            except HostError as exc:
                if "host key" in exc.message:
                    raise
                last_error = exc.message
            except (TimeoutError, OSError) as exc:
                last_error = str(exc) or type(exc).__name__
            if time.monotonic() - last_note > 5:
                last_note = time.monotonic()
                self._emit_line(bound.id, host, "info",
                                f"waiting for {host} to answer SSH "
                                f"({time.monotonic() - t0:.0f} s so far)", outcome)
            with contextlib.suppress(Exception):
                await transport.close()
            await asyncio.sleep(min(0.5 * attempt, 2.0))
        return StepStatus.FAILED, (f"{host} did not answer within {timeout:g} s"
                                   + (f" ({last_error})" if last_error else ""))

    def _judge(self, bound: BoundStep, outcome: HostOutcome) -> tuple[StepStatus, str]:
        step = bound.step
        if outcome.reason == "timeout":
            return StepStatus.FAILED, f"the check timed out after {step.timeout:g} s"
        if outcome.reason:
            return StepStatus.FAILED, f"the check did not finish ({outcome.reason})"
        found = "\n".join(outcome.stdout).strip()
        if outcome.exit_status == 2:
            return StepStatus.WARNED, found.splitlines()[-1] if found else "warning"
        if outcome.exit_status != 0:
            last = found.splitlines()[-1] if found else ""
            return StepStatus.FAILED, (last or f"exit status {outcome.exit_status}")
        if step.expect and not re.search(step.expect, found):
            return StepStatus.FAILED, f"expected output matching {step.expect!r}"
        return StepStatus.PASSED, bound.message

    async def _check_once(self, bound: BoundStep, host: str, outcome: HostOutcome
                          ) -> tuple[StepStatus, str]:
        if bound.step.lang == "keepalived":
            return await self._check_keepalived(bound, host, outcome)
        await self._exec(bound, host, outcome, bound.script, bound.step.timeout)
        return self._judge(bound, outcome)

    async def _check_keepalived(self, bound: BoundStep, host: str, outcome: HostOutcome
                                ) -> tuple[StepStatus, str]:
        """Parse the host's keepalived.conf and compare it with the block's expectation."""
        from labguide import keepalived_conf as kc

        assert bound.path is not None
        data = await self.pool.get(host).read_file(bound.path, sudo=bound.step.sudo,
                                                   timeout=bound.step.timeout)
        if data is None:
            outcome.exit_status = 1
            self._emit_line(bound.id, host, "stdout", f"{bound.shown_path} does not exist",
                            outcome)
            return StepStatus.FAILED, f"{bound.shown_path} does not exist"
        try:
            found = kc.summary(kc.parse(data.decode("utf-8", "replace")))
            diffs = kc.compare(kc.expectation(bound.script), found)
        except LabguideError as exc:
            outcome.exit_status = 1
            self._emit_line(bound.id, host, "stdout", exc.message, outcome)
            return StepStatus.FAILED, exc.message
        for line in diffs or ["configuration matches"]:
            self._emit_line(bound.id, host, "stdout", line, outcome)
        outcome.exit_status = 1 if diffs else 0
        if diffs:
            return StepStatus.FAILED, self.redact(  # found values may hold a secret
                "; ".join(diffs[:3]) + (" …" if len(diffs) > 3 else ""))
        return StepStatus.PASSED, bound.message

    async def _wait(self, bound: BoundStep, host: str, outcome: HostOutcome
                    ) -> tuple[StepStatus, str]:
        step = bound.step
        deadline = time.monotonic() + step.timeout
        attempts = 0
        t0 = time.monotonic()
        while True:
            attempts += 1
            remaining = max(deadline - time.monotonic(), 0.5)
            await self._exec(bound, host, outcome, bound.script, min(remaining, 30), quiet=True)
            status, msg = self._judge(bound, outcome)
            if status.ok or time.monotonic() >= deadline:
                for line in outcome.tail:
                    self.bus.publish(Output(bound.id, host, "stdout", line))
                    self._log("output", step=bound.id, host=host, stream="stdout", line=line)
                took = time.monotonic() - t0
                note = f"after {took:.1f} s ({attempts} tries)"
                self._emit_line(bound.id, host, "info",
                                f"{'true' if status.ok else 'still not true'} {note}", outcome)
                if status.ok:
                    return status, f"{bound.message or 'condition met'} {note}".strip()
                return StepStatus.FAILED, f"{msg}; gave up after {step.timeout:g} s"
            await asyncio.sleep(step.interval)

    async def _write_file(self, bound: BoundStep, host: str, outcome: HostOutcome
                          ) -> tuple[StepStatus, str]:
        step = bound.step
        assert bound.path is not None
        transport = self.pool.get(host)
        new = bound.script.encode()
        old = await transport.read_file(bound.path, sudo=step.sudo, timeout=step.timeout)
        for line in self.diff(bound, old):
            self._emit_line(step.id, host, "diff", line, outcome)
        if old == new:
            self._emit_line(step.id, host, "info", f"{bound.shown_path} is already up to date",
                            outcome)
            outcome.exit_status = 0
            return StepStatus.PASSED, "unchanged"
        await transport.write_file(bound.path, new, mode=step.mode, sudo=step.sudo,
                                   timeout=step.timeout)
        outcome.exit_status = 0
        self._emit_line(step.id, host, "info", f"wrote {bound.shown_path} ({len(new)} bytes)",
                        outcome)
        return StepStatus.PASSED, f"wrote {bound.shown_path}"

    def diff(self, bound: BoundStep, old: bytes | None) -> list[str]:
        """Unified diff of what a file step would change (old None: the file is new), between
        the masked texts: a secret (multi-line too) never shows, not even line by line."""
        assert bound.shown_path is not None
        before = self.redact((old or b"").decode("utf-8", "replace")).splitlines()
        after = bound.shown.splitlines()
        label = bound.shown_path if old is not None else "/dev/null"
        return [self.redact(line.rstrip("\n")) for line in difflib.unified_diff(
            before, after, fromfile=label, tofile=bound.shown_path, lineterm="")]

    async def preview(self, step_id: str) -> dict[str, list[str]]:
        """For a file step: the diff per host, read now, before anything is written."""
        bound = self.plan.bound(step_id)
        if bound.step.kind != "file" or bound.path is None:
            return {}
        out = {}
        for host in bound.step.hosts:
            old = await self.pool.get(host).read_file(bound.path, sudo=bound.step.sudo,
                                                      timeout=bound.step.timeout)
            out[host] = self.diff(bound, old)
        return out

    # -- background steps (load tests that run while the next steps break things) -------

    def _start_background(self, bound: BoundStep) -> StepRecord:
        task = asyncio.create_task(self._run_recorded(bound), name=f"load:{bound.id}")
        self._background[bound.id] = task
        task.add_done_callback(lambda _t: self._background.pop(bound.id, None))
        return StepRecord(status=StepStatus.RUNNING, message="running in the background")

    @property
    def background(self) -> tuple[str, ...]:
        return tuple(self._background)

    async def wait_background(self) -> None:
        while self._background:
            await asyncio.gather(*self._background.values(), return_exceptions=True)

    async def cancel_background(self) -> None:
        for task in list(self._background.values()):
            task.cancel()
        await self.wait_background()

    # -- whole runs (used by the plain runner; the TUI drives run_step itself) ----------

    async def run(self, *, start: str | None = None, confirm: Confirm | None = None,
                  stop_after: str | None = None) -> StepStatus:
        """Run steps in order from start (default: where the last run stopped)."""
        steps = self.plan.steps
        first = self.plan.index(start) if start else None
        if first is None:
            nxt = self.next_step()
            if nxt is None:
                self.bus.publish(RunFinished(StepStatus.PASSED, None))
                return StepStatus.PASSED
            first = self.plan.index(nxt)
        final = StepStatus.PASSED
        last: str | None = None
        section = steps[first].step.section
        try:
            for bound in steps[first:]:
                if bound.step.section != section:
                    await self.wait_background()
                    section = bound.step.section
                if confirm is not None and bound.step.disruptive and not await confirm(bound):
                    rec = StepRecord(status=StepStatus.CANCELLED, message="not confirmed")
                    self.results[bound.id] = rec
                    final, last = StepStatus.CANCELLED, bound.id
                    break
                rec = await self.run_step(bound.id)
                last = bound.id
                if rec.status in (StepStatus.FAILED, StepStatus.CANCELLED):
                    final = rec.status
                    break
                if stop_after and bound.id == stop_after:
                    break
            await self.wait_background()
            for sid, rec in self.results.items():
                if rec.status == StepStatus.FAILED and final == StepStatus.PASSED:
                    final, last = StepStatus.FAILED, sid
        finally:
            self.bus.publish(RunFinished(final, last))
        return final

    async def close(self) -> None:
        await self.cancel_background()
        await self.pool.close()
        if self.transcript is not None:
            self.transcript.close()
