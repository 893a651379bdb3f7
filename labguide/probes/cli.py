"""The `labguide probe` and `labguide watch` commands: the probes alone, in plain text.

Thin: parses options, runs the core probes, prints their events; no Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import click

from labguide import durations
from labguide.clock import stamp_ms
from labguide.errors import LabguideError, Location
from labguide.events import Event
from labguide.i18n import gettext as _
from labguide.probes.events import OutageWindow, ProbeBatch, ProbeSummary
from labguide.probes.http_engines import CONNECTIONS, MODE_TEXT
from labguide.probes.http_protocol import ENGINES, summary_dict
from labguide.probes.k6text import ms, summary_lines
from labguide.probes.watch_text import event_json, format_event


def parse_duration(text: str) -> float:
    """Seconds of a duration option (labguide.durations' grammar), or a usage error."""
    try:
        return durations.parse_duration(text)
    except durations.DurationError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration_option(_ctx: click.Context, _param: click.Parameter,
                     value: str | None) -> float | None:
    return None if value is None else parse_duration(value)


def format_summary(s: ProbeSummary) -> str:
    """The summary in k6's words, then what k6 does not report."""
    head = f"  labguide probe  {s.url}  " + _("({engine}, {rate}/s for {seconds}s)").format(
        engine=s.engine, rate=f"{s.target_rate:g}", seconds=f"{s.duration:.1f}")
    how = _("; then ").join(_(MODE_TEXT[m]) if m in MODE_TEXT else m for m in s.connections)
    lines = [head] + (["  " + _("connections: {how}").format(how=how)] if how else [])
    return "\n".join([*lines, "", *("     " + line for line in summary_lines(s))])


class Progress:
    """One live line on a terminal (rewritten), or a line every few seconds otherwise."""

    def __init__(self, stream: TextIO, started: float) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = started
        self.last = 0.0
        self.window: list[ProbeBatch] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, OutageWindow):
            self._line((_("outage: {lost} lost in {seconds}s") if event.duration is not None
                        else _("outage: {lost} lost")).format(
                lost=event.lost, seconds=f"{event.duration or 0:.3f}"), final=True)
            return
        if not isinstance(event, ProbeBatch):
            return
        self.window.append(event)
        now = time.monotonic()
        if now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        b, span = event, sum(w.t1 - w.t0 for w in self.window) or 1.0
        rate = sum(w.started for w in self.window) / span
        lat = [w.latency.med for w in self.window if w.latency.count]
        p50 = sorted(lat)[len(lat) // 2] if lat else 0.0
        self.window.clear()
        outage = "  " + _("OUTAGE {lost} lost").format(lost=b.outage.lost) if b.outage else ""
        self._line(f"{now - self.started:6.1f}s  {rate:7.1f}/s  " + _(
            "ok {ok}  failed {failed}  dropped {dropped}  in flight {in_flight}").format(
            ok=b.total_ok, failed=b.total_failed, dropped=b.total_dropped,
            in_flight=b.in_flight) + f"  p50 {ms(p50)}{outage}")

    def _line(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


@click.command()
@click.argument("url")
@click.option("--rate", type=click.FloatRange(min=0), default=100.0, show_default=True,
              help="Requests started per second (open model: on schedule, not after answers).")
@click.option("--duration", "-d", default="30s", show_default=True, callback=_duration_option,
              help="How long to send, e.g. 30s, 2m.")
@click.option("--timeout", default="2s", show_default=True, callback=_duration_option,
              help="Per-request timeout.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Exit 1 if the success ratio (ok / sent) is below this, e.g. 0.99.")
@click.option("--expect", metavar="REGEX", help="The body must match this (else: wrong_body).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write every result to this file as JSON Lines.")
@click.option("--engine", type=click.Choice(ENGINES), default="aiohttp", show_default=True,
              help="HTTP client in the worker process (see docs/probes.md).")
@click.option("--max-in-flight", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Starts beyond this many requests in flight are dropped (and counted).")
@click.option("--connections", type=click.Choice(CONNECTIONS), default="auto",
              show_default=True,
              help="new: a connection per request (like curl); keepalive: 10 kept alive (like "
                   "k6's VUs); auto: new up to 100/s, keepalive above.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def probe(url: str, rate: float, duration: float, timeout: float, threshold: float,
          expect: str | None, as_json: bool, out: str | None, engine: str,
          max_in_flight: int, connections: str, quiet: bool) -> None:
    """Send GET URL at a constant rate; print a k6-style summary with outage windows.

    Ctrl-C stops early and still prints the summary.
    """
    from labguide.probes.http_prober import Prober

    if expect is not None:
        try:
            re.compile(expect)
        except re.error as exc:
            raise LabguideError(_("--expect is not a regular expression: {error}").format(
                error=exc)) from None
    progress = None if quiet else Progress(sys.stderr, time.monotonic())

    async def main() -> ProbeSummary:
        prober = Prober(url, rate, timeout=timeout, duration=duration,
                        publish=progress or (lambda e: None), engine=engine,
                        max_in_flight=max_in_flight, expect=expect, out=out,
                        connections=connections)
        await prober.start()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, prober.request_stop)
        try:
            return await prober.wait()
        finally:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signal.SIGINT)

    summary = asyncio.run(main())
    if progress is not None:
        progress.done()
    if as_json:
        click.echo(json.dumps(summary_dict(summary), indent=2))
    else:
        click.echo(format_summary(summary))
    if summary.success_ratio < threshold:
        click.echo(_("labguide: success ratio {ratio} is below the threshold {threshold}").format(
            ratio=f"{summary.success_ratio:.4f}", threshold=f"{threshold:g}"), err=True)
        sys.exit(1)


# --------------------------------------------------------------------------- watch


@click.command()
@click.option("--inventory", "-i", "inventory_path", metavar="FILE",
              help="The lab's inventory (default: $LABGUIDE_INVENTORY, else the sandbox "
                   "lab's).  [env var: LABGUIDE_INVENTORY]")
@click.option("--vip", "vips", multiple=True, metavar="ADDRESS",
              help="A VIP to watch (repeatable; default: the inventory's VIP, VIP2, ...).")
@click.option("--host", "hosts", multiple=True, metavar="NAME",
              help="A candidate host of the inventory (repeatable; default: every ssh/local "
                   "host).")
@click.option("--netns", "netns", multiple=True, metavar="NAME[=NETNS]",
              help="Watch a network namespace of this machine as host NAME (root; repeatable; "
                   "for the sandbox: --netns l4lb-1=lg-l4lb-1).")
@click.option("--duration", "-d", default=None, callback=_duration_option,
              help="Stop after this long (default: until Ctrl-C).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@click.option("--no-keepalived", is_flag=True, help="Only the kernel's view, not keepalived's.")
@click.option("--accept-new-host-keys", is_flag=True,
              help="Trust and record unknown SSH host keys (never changed ones).")
def watch(inventory_path: str | None, vips: tuple[str, ...], hosts: tuple[str, ...],
          netns: tuple[str, ...], duration: float | None, as_json: bool, no_keepalived: bool,
          accept_new_host_keys: bool) -> None:
    """Print who holds each VIP, event by event, with millisecond timestamps."""
    from labguide.probes.vip_watch import KEEPALIVED_COMMAND, VipWatcher
    from labguide.probes.vm_power import hypervisor_power

    transports, vip_list, hypervisor = _watch_targets(inventory_path, vips, hosts, netns,
                                                      accept_new_host_keys)

    def publish(event: Event) -> None:
        line = event_json(event) if as_json else format_event(event)
        if line is not None:
            click.echo(line)

    async def main() -> None:
        watcher = VipWatcher(transports, vip_list, publish,
                             keepalived_command=None if no_keepalived else KEEPALIVED_COMMAND,
                             power=hypervisor_power(hypervisor) if hypervisor else None)
        task = asyncio.create_task(watcher.run())
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await asyncio.wait_for(task, duration)
        except (asyncio.CancelledError, TimeoutError):
            pass
        finally:
            for transport in [*transports.values(), *([hypervisor] if hypervisor else [])]:
                with contextlib.suppress(Exception):
                    await transport.close()

    if not as_json:
        click.echo(f"{stamp_ms(time.time())}  " + _("watching {vips} on {hosts}").format(
            vips=", ".join(vip_list), hosts=", ".join(transports)))
    asyncio.run(main())


def _watch_targets(inventory_path: str | None, vips: tuple[str, ...], hosts: tuple[str, ...],
                   netns: tuple[str, ...], accept_new_host_keys: bool,
                   ) -> tuple[dict[str, Any], list[str], Any]:
    """The hosts to watch, the VIPs, and the inventory's Proxmox host (for whether a lost
    host's VM runs), if it has one and hosts come from it."""
    from labguide.probes.netns import NetnsTransport, netns_host

    transports: dict[str, Any] = {}
    hypervisor = None
    inventory = None
    if hosts or not netns or not vips:
        from labguide.clicommon import default_inventory
        from labguide.inventory import load_inventory

        path = default_inventory(inventory_path)
        if path is None:
            if hosts or not netns:
                raise LabguideError(_(
                    "no inventory: pass --inventory FILE, set LABGUIDE_INVENTORY, build the "
                    "sandbox (labguide lab up), or watch namespaces with --netns"))
        else:
            inventory = load_inventory(path)
    if inventory is not None and (hosts or not netns):
        from labguide.transports import make_transport

        names = hosts or tuple(n for n, h in inventory.hosts.items() if h.transport != "proxmox")
        for name in names:
            host = inventory.host(name)
            transports[name] = make_transport(host, accept_new_host_keys=accept_new_host_keys)
        pve = next((h for h in inventory.hosts.values() if h.transport == "proxmox"), None)
        if pve is not None:
            hypervisor = make_transport(pve)
    for spec in netns:
        name, _sep, ns = spec.partition("=")
        transports[name] = NetnsTransport(netns_host(name, ns or name), ns or name)
    vip_list = _vip_list(vips, inventory)
    if not transports:
        raise LabguideError(_("no host to watch: pass --host NAME or --netns NAME"))
    return transports, vip_list, hypervisor


def _vip_list(vips: tuple[str, ...], inventory: Any) -> list[str]:
    """--vip's addresses, else the inventory's VIP, VIP2, …; each checked."""
    from labguide.probes.vip_parse import normalize_ip

    vip_list = list(vips)
    if not vip_list and inventory is not None:
        vip_list = [value for key, value in sorted(inventory.vars.items())
                    if re.fullmatch(r"VIP\d*", key)]
    if not vip_list:
        raise LabguideError(_("no VIP to watch: pass --vip ADDRESS (or set VIP in the inventory)"),
                            Location(file=Path(inventory.path)) if inventory and inventory.path
                            else None)
    for vip in vip_list:
        try:
            normalize_ip(vip)
        except ValueError:
            raise LabguideError(_("not an IP address: {vip!r}").format(vip=vip),
                                Location(key="--vip")) from None
    return vip_list
