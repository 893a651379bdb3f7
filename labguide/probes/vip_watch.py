"""The VIP watcher: one long-lived channel per host streaming `ip monitor address`, plus one
for keepalived (its log and its service's state, keepalived_source.py), turned into VipState
changes and published events; the split-brain alarm raised on time (VipState.due).
Reconnects by itself.

Uses only the Transport interface (stream/connect); knows nothing of front-ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from labguide.events import Event
from labguide.probes.keepalived_source import (
    CONF_BEGIN,
    CONF_END,
    HISTORY_END,
    JOURNAL_COMMAND,
    TICK_LINE,
)
from labguide.probes.keepalived_state import KeepalivedView
from labguide.probes.vip_parse import (
    AddressChange,
    parse_active_line,
    parse_address_line,
    parse_keepalived_line,
)
from labguide.probes.vip_state import VipState
from labguide.transports.base import Transport

PRIME_BEGIN = "@prime-begin"
PRIME_END = "@prime-end"

#: Streams the host's address changes, then lists its addresses once the monitor listens.
#: TZ=UTC so that `-ts` timestamps are UTC; the monitor dies with the channel (same group).
ADDRESS_COMMAND = (
    "export TZ=UTC LC_ALL=C; exec 2>&1; "
    "ip -o -ts monitor address & mon=$!; "
    "trap 'kill $mon 2>/dev/null' EXIT HUP INT TERM; "
    "sleep 0.2; "
    f"echo {PRIME_BEGIN}; ip -o addr show; echo {PRIME_END}; "
    "wait $mon"
)

#: keepalived's view on the chapter's hosts (journal and systemd); see keepalived_source.py
KEEPALIVED_COMMAND = JOURNAL_COMMAND
#: how long to wait for the hypervisor's word on a lost host's VM
POWER_TIMEOUT = 3.0

#: power(host) -> "stopped", "running" or "" (not known): the host's VM, from a hypervisor
Power = Callable[[str], Awaitable[str]]


class VipWatcher:
    """Watches which of `transports`' hosts hold each of `vips`, and keepalived's state.

    `run()` runs until cancelled. A host that cannot be reached, or whose channel breaks
    (reboot), is an event (HostReachability) and is retried with backoff, never a crash.
    `state` is the live VipState model.

    `keepalived_command`: the command that tells keepalived's state (keepalived_source.py;
    default: its journal and systemd, as on the chapter's hosts), or one per host; None to
    not watch keepalived. `power`: asks a hypervisor whether a lost host's VM runs, so that
    "host not running" is told apart from "unreachable".
    """

    def __init__(
        self,
        transports: Mapping[str, Transport],
        vips: Sequence[str],
        publish: Callable[[Event], None],
        *,
        keepalived_command: str | Mapping[str, str] | None = KEEPALIVED_COMMAND,
        address_command: str = ADDRESS_COMMAND,
        backoff: tuple[float, float] = (0.5, 5.0),
        clock: Callable[[], float] = time.time,
        power: Power | None = None,
    ) -> None:
        self.transports = dict(transports)
        self.state = VipState(vips, self.transports)
        self._publish = publish
        self._keepalived_command = keepalived_command
        self._address_command = address_command
        self._backoff = backoff
        self._clock = clock
        self._power = power
        self._up: dict[str, asyncio.Event] = {}
        self._alarm: asyncio.TimerHandle | None = None

    def _emit(self, events: list[Event]) -> None:
        for event in events:
            self._publish(event)
        if events:
            self._arm()

    def _arm(self) -> None:
        """Look again when a handover in progress would become a split brain."""
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None
        due = self.state.next_due()
        if due is not None:
            delay = max(due - self._clock(), 0.0) + 0.001
            self._alarm = asyncio.get_running_loop().call_later(delay, self._on_due)

    def _on_due(self) -> None:
        self._alarm = None
        self._emit(self.state.due(self._clock()))
        if self._alarm is None and self.state.next_due() is not None:
            self._arm()  # the clock ran early: wait the rest

    async def run(self) -> None:
        self._up = {host: asyncio.Event() for host in self.transports}
        try:
            await self._run_all()
        finally:
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = None

    async def _run_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            for host, transport in self.transports.items():
                group.create_task(self._watch_addresses(host, transport),
                                  name=f"vip-watch:{host}")
                command = self._keepalived_for(host)
                if command is not None:
                    group.create_task(self._watch_keepalived(host, transport, command),
                                      name=f"keepalived-watch:{host}")

    def _keepalived_for(self, host: str) -> str | None:
        if self._keepalived_command is None or isinstance(self._keepalived_command, str):
            return self._keepalived_command
        return self._keepalived_command.get(host)

    async def _watch_addresses(self, host: str, transport: Transport) -> None:
        delay = self._backoff[0]
        while True:
            error = await self._address_session(host, transport)
            if self.state.reachable(host):
                delay = self._backoff[0]  # it worked for a while: retry quickly
            self._up[host].clear()
            power = await self._power_of(host)
            self._emit(self.state.lost(host, self._clock(), error, power))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _address_session(self, host: str, transport: Transport) -> str:
        """Stream one channel until it ends; return why it ended."""
        last_other = ""
        try:
            await transport.connect()
            listing: list[tuple[str, str]] | None = None
            before_prime: list[tuple[float, AddressChange]] = []
            primed = False
            async for line in transport.stream(self._address_command):
                t = self._clock()
                if line == PRIME_BEGIN:
                    listing = []
                    continue
                if line == PRIME_END and listing is not None:
                    self._emit(self.state.prime(host, listing, t))
                    for t0, early in before_prime:  # changes racing the listing
                        self._apply(host, early, t0)
                    before_prime.clear()
                    primed = True
                    listing = None
                    self._up[host].set()
                    continue
                change = parse_address_line(line)
                if change is None:
                    if line.strip():
                        last_other = line.strip()
                    continue
                if listing is not None and change.host_t is None:
                    listing.append((change.address, change.interface))
                elif primed:
                    self._apply(host, change, t)
                else:
                    before_prime.append((t, change))
            reason = "the watch channel ended"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the channel is "unreachable"
            reason = str(exc) or type(exc).__name__
        if last_other:
            reason += f" ({last_other[:200]})"
        return reason

    def _apply(self, host: str, change: AddressChange, t: float) -> None:
        self._emit(self.state.apply(host, change.address, change.interface, change.deleted,
                                    t, change.host_t))

    async def _power_of(self, host: str) -> str:
        if self._power is None:
            return ""
        try:
            async with asyncio.timeout(POWER_TIMEOUT):
                return await self._power(host)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - no word from the hypervisor: say nothing
            return ""

    async def _watch_keepalived(self, host: str, transport: Transport, command: str) -> None:
        delay = 0.5
        while True:
            await self._up[host].wait()
            started = self._clock()
            with contextlib.suppress(Exception):  # the address channel reports the host
                await self._keepalived_session(host, transport, command)
            # Whatever ended the channel, what it said is no longer known to be true: say
            # so, rather than keep showing a MASTER that may have stopped meanwhile.
            self._emit(self.state.keepalived.unknown(host, self._clock()))
            delay = 0.5 if self._clock() - started > 30 else min(delay * 2, 5.0)
            await asyncio.sleep(delay)

    async def _keepalived_session(self, host: str, transport: Transport, command: str) -> None:
        """One channel: the history folded into the state found at the start (published
        once, each with its own time), then each change as it comes."""
        view = self.state.keepalived
        found: KeepalivedView | None = KeepalivedView()  # None once the history is over
        conf: list[str] | None = None
        async for line in transport.stream(command):
            if conf is not None:  # the configuration, kept in memory only
                if line == CONF_END:
                    view.configure(host, "\n".join(conf))
                    conf = None
                else:
                    conf.append(line)
                continue
            if line == CONF_BEGIN:
                conf = []
            elif line == HISTORY_END and found is not None:
                self._emit(view.adopt(host, found, self._clock()))
                found = None
            elif line != TICK_LINE:
                fact = parse_active_line(line) or parse_keepalived_line(line)
                if fact is None:
                    continue
                target = view if found is None else found
                events = target.fact(host, fact.instance, self._clock(), state=fact.state,
                                     priority=fact.priority, host_t=fact.host_t,
                                     primed=found is not None)
                if found is None:
                    self._emit(events)
