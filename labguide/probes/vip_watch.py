"""The VIP watcher: one long-lived channel per host streaming `ip monitor address`, plus
keepalived's log, turned into VipState changes and published events. Reconnects by itself.

Uses only the Transport interface (stream/connect); knows nothing of front-ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from labguide.events import Event
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

#: Keepalived's view from its journal (history first, then follow from the same cursor),
#: and whether the unit runs. Uses sudo when it needs no password, for the journal.
KEEPALIVED_COMMAND = (
    "export LC_ALL=C; exec 2>&1; "
    "S=; if [ \"$(id -u)\" != 0 ] && sudo -n true 2>/dev/null; then S='sudo -n'; fi; "
    "J=\"$S journalctl -u keepalived -o short-unix --no-pager\"; "
    "out=$($J -n 200 --show-cursor 2>/dev/null || true); "
    "printf '%s\\n' \"$out\"; "
    "cursor=$(printf '%s\\n' \"$out\" | sed -n 's/^-- cursor: //p' | tail -n 1); "
    "echo \"@active $(systemctl is-active keepalived 2>/dev/null || true)\"; "
    "if [ -n \"$cursor\" ]; then exec $J -f --after-cursor=\"$cursor\"; "
    "else exec $J -f -n 0; fi"
)


class VipWatcher:
    """Watches which of `transports`' hosts hold each of `vips`, and keepalived's state.

    `run()` runs until cancelled. A host that cannot be reached, or whose channel breaks
    (reboot), is an event (HostReachability) and is retried with backoff, never a crash.
    `state` is the live VipState model.

    `keepalived_command`: the command whose output lines are keepalived's log (default:
    its journal, as on the chapter's hosts), or one per host; None to not watch keepalived.
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
    ) -> None:
        self.transports = dict(transports)
        self.state = VipState(vips, self.transports)
        self._publish = publish
        self._keepalived_command = keepalived_command
        self._address_command = address_command
        self._backoff = backoff
        self._clock = clock
        self._up: dict[str, asyncio.Event] = {}

    def _emit(self, events: list[Event]) -> None:
        for event in events:
            self._publish(event)

    async def run(self) -> None:
        self._up = {host: asyncio.Event() for host in self.transports}
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
            self._emit(self.state.lost(host, self._clock(), error))
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

    async def _watch_keepalived(self, host: str, transport: Transport, command: str) -> None:
        delay = 1.0
        while True:
            await self._up[host].wait()
            started = self._clock()
            try:
                async for line in transport.stream(command):
                    fact = parse_active_line(line) or parse_keepalived_line(line)
                    if fact is None:
                        continue
                    self._emit(self.state.vrrp(host, fact.instance, self._clock(),
                                               state=fact.state, priority=fact.priority,
                                               host_t=fact.host_t))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001, S110 - the address channel reports the host
                pass
            # No journal (or no keepalived) is not an error: retry slowly.
            delay = 1.0 if self._clock() - started > 30 else min(delay * 2, 30.0)
            await asyncio.sleep(delay)
