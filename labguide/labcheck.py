"""Trying a lab's hosts as a chapter will use them, before it runs: an SSH login (the host key
checked, and asked about when new), passwordless sudo, k6 on the host that runs the load,
the Proxmox API with its token and the template's `qm config`. Each try is a finding with
what to fix. For `labguide init`; nothing here asks questions itself (a front-end does)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from labguide.cells import ljust
from labguide.errors import LabguideError
from labguide.i18n import gettext as _
from labguide.inventory import Host
from labguide.transports import make_transport
from labguide.transports.hostkey import AskHostKey

#: How long one try may take (seconds).
TRY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Finding:
    host: str
    what: str
    ok: bool
    detail: str = ""
    fix: str = ""
    #: Not passing, but the chapter can do without it (k6: labguide's own prober).
    warn: bool = False

    def line(self) -> str:
        mark = ljust(_("ok") if self.ok else _("warn") if self.warn else _("FAIL"), 4)
        text = f"{mark} {self.host}: {self.what}" + (f": {self.detail}" if self.detail else "")
        return text + ("\n       " + _("fix: {fix}").format(fix=self.fix)
                       if self.fix and not self.ok else "")


async def _ssh_findings(host: Host, ask: AskHostKey | None, load_host: bool
                        ) -> list[Finding]:
    transport = make_transport(host, ask_host_key=ask)
    out: list[Finding] = []
    try:
        async with asyncio.timeout(TRY_TIMEOUT):
            await transport.connect()
        out.append(Finding(host.name, _("SSH login as {user} at {address}").format(
            user=host.user or _("you"), address=host.address), True, _("host key checked")))
        sudo = await transport.capture("sudo -n true", timeout=TRY_TIMEOUT)
        out.append(Finding(host.name, _("sudo without a password"), sudo.ok,
                           " | ".join(sudo.lines[-2:]),
                           _("on {host}: {command} (or answer sudo's password in the TUI when "
                             "it asks)").format(host=host.name, command=(
                               f"echo '{host.user or '$USER'} ALL=(ALL) NOPASSWD:ALL' | "
                               "sudo tee /etc/sudoers.d/labguide"))))
        if load_host:
            k6 = await transport.capture("k6 version", timeout=TRY_TIMEOUT)
            out.append(Finding(host.name, _("k6 for the load tests"), k6.ok,
                               (k6.stdout or k6.stderr or ("",))[0],
                               _("install k6 on it ({url}); without it labguide's own prober "
                                 "sends the load from this machine instead").format(
                                   url="https://grafana.com/docs/k6/latest/set-up/install-k6/"),
                               warn=not k6.ok))
    except LabguideError as exc:
        out.append(Finding(host.name, _("SSH login at {address}").format(address=host.address),
                           False, exc.message,
                           exc.hint or _("check the address, the user and the key")))
    except TimeoutError:
        out.append(Finding(host.name, _("SSH login at {address}").format(address=host.address),
                           False, _("no answer within {seconds} s").format(
                               seconds=f"{TRY_TIMEOUT:g}"),
                           _("is the VM running, and this address its own?")))
    finally:
        await transport.close()
    return out


async def _proxmox_findings(host: Host, template: str | None) -> list[Finding]:
    transport = make_transport(host)
    out: list[Finding] = []
    lines: list[str] = []
    try:
        await transport.connect()
        out.append(Finding(host.name, _("Proxmox API at {address}").format(
            address=host.address), True, _("token accepted, TLS checked")))
        if template:
            result = await transport.run(f"qm config {template}",
                                         lambda _s, line: lines.append(line),
                                         timeout=TRY_TIMEOUT)
            out.append(Finding(host.name, _("template VM {vmid} (qm config)").format(
                vmid=template), result.ok,
                next((ln for ln in lines if ln.startswith("name:")), "")
                or " | ".join(lines[-2:]),
                _("make the template VM {vmid} first (the book's earlier chapter), or set "
                  "TEMPLATE_VMID in the inventory's [vars]").format(vmid=template)))
    except LabguideError as exc:
        out.append(Finding(host.name, _("Proxmox API at {address}").format(
            address=host.address), False, exc.message,
            exc.hint or _("check the address, the token and the CA")))
    finally:
        await transport.close()
    return out


async def try_hosts(hosts: list[Host], *, ask: AskHostKey | None, load_host: str | None,
                    template: str | None) -> list[Finding]:
    """Every host tried in turn (so that host-key questions come one at a time)."""
    findings: list[Finding] = []
    for host in hosts:
        if host.transport == "proxmox":
            findings += await _proxmox_findings(host, template)
        else:
            findings += await _ssh_findings(host, ask, load_host == host.name)
    return findings
