"""When the sandbox's VMs serve what the lab promises: sshd's banner on every VM, GET
/hostname answered on every VM whose role serves HTTP, and every HAProxy that a role
configures sending to each of its servers.

The last is what a reader sees first: the lab's HAProxy checks its servers (`check inter 2s
fall 2 rise 2`), and a web VM that boots a moment after its load balancer is marked DOWN and
stays out until two checks pass, so a lab declared up then answered from one backend only
for a few seconds (a tmux test of more-web met it in CI). The lab waits until the balancer
has answered from every server its haproxy.cfg names, each request a new connection as the
chapters' own clients make them.
"""

from __future__ import annotations

import asyncio
import re
import time

from labguide.errors import LabguideError, Location
from labguide.sandbox.labspec import LabSpec, RoleSpec
from labguide.transports.sshwait import wait_for_ssh

HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
#: `server NAME ADDRESS:PORT … check` lines of a haproxy.cfg (the servers it health-checks).
SERVER = re.compile(r"^\s*server\s+(\S+)\s+\S+.*\bcheck\b", re.MULTILINE)


async def wait_ssh(ip: str, timeout: float = 30.0) -> None:
    """Until sshd on ip:22 sends its banner (the transports' own liveness check)."""
    try:
        await wait_for_ssh(ip, 22, timeout)
    except TimeoutError:
        raise LabguideError(f"no SSH answer from {ip} after {timeout:.0f} s",
                            Location(host=ip)) from None


async def hostname(ip: str, port: int = 80) -> str | None:
    """One GET /hostname on ip:port on a new connection: the body of a 200, else None."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 2)
        try:
            writer.write(b"GET /hostname HTTP/1.0\r\nHost: lab\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 2)  # HTTP/1.0: to the close
        finally:
            writer.close()
    except (OSError, TimeoutError):
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    return body.decode(errors="replace").strip() if b" 200 " in head.split(b"\r\n")[0] else None


async def wait_http(ip: str, timeout: float = 30.0) -> None:
    """Until GET /hostname on ip:80 answers 200 (nginx on the webs, HAProxy on l4lb-1)."""
    deadline = time.monotonic() + timeout
    while await hostname(ip) is None:
        if time.monotonic() > deadline:
            raise LabguideError(f"no answer from http://{ip}/hostname after {timeout:.0f} s",
                                Location(host=ip))
        await asyncio.sleep(0.05)


def balanced_servers(role: RoleSpec) -> tuple[str, ...]:
    """The servers the role's own haproxy.cfg health-checks (none: the role balances none)."""
    for f in role.files:
        if f.path == HAPROXY_CFG:
            return tuple(SERVER.findall(f.text))
    return ()


async def wait_balanced(name: str, ip: str, servers: tuple[str, ...],
                        timeout: float = 30.0, port: int = 80) -> None:
    """Until HAProxy on ip:80 has answered from as many backends as it has `servers` (the
    names answered are the backends' hostnames, which need not be the server lines' names)."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while len(seen) < len(servers):
        answer = await hostname(ip, port)
        if answer:
            seen.add(answer)
        if time.monotonic() > deadline:
            raise LabguideError(
                f"{name}'s HAProxy answered from {len(seen)} of its {len(servers)} servers "
                f"({', '.join(sorted(seen)) or 'none'}) in {timeout:.0f} s",
                Location(host=name),
                hint=f"its servers: {', '.join(servers)}; is nginx up on each?")
        await asyncio.sleep(0.02)


async def wait_serving(lab: LabSpec) -> None:
    """sshd on every VM, then HTTP where the role serves it, then every balancer balancing."""
    await asyncio.gather(*(wait_ssh(vm.ip) for vm in lab.vms))
    http = [vm for vm in lab.vms if lab.roles[vm.role].http]
    await asyncio.gather(*(wait_http(vm.ip) for vm in http))
    await asyncio.gather(*(wait_balanced(vm.name, vm.ip, servers) for vm in http
                           if (servers := balanced_servers(lab.roles[vm.role]))))
