"""`labguide init`: connect a real lab. Asks for node1's API (address, token, TLS), the VMs'
addresses (the chapter's defaults offered), the SSH user and key; writes the inventory (the
token's secret in a 0600 file beside it, never in the TOML); then tries each host as the
chapter will use it and says what to fix. A front-end: the questions are click's."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import socket
import ssl
import time
from pathlib import Path

import click

from labguide.atomic import write_atomic
from labguide.errors import LabguideError, Location
from labguide.i18n import gettext as _
from labguide.inventory import load_inventory
from labguide.inventory_text import LabAnswers, ProxmoxAnswers, inventory_toml
from labguide.labcheck import try_hosts
from labguide.model import Chapter

TOKEN_ID = re.compile(r"^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*$")


def _ask(text: str, default: str | None = None) -> str:
    return str(click.prompt(text, default=default, show_default=default is not None,
                            err=True)).strip()


def default_address(chapter: Chapter, host: str) -> str | None:
    """The chapter's own address for a host: a variable named after it (l4lb-1: L4LB1_IP)."""
    return chapter.vars.get(re.sub(r"[^A-Z0-9]", "", host.upper()) + "_IP")


def offered_keys() -> list[Path]:
    """Private keys the reader has: ~/.ssh/config's IdentityFile lines, then ~/.ssh/id_*."""
    home = Path("~").expanduser()
    found: list[Path] = []
    config = home / ".ssh/config"
    if config.is_file():
        for line in config.read_text(errors="replace").splitlines():
            m = re.match(r"\s*IdentityFile\s+(\S+)", line, re.IGNORECASE)
            if m:
                found.append(Path(m.group(1).replace("%d", str(home))).expanduser())
    found += sorted(p for p in (home / ".ssh").glob("id_*") if p.suffix != ".pub")
    return [p for n, p in enumerate(found) if p.is_file() and p not in found[:n]]


def _key() -> Path:
    keys = offered_keys()
    for n, path in enumerate(keys, start=1):
        click.echo(f"  {n}. {path}", err=True)
    answer = _ask(_("SSH private key (a number above, or a path)"), "1" if keys else None)
    if answer.isdigit() and 1 <= int(answer) <= len(keys):
        return keys[int(answer) - 1]
    path = Path(answer).expanduser()
    if not path.is_file():
        raise LabguideError(_("no key file {path}").format(path=path), Location(file=path))
    return path


def certificate_fingerprint(address: str, port: int) -> str:
    """The SHA-256 fingerprint of the certificate the API shows (to be compared, then
    pinned); nothing else is sent."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _token_file(folder: Path, stem: str) -> Path:
    given = _ask(_("A file holding the API token's secret (empty: type the secret now)"), "")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise LabguideError(_("no token file {path}").format(path=path),
                                Location(file=path))
        return path.resolve()
    secret = click.prompt(_("API token secret"), hide_input=True, err=True).strip()
    path = folder / f"{stem}.pve-token"
    write_atomic(path, secret + "\n", mode=0o600)
    click.echo("  " + _("kept in {path} (mode 0600)").format(path=path), err=True)
    return path


def _tls(address: str, port: int) -> tuple[Path | None, str | None]:
    ca = _ask(_("The node's CA certificate file (its /etc/pve/pve-root-ca.pem, copied here; "
                "empty: pin the certificate instead)"), "")
    if ca:
        path = Path(ca).expanduser()
        if not path.is_file():
            raise LabguideError(_("no CA file {path}").format(path=path), Location(file=path))
        return path.resolve(), None
    fingerprint = certificate_fingerprint(address, port)
    click.echo(_("  the API at {address} shows a certificate with SHA-256 fingerprint\n  "
                 "{fingerprint}\n  compare it on the node: {command}").format(
        address=f"{address}:{port}", fingerprint=fingerprint,
        command="openssl x509 -noout -fingerprint -sha256 -in /etc/pve/local/pve-ssl.pem"),
        err=True)
    if not click.confirm(_("Is it the same? Pin it"), default=False, err=True):
        raise LabguideError(_("the API's certificate was not trusted: nothing written"),
                            Location(host=address))
    return None, fingerprint


def _proxmox(name: str, folder: Path, stem: str) -> ProxmoxAnswers:
    click.echo("\n" + _("{host}: the Proxmox VE node, reached through its API").format(
        host=name), err=True)
    address = _ask(_("{host}'s address").format(host=name))
    port = int(_ask(_("API port"), "8006"))
    node = _ask(_("Node name (as in the web UI)"), name)
    token_id = _ask(_("API token id (USER@REALM!NAME, e.g. root@pam!labguide)"))
    if not TOKEN_ID.match(token_id):
        raise LabguideError(_("token id {id!r} is not USER@REALM!NAME").format(id=token_id),
                            Location(key="token_id"))
    token_file = _token_file(folder, stem)
    ca, fingerprint = _tls(address, port)
    return ProxmoxAnswers(address, node, token_id, token_file, port, ca, fingerprint)


def answers(chapter: Chapter, output: Path, proxmox_hosts: list[str]) -> LabAnswers:
    folder = output.parent
    nodes = {name: _proxmox(name, folder, output.stem) for name in proxmox_hosts}
    click.echo("\n" + _("The VMs, reached over SSH"), err=True)
    hosts = {h: _ask(_("{host}'s address").format(host=h), default_address(chapter, h))
             for h in chapter.hosts if h not in proxmox_hosts}
    user = _ask(_("SSH user on the VMs"), "ubuntu")  # i18n: not text
    key = _key()
    known = Path(_ask(_("known_hosts file (host keys are checked against it, and new ones "
                        "kept in it)"), "~/.ssh/known_hosts")).expanduser()
    click.echo("\n" + _("The chapter's values (enter keeps the chapter's)"), err=True)
    values = {k: _ask(k, v) for k, v in chapter.vars.items()}
    return LabAnswers(lab_id=f"lab-{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}",
                      user=user, identity_file=key.resolve(), known_hosts=known.resolve(),
                      hosts=hosts, proxmox=nodes,
                      vars={k: v for k, v in values.items() if chapter.vars.get(k) != v})


def run_init(chapter: Chapter, output: Path, proxmox_hosts: list[str]) -> int:
    """Ask, write, try. 0 when every try passed, 1 when something needs fixing."""
    from labguide.plain import terminal_host_key_asker

    output.parent.mkdir(parents=True, exist_ok=True)
    got = answers(chapter, output, proxmox_hosts)
    write_atomic(output, inventory_toml(got, output.parent.resolve()), mode=0o644)
    click.echo("\n" + _("wrote {path}").format(path=output), err=True)
    inventory = load_inventory(output)
    created = set(chapter.exists)
    tried = [inventory.host(h) for h in chapter.hosts if h not in created]
    for h in sorted(created):
        click.echo(_("skip {host}: the chapter creates it (its check {step!r})").format(
            host=h, step=chapter.exists[h]), err=True)
    load_host = next((b.hosts[0] for b in chapter.steps if b.kind == "load"), None)
    findings = asyncio.run(try_hosts(
        tried, ask=terminal_host_key_asker(), load_host=load_host,
        template=got.vars.get("TEMPLATE_VMID", chapter.vars.get("TEMPLATE_VMID"))))
    for finding in findings:
        click.echo(finding.line())
    bad = [f for f in findings if not f.ok and not f.warn]
    click.echo("\n" + _("{passed} of {total} tries passed; run the chapter with: {command}"
                        ).format(passed=len(findings) - len(bad), total=len(findings),
                                 command=f"labguide run {chapter.id} --inventory {output}"))
    return 1 if bad else 0
