"""`labguide init` against the sandbox lab, answered on a terminal as a reader would
(issue 13, item 6): node1's API with its token file and pinned certificate, the VMs'
addresses, the lab's key, a known_hosts of its own; each new host key compared with the
VM's own before yes. It writes an inventory without the secret, and tries every host."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest

from labguide.inventory import load_inventory
from labguide.sandbox.paths import LabPaths
from tests.e2e.reader import console_fingerprint
from tests.ptyrun import PtyRun

pytestmark = pytest.mark.sandbox


def answer_host_key(run: PtyRun, paths: LabPaths) -> None:
    """The question for one host: yes only if its fingerprint is the VM's own."""
    m = run.expect(r"The authenticity of host '\S+' \((\S+)\) can't be established\.\n"
                   r"ED25519 key fingerprint is (SHA256:\S+)\.")
    address, shown = m.group(1), m.group(2)
    run.seen = run.seen[m.end():]
    run.expect(r"\(yes/no/\[fingerprint\]\)\?")
    run.type("yes" if shown == console_fingerprint(paths, address) else "no")


def test_init_asks_writes_and_tries_every_host(lab: LabPaths, tmp_path: Path) -> None:
    inv = load_inventory(lab.inventory)
    node = inv.host("node1").proxmox
    assert node is not None and node.token_secret_file is not None
    output = tmp_path / "home-lab.toml"
    run = PtyRun([sys.executable, "-m", "labguide", "init", "-o", str(output)],
                 env={**os.environ, "HOME": str(tmp_path)})  # no ~/.ssh: the key is typed
    try:
        for prompt, answer in [
            ("node1's address", "198.18.16.2"), ("API port", ""), ("Node name", ""),
            ("API token id", node.token_id or ""),
            ("token's secret", str(node.token_secret_file)),
            ("CA certificate file", ""),  # pin the certificate instead, after comparing
        ]:
            run.expect(prompt)
            run.type(answer)
        run.expect(r"fingerprint\n\s+([0-9A-F:]{95})")
        run.expect(r"Is it the same\? Pin it")
        run.type("y")
        for prompt, answer in [
            ("l4lb-1's address", "198.18.16.133"), ("l4lb-2's address", "198.18.16.134"),
            ("client's address", "198.18.16.10"), ("SSH user", ""),
            ("SSH private key", str(lab.identity_file)),
            ("known_hosts file", str(tmp_path / "known_hosts")),
            ("TEMPLATE_VMID", ""), ("GATEWAY", "198.18.16.1"), ("L4LB1_IP", "198.18.16.133"),
            ("L4LB2_VMID", ""), ("L4LB2_NAME", ""), ("L4LB2_IP", "198.18.16.134"),
            ("VIP", "198.18.16.140"), ("VIP2", "198.18.16.141"), ("IFACE", ""),
        ]:
            run.expect(rf"\n{prompt}[^\n]*: $" if prompt in ("VIP",) else prompt)
            run.seen = ""
            run.type(answer)
        run.expect("skip l4lb-2: the chapter creates it")
        answer_host_key(run, lab)  # l4lb-1, then client: strict, so this known_hosts asks
        answer_host_key(run, lab)
        run.expect(r"tries passed")
        assert run.wait() == 0, run.seen
    finally:
        run.close()
    text = output.read_text()
    secret = node.token_secret_file.read_text().strip()
    assert secret not in text
    data = tomllib.loads(text)
    assert data["hosts"]["node1"]["proxmox"]["fingerprint"].count(":") == 31
    assert data["vars"]["VIP"] == "198.18.16.140" and "TEMPLATE_VMID" not in data["vars"]
    got = load_inventory(output)
    assert got.lab_id and got.host("l4lb-1").address == "198.18.16.133"
    assert len((tmp_path / "known_hosts").read_text().splitlines()) == 2  # l4lb-1, client
    for line in ("ok   node1: Proxmox API", "ok   node1: template VM 999", "ok   l4lb-1: SSH",
                 "ok   l4lb-1: sudo without a password", "client: k6 for the load tests"):
        assert line in run.seen or line in text, line
