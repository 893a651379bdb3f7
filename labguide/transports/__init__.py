"""Transports run commands on a lab host: ssh (asyncssh), local, proxmox (qm over the API)."""

from __future__ import annotations

from labguide.inventory import Host
from labguide.transports.base import CommandResult, OutputSink, Transport
from labguide.transports.hostkey import AskHostKey

__all__ = ["CommandResult", "OutputSink", "Transport", "make_transport"]


def make_transport(host: Host, *, accept_new_host_keys: bool = False,
                   ask_host_key: AskHostKey | None = None) -> Transport:
    """The transport the inventory asks for. Imports lazily: each pulls its own library."""
    if host.transport == "local":
        from labguide.transports.local import LocalTransport

        return LocalTransport(host)
    if host.transport == "proxmox":
        from labguide.transports.proxmox import ProxmoxTransport

        return ProxmoxTransport(host)
    from labguide.transports.ssh import SshTransport

    return SshTransport(host, accept_new_host_keys=accept_new_host_keys,
                        ask_host_key=ask_host_key)
