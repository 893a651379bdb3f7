"""`labguide lab up | down | status [--json] | console VM` (click). Thin: calls
labguide.sandbox.lab and labguide.sandbox.console."""

from __future__ import annotations

import json
import sys
import time

import click
from click.shell_completion import CompletionItem

from labguide.sandbox import progress
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.settings import DEFAULT_HOST_KEYS, HOST_KEY_MODES, HOST_KEYS_ENV


@click.group("lab")
def lab() -> None:
    """The sandbox lab: the chapter's VMs as containers on this machine (needs root)."""


def complete_labs(_ctx: click.Context, _param: click.Parameter, incomplete: str
                  ) -> list[CompletionItem]:
    """Bundled chapters with a lab file; files when what is typed looks like a path (as
    labguide/completion.py completes chapters, which the sandbox does not import)."""
    try:
        from labguide.chapter_files import bundled_folder_files, split_name
        from labguide.sandbox.labfile import bundled_lab_file

        names = sorted({n for n in (split_name(p)[0] for p in bundled_folder_files())
                        if bundled_lab_file(n) is not None})
    except Exception:  # completion never prints a traceback into the shell
        names = []
    items = [CompletionItem(n) for n in names if n.startswith(incomplete)]
    if not items or "/" in incomplete or incomplete.startswith((".", "~")):
        items.append(CompletionItem(incomplete, type="file"))
    return items


@lab.command("up")
@click.argument("chapter", required=False, shell_complete=complete_labs)
@click.option("--host-keys", type=click.Choice(HOST_KEY_MODES), default=None,
              help="How guests get SSH host keys: 'strict' as in a real lab (each VM makes "
                   "its own at first boot; a clone is unknown to every known_hosts) or 'ca' "
                   f"(signed by a lab host CA that known_hosts trusts). Default: "
                   f"${HOST_KEYS_ENV}, else what the lab has, else '{DEFAULT_HOST_KEYS}'.")
def up(chapter: str | None, host_keys: str | None) -> None:
    """Build (once) and start a chapter's start state, as its lab file (CHAPTER.lab.toml
    beside the chapter) describes it; write the lab's inventory. Without CHAPTER: l4lb-ha's.

    Each phase shows as it starts: a live line per phase on a terminal, timestamped lines
    otherwise (also with NO_COLOR or TERM=dumb)."""
    from labguide.sandbox import lab as lab_mod  # asyncssh and more: not for --help or TAB
    from labguide.sandbox.labfile import default_lab, lab_file_of, load_lab

    spec = load_lab(lab_file_of(chapter)) if chapter else default_lab()
    t0 = time.monotonic()
    click.echo(f"labguide lab up: building the sandbox lab {spec.id} (198.18.16.0/24 on "
               "lgbr0)")
    with progress.for_stream(sys.stdout) as rep:
        inv = lab_mod.up(LabPaths.default(), say=rep, host_keys=host_keys, lab=spec)
    click.echo(f"\nThe lab is up ({time.monotonic() - t0:.1f} s). Its inventory: {inv}")
    click.echo("Run the chapter against it:")
    click.echo(f"  labguide run {chapter or spec.id} --inventory {inv}")
    client = next((v for v in spec.vms if spec.roles[v.role].lab_key), spec.vms[0])
    click.echo(f"  ssh -i {LabPaths.default().identity_file} "
               f"-o UserKnownHostsFile={LabPaths.default().known_hosts} ubuntu@{client.ip}")
    click.echo("Take it down with: labguide lab down")


@lab.command("down")
@click.option("--purge", is_flag=True, help="Also drop the cached base image and packages.")
def down(purge: bool) -> None:
    """Remove everything `lab up` made (works after a crash, from the lab's records)."""
    from labguide.sandbox import lab as lab_mod

    click.echo("labguide lab down")
    with progress.for_stream(sys.stdout) as rep:
        lab_mod.down(LabPaths.default(), say=rep, purge=purge)


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Each host, its address, whether it runs, and its services."""
    from labguide.sandbox import lab as lab_mod

    st = lab_mod.status(LabPaths.default())
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"lab: {'up' if st['up'] else 'down'}   bridge: {st['bridge'] or '-'}   "
               f"host keys: {st['host_keys'] or '-'}   inventory: {st['inventory'] or '-'}")
    click.echo(f"{'host':<10} {'vmid':>5} {'address':<15} {'state':<8} services")
    for h in st["hosts"]:
        svc = " ".join(f"{k}={v}" for k, v in h["services"].items())
        vmid = "" if h["vmid"] is None else str(h["vmid"])
        click.echo(f"{h['name']:<10} {vmid:>5} {h['address']:<15} "
                   f"{'running' if h['running'] else 'stopped':<8} {svc}")
    if st["proxmox"]["token_id"]:
        click.echo(f"node1 API: {st['proxmox']['url']} token {st['proxmox']['token_id']} "
                   f"(secret in {st['proxmox']['token_secret_file']})")


@lab.command("console")
@click.argument("vm")
@click.option("-f", "--follow", is_flag=True, help="Keep printing what the console writes "
              "(until ctrl+c).")
def console(vm: str, follow: bool) -> None:
    """What VM (a name or a VM id) wrote on its console, as `qm terminal VMID` or the web UI
    shows a Proxmox VM's: its boots and, at its first boot, its SSH host keys' fingerprints
    (compare them with what ssh asks). Escape sequences and control characters are left out."""
    from labguide.sandbox.console import console_log, printable, read_console

    log = console_log(LabPaths.default(), vm)
    click.echo(read_console(log), nl=False)
    if not follow:
        return
    with open(log, "rb") as f:
        f.seek(0, 2)
        try:
            while True:
                data = f.read(65536)
                if data:
                    click.echo(printable(data), nl=False)
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            click.echo()
