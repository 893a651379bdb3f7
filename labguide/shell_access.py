"""An interactive shell on a lab host, as the reader would open one: OpenSSH's `ssh` with the
inventory's user, port, key and known_hosts (host keys checked; a key seen for the first
time is asked about by ssh itself, at the terminal, and kept in that known_hosts file).
Command lines only: nothing here runs them."""

from __future__ import annotations

import os
import shlex

from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.inventory import Host


def shell_command(host: Host, command: list[str] | None = None) -> list[str]:
    """The argv that opens a shell (or runs `command`) on `host`, with a terminal."""
    if host.transport == "proxmox":
        raise LabguideError(
            _("{host} is reached through the Proxmox API: labguide has no shell there").format(
                host=host.name), Location(host=host.name),
            hint=_("open its console in the Proxmox web UI, or `ssh root@<node>` yourself"))
    if host.transport == "local":
        if host.address.startswith("netns:"):
            inner = command or [os.environ.get("SHELL", "/bin/bash")]
            return ["ip", "netns", "exec", host.address.removeprefix("netns:"), *inner]
        return command or [os.environ.get("SHELL", "/bin/bash"), "-l"]
    argv = ["ssh", "-p", str(host.port), "-o", "StrictHostKeyChecking=ask",
            "-o", f"ConnectTimeout={int(host.connect_timeout)}"]
    if host.known_hosts is not None:
        argv += ["-o", f"UserKnownHostsFile={host.known_hosts}"]
    if host.identity_file is not None:
        argv += ["-i", str(host.identity_file), "-o", "IdentitiesOnly=yes"]
    argv.append(f"{host.user}@{host.address}" if host.user else host.address)
    if command:
        argv.append(shlex.join(command))  # one word: the remote shell splits it back
    return argv
