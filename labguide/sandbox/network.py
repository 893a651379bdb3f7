"""The lab's network: the bridge lgbr0 (no route out) and one namespace + veth per VM.

Only names the lab chose are ever created or deleted; something else holding them is an error.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

from labguide.errors import LabguideError, Location
from labguide.sandbox.proc import ok, run
from labguide.sandbox.topology import BRIDGE, GATEWAY, NODE1_IP, PVE_PORT, SUBNET

BRIDGE_ALIAS = "labguide-sandbox"


def _links() -> list[dict[str, Any]]:
    out = run(["ip", "-j", "-d", "addr", "show"]).stdout
    data: list[dict[str, Any]] = json.loads(out or "[]")
    return data


def bridge_is_ours() -> bool | None:
    """None if lgbr0 does not exist, else whether it carries the lab's alias."""
    for link in _links():
        if link.get("ifname") == BRIDGE:
            return link.get("ifalias") == BRIDGE_ALIAS
    return None


def foreign_lab(bridge_record: Path, pve_pidfile: Path) -> str | None:
    """What of a lab under another root (LABGUIDE_LAB_ROOT) is up, or None: the bridge and
    node1's address exist once per machine. Reads this machine's own tables only: nothing is
    sent (without the bridge, node1's address would be routed out of the machine)."""
    if bridge_is_ours() is not None and not bridge_record.exists():
        return f"the bridge {BRIDGE}, made under another lab root"
    listening = subprocess.run(["ss", "-Htln", f"src {NODE1_IP}:{PVE_PORT}"],
                               capture_output=True, text=True, check=True).stdout
    if listening.strip() and not pve_pidfile.exists():
        return f"a server on node1's address {NODE1_IP}:{PVE_PORT} (another lab root's node1?)"
    return None


def check_addresses_free() -> None:
    """The lab's subnet must not be used by anything but the lab's own bridge."""
    net = ipaddress.ip_network(SUBNET)
    ours = bridge_is_ours()
    if ours is False:
        raise LabguideError(
            f"a network interface named {BRIDGE} exists and was not made by labguide",
            Location(host="localhost", key=BRIDGE),
            hint=f"remove it (ip link del {BRIDGE}) or free the name, then run `labguide lab up`",
        )
    for link in _links():
        if link.get("ifname") == BRIDGE:
            continue
        for a in link.get("addr_info", []):
            if a.get("family") != "inet":
                continue
            addr = ipaddress.ip_interface(f"{a['local']}/{a.get('prefixlen', 32)}")
            if addr.network.overlaps(net):
                raise LabguideError(
                    f"address {addr} on {link.get('ifname')} overlaps the lab's {SUBNET}",
                    Location(host="localhost", key=str(link.get("ifname"))),
                    hint="the sandbox needs 198.18.16.0/24 for itself; remove that address",
                )
    routes = json.loads(run(["ip", "-j", "route", "show", "match", SUBNET]).stdout or "[]")
    for r in routes:
        dst = r.get("dst", "")
        if dst in ("default", "0.0.0.0/0") or r.get("dev") == BRIDGE:
            continue
        if ipaddress.ip_network(dst, strict=False).overlaps(net):
            raise LabguideError(
                f"a route to {dst} via {r.get('dev')} overlaps the lab's {SUBNET}",
                Location(host="localhost"),
                hint="remove that route or choose another network for it",
            )


def _sysctl(path: str, value: str) -> None:
    Path("/proc/sys", path).write_text(value)


def ensure_bridge(record: Path) -> None:
    """Create lgbr0 with the gateway and node1 addresses; no forwarding, no IPv6, no uplink."""
    if bridge_is_ours() is None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"bridge": BRIDGE}) + "\n")
        run(["ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0",
             "forward_delay", "0", "mcast_snooping", "0"])
        run(["ip", "link", "set", BRIDGE, "alias", BRIDGE_ALIAS])
    _sysctl(f"net/ipv6/conf/{BRIDGE}/disable_ipv6", "1")
    _sysctl(f"net/ipv4/conf/{BRIDGE}/forwarding", "0")
    _sysctl(f"net/ipv4/conf/{BRIDGE}/proxy_arp", "0")
    have = {a["local"] for link in _links() if link.get("ifname") == BRIDGE
            for a in link.get("addr_info", []) if a.get("family") == "inet"}
    for ip in (GATEWAY, NODE1_IP):
        if ip not in have:
            run(["ip", "addr", "add", f"{ip}/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge() -> bool:
    """Delete lgbr0 if it is ours. Returns True if something was deleted."""
    if bridge_is_ours():
        run(["ip", "link", "del", BRIDGE])
        return True
    return False


def netns_exists(ns: str) -> bool:
    return Path("/run/netns", ns).exists()


def mac_for(vmid: int) -> str:
    return f"02:4c:47:{(vmid >> 16) & 255:02x}:{(vmid >> 8) & 255:02x}:{vmid & 255:02x}"


def setup_vm_net(ns: str, veth: str, vmid: int, ip_cidr: str) -> None:
    """Namespace `ns` with `eth0` (the inside end of veth `veth`, whose host end is on lgbr0).

    The VM reaches the lab's /24 on-link and nothing else: there is no default route.
    """
    if not netns_exists(ns):
        run(["ip", "netns", "add", ns])
    if not ok(["ip", "-n", ns, "link", "show", "eth0"]):
        if ok(["ip", "link", "show", veth]):
            run(["ip", "link", "del", veth])
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        _sysctl(f"net/ipv6/conf/{veth}/disable_ipv6", "1")
        run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
        run(["ip", "-n", ns, "link", "set", "eth0", "address", mac_for(vmid)])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    iface = ipaddress.ip_interface(ip_cidr)
    subprocess.run(["ip", "-n", ns, "addr", "replace", str(iface), "dev", "eth0"],
                   capture_output=True, check=True)
    run(["ip", "-n", ns, "route", "replace", SUBNET, "dev", "eth0", "scope", "link",
         "src", str(iface.ip)])
    # As on the book's load balancers (harmless elsewhere): HAProxy may bind a VIP it lacks.
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1",
         "net.ipv6.conf.all.disable_ipv6=1"])


def delete_vm_net(ns: str, veth: str) -> None:
    if netns_exists(ns):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    if ok(["ip", "link", "show", veth]):
        subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)


def interfaces_in(ns: str) -> list[dict[str, Any]]:
    """`ip -j addr` inside a namespace, in the qemu-agent network-get-interfaces shape."""
    out = run(["ip", "-n", ns, "-j", "addr", "show"]).stdout
    result: list[dict[str, Any]] = []
    for link in json.loads(out or "[]"):
        addrs = [
            {
                "ip-address-type": "ipv4" if a.get("family") == "inet" else "ipv6",
                "ip-address": a["local"],
                "prefix": a.get("prefixlen", 32),
            }
            for a in link.get("addr_info", [])
            if a.get("family") in ("inet", "inet6")
        ]
        result.append({
            "name": link.get("ifname"),
            "hardware-address": link.get("address", "00:00:00:00:00:00"),
            "ip-addresses": addrs,
        })
    return result
