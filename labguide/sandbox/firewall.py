"""The lab's own nftables table (`inet labguide_sandbox`): nothing is routed from or to the
bridge, and from the bridge the host answers only what the lab uses (node1's API, replies).

Guests are root with CAP_NET_ADMIN: they can add routes via the gateway, and the bridge's
`forwarding=0` is reset by any later write to `net.ipv4.ip_forward`. This table is what keeps
the lab in. It is made by `lab up` after its record, and removed by `lab down` from that
record (also after a crash); a table of that name without the lab's comment is someone
else's and is never touched. No other table or rule of the host is read or changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from labguide.errors import LabguideError, Location
from labguide.sandbox.proc import run
from labguide.sandbox.topology import BRIDGE, NODE1_IP, PVE_PORT

FAMILY = "inet"
TABLE = "labguide_sandbox"
COMMENT = "labguide-sandbox"

#: From the bridge to the host: replies to what the host started (SSH, probes, the API's
#: answers), and node1's API. apt needs nothing: its repository is a read-only bind mount.
#: VM-to-VM traffic is bridged (iif and oif are both the bridge, also with br_netfilter).
RULESET = f"""\
table {FAMILY} {TABLE} {{
    comment "{COMMENT}"
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "{BRIDGE}" ct state established,related accept
        iifname "{BRIDGE}" ip daddr {NODE1_IP} tcp dport {PVE_PORT} ct state new accept
        iifname "{BRIDGE}" counter drop comment "the lab reaches nothing else on the host"
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname "{BRIDGE}" oifname != "{BRIDGE}" counter drop comment "nothing leaves the lab"
        oifname "{BRIDGE}" iifname != "{BRIDGE}" counter drop comment "nothing enters the lab"
    }}
}}
"""


def _nft(*args: str, input_text: str | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["nft", *args], input_text=input_text, check=check)


def table_is_ours() -> bool | None:
    """None if the table does not exist, else whether it carries the lab's comment."""
    if shutil.which("nft") is None:
        return None
    proc = _nft("list", "table", FAMILY, TABLE, check=False)
    if proc.returncode != 0:
        return None
    return f'comment "{COMMENT}"' in proc.stdout


def install(record: Path) -> None:
    """Make (or re-make, atomically) the lab's table; its record first, so `down` finds it."""
    if table_is_ours() is False:
        raise LabguideError(
            f"an nftables table {FAMILY} {TABLE} exists and was not made by labguide",
            Location(host="localhost", key=f"{FAMILY} {TABLE}"),
            hint=f"remove it (nft delete table {FAMILY} {TABLE}), then run `labguide lab up`",
        )
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"family": FAMILY, "table": TABLE}) + "\n")
    # declare, delete, define: one transaction, whether the table existed or not
    _nft("-f", "-", input_text=f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"
                               + RULESET)


def remove(record: Path) -> bool:
    """Delete the table the record names, if it is the lab's; then the record. Returns True
    if a table was deleted."""
    if not record.exists():
        return False
    data = json.loads(record.read_text())
    deleted = False
    if (data.get("family"), data.get("table")) == (FAMILY, TABLE) and table_is_ours():
        _nft("delete", "table", FAMILY, TABLE)
        deleted = True
    record.unlink()
    return deleted


def drops() -> dict[str, int]:
    """Packets dropped so far by each chain's drop rules (for status and tests)."""
    proc = _nft("-j", "list", "table", FAMILY, TABLE, check=False)
    if proc.returncode != 0:
        return {}
    counts: dict[str, int] = {}
    for item in json.loads(proc.stdout).get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        for expr in rule.get("expr", []):
            if "counter" in expr:
                chain = rule["chain"]
                counts[chain] = counts.get(chain, 0) + int(expr["counter"]["packets"])
    return counts
