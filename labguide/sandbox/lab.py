"""`lab up`, `lab down` and `lab status`: the sandbox lab as a whole, from the lab's records.

Prints nothing itself: progress goes to a `Reporter` (labguide.sandbox.progress), or to a plain
`say` callable; no Click, no Textual here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import shutil
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labguide.errors import ErrorGroup, LabguideError, Location
from labguide.sandbox import firewall, network, node1, preflight, settings, sshkeys
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.image import ensure_images, images_ready
from labguide.sandbox.inventory_file import ProxmoxAccess, lab_identity, write_inventory
from labguide.sandbox.labfile import current_lab, default_lab, record_lab
from labguide.sandbox.labspec import LabSpec, VmSpec
from labguide.sandbox.machines import NspawnMachines
from labguide.sandbox.paths import LabPaths
from labguide.sandbox.progress import Reporter, Say, as_reporter
from labguide.sandbox.readiness import wait_serving
from labguide.sandbox.topology import BRIDGE, NODE1_IP, PVE_PORT
from labguide.sandbox.vmrecord import VmRecord


def _quiet(_: str) -> None:
    pass


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, also when called from a running event loop (then in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


@contextmanager
def _lock(paths: LabPaths) -> Iterator[None]:
    paths.run.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabguideError("another `labguide lab` command is running",
                                Location(file=paths.lock)) from None
        yield


def is_up(paths: LabPaths) -> bool:
    m = NspawnMachines(paths)
    return (network.bridge_is_ours() is True and paths.inventory.exists()
            and all(m.is_running(v.vmid) for v in current_lab(paths).vms))


def _provision_disk(m: NspawnMachines, paths: LabPaths, vm: VmSpec, lab: LabSpec) -> None:
    """A start-state VM's disk over its role's layer; a role with `lab_key` also gets the
    lab's SSH key (and known_hosts), one with `home_dirs` those folders in ubuntu's home."""
    m.create_role_disk(vm.vmid, lab.layer_key(vm.role))
    role = lab.roles[vm.role]
    if not role.lab_key and not role.home_dirs:
        return
    upper = GuestTree(m.disk_upper(vm.vmid), f"VM {vm.vmid} ({vm.name})")
    lower = paths.base_image
    for rel in ("home", "home/ubuntu"):  # upper dirs must keep the lower dirs' owner and mode
        st = (lower / rel).stat()
        upper.make_dir(rel, st.st_mode & 0o7777, st.st_uid, st.st_gid)
    home = lower / "home/ubuntu"
    uid, gid = home.stat().st_uid, home.stat().st_gid
    if role.lab_key:
        sshkeys.install_client_identity(paths, upper, uid, gid)
        if settings.current(paths).host_keys == "ca":  # "strict": once the VMs made keys
            sshkeys.install_known_hosts(upper, paths.known_hosts.read_text(), uid, gid)
    for folder in role.home_dirs:
        d = "home/ubuntu"
        for part in folder.split("/"):
            d = f"{d}/{part}"
            upper.make_dir(d, 0o755, uid, gid)


def _images(paths: LabPaths, rep: Reporter, lab: LabSpec) -> bool:
    """The cached images, built if missing (the base and layers' own phases go inside)."""
    cold = not images_ready(paths, lab)
    with rep.phase("images (cold build: mmdebstrap, .debs, layers)" if cold
                   else "images (cached)") as ph:
        return ensure_images(paths, ph, lab)


def _claim(paths: LabPaths, lab: LabSpec) -> None:
    """The sandbox holds one lab at a time: another lab's VMs (under this root, or the bridge
    and node1 of a lab under another root) must go (`lab down`) first."""
    if paths.lab_file.is_file() or NspawnMachines(paths).recorded_vmids():
        have = current_lab(paths)
        if have.id != lab.id:
            raise LabguideError(
                f"the sandbox holds the lab {have.id!r}; `labguide lab down` first to build "
                f"{lab.id!r}", Location(file=paths.lab_file))
    other = network.foreign_lab(paths.bridge_record, paths.pve_pidfile)
    if other:
        raise LabguideError(
            f"another sandbox lab is up on this machine: {other}", Location(host="localhost"),
            hint="one sandbox lab at a time per machine: take that one down first "
                 "(`LABGUIDE_LAB_ROOT=<its root> labguide lab down`)")
    record_lab(paths, lab)


def up(paths: LabPaths | None = None, say: Say | Reporter = _quiet,
       host_keys: str | None = None, lab: LabSpec | None = None) -> Path:
    """Build (or reuse) and start a chapter's start state (`lab`: a lab file's, else the
    bundled l4lb-ha lab); returns the inventory's path. `host_keys`: "ca" or "strict"
    (settings.py; None: $LABGUIDE_HOST_KEYS, what the lab has, or the default).

    The images build in a thread while the bridge, the firewall, the keys and node1's
    emulator are made (none of them needs an image); the VMs' disks wait for the images."""
    paths = paths or LabPaths.default()
    rep = as_reporter(say)
    preflight.require_root("up")
    preflight.require_tools()
    t_start = time.monotonic()
    lab = lab or default_lab()
    with _lock(paths), ThreadPoolExecutor(1) as pool:
        _claim(paths, lab)
        chosen = settings.choose(paths, host_keys)
        settings.record(paths, chosen)
        m = NspawnMachines(paths)
        prox = _host_side_while(pool.submit(_images, paths, rep, lab), paths, rep,
                                chosen.host_keys, lab)
        todo = [vm for vm in lab.vms if not m.is_running(vm.vmid)]
        fresh = [vm for vm in todo if not m.disk_exists(vm.vmid)]
        with rep.phase(f"disks for {len(todo)} VM(s)"):
            for vm in fresh:
                _provision_disk(m, paths, vm, lab)
        # Starting a VM is one code path: node1's API (the emulator calls NspawnMachines).
        with rep.phase(f"start {len(todo)} VM(s) through node1's API"):
            if todo:
                node1.start_vms_via_api(paths, [vm.vmid for vm in todo])
        with rep.phase("wait for sshd, nginx and HAProxy"):
            _run(wait_serving(lab))
        if chosen.host_keys == "strict":
            with rep.phase("known_hosts: the start VMs' own host keys"):
                _learn_host_keys(m, paths, lab)
        with rep.phase("log in to each VM (host keys checked)"):
            _run(_check_logins(paths, rep.note, lab))
        # a lab with new disks is a new lab: results of runs on the old one do not hold here
        inv = write_inventory(paths, prox, lab_identity(paths, new=bool(fresh)), lab)
    rep.note(f"lab up in {time.monotonic() - t_start:.1f} s; inventory: {inv}")
    return inv


def _host_side_while(images: Future[bool], paths: LabPaths, rep: Reporter,
                     host_keys: str, lab: LabSpec) -> ProxmoxAccess:
    """The host side while the images build; then wait for them. A failure of either is
    raised once both are over, both failures together if both failed."""
    errors: list[LabguideError] = []
    prox: ProxmoxAccess | None = None
    try:
        prox = _host_side(paths, rep, host_keys, lab)
    except LabguideError as exc:
        errors.append(exc)
    finally:
        try:
            images.result()
        except LabguideError as exc:
            errors.insert(0, exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    assert prox is not None
    return prox


def _host_side(paths: LabPaths, rep: Reporter, host_keys: str, lab: LabSpec) -> ProxmoxAccess:
    """The bridge, its firewall, the lab's SSH keys and node1's emulator: what `up` makes
    on the host."""
    with rep.phase("network: bridge lgbr0, 198.18.16.1 and .2"):
        network.check_addresses_free()
        network.ensure_bridge(paths.bridge_record)
    with rep.phase(f"firewall: nftables table {firewall.FAMILY} {firewall.TABLE}"):
        firewall.install(paths.firewall_record)
    with rep.phase(f"SSH keys (host keys {host_keys!r})"):
        sshkeys.ensure_lab_keys(paths)
    with rep.phase(f"node1: Proxmox API emulator on {NODE1_IP}:{PVE_PORT}"):
        paths.pve_state.mkdir(parents=True, exist_ok=True)
        node1.seed(paths, lab)
        prox = node1.access(paths)
        node1.start_emulator(paths)
    return prox


def _learn_host_keys(m: NspawnMachines, paths: LabPaths, lab: LabSpec) -> None:
    """Host keys "strict": the start VMs are known as after the book's earlier chapters.
    Their own keys (made at first boot) are read from their trees, never through a link,
    into the inventory's known_hosts and the client's; a clone stays unknown to both."""
    lines = ["# The start VMs' own host keys, read from each guest by `labguide lab up`"]
    for vm in lab.vms:
        rec = m.record(vm.vmid)
        if rec is None:
            raise LabguideError(f"VM {vm.vmid} ({vm.name}) has no runtime record",
                                Location(file=paths.vm_run(vm.vmid) / "vm.json"))
        key = sshkeys.guest_host_key(GuestTree(Path(rec.root), f"VM {vm.vmid} ({vm.name})"))
        lines.append(f"{vm.name},{vm.ip} {key}")
    text = "\n".join(lines) + "\n"
    tmp = paths.known_hosts.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.rename(paths.known_hosts)
    for client in (vm for vm in lab.vms if lab.roles[vm.role].lab_key):
        rec = m.record(client.vmid)
        assert rec is not None
        tree = GuestTree(Path(rec.root), f"VM {client.vmid} ({client.name})")
        uid, gid = tree.user_ids("ubuntu")
        sshkeys.install_known_hosts(tree, text, uid, gid)


async def _check_login(paths: LabPaths, vm: VmSpec, say: Say) -> None:
    """Log in as the chapter does and ask the guest's systemd how its boot went: a banner
    alone does not show that logins work (a guest that keeps /run/nologin sends one)."""
    import asyncssh

    try:
        async with asyncio.timeout(60):
            async with asyncssh.connect(
                vm.ip, username="ubuntu", client_keys=[str(paths.identity_file)],
                known_hosts=str(paths.known_hosts), connect_timeout=10,
            ) as conn:
                res = await conn.run("systemctl is-system-running --wait; "
                                     "systemctl --failed --no-legend --plain", check=False)
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise LabguideError(
            f"cannot log in to {vm.name} ({vm.ip}) as ubuntu: {str(exc) or type(exc).__name__}",
            Location(host=vm.name),
            hint=f"the guest's journal: nsenter -t $(cat {paths.vm_run(vm.vmid)}/leader.pid) "
                 "-a journalctl -b --no-pager",
        ) from None
    state, *failed = str(res.stdout).strip().splitlines() or ["unknown"]
    if state.strip() != "running":
        units = ", ".join(line.split()[0] for line in failed if line.split()) or "none listed"
        say(f"warning: {vm.name} booted {state.strip()}; failed units: {units}")


async def _check_logins(paths: LabPaths, say: Say, lab: LabSpec) -> None:
    await asyncio.gather(*(_check_login(paths, vm, say) for vm in lab.vms))


def down(paths: LabPaths | None = None, say: Say | Reporter = _quiet,
         purge: bool = False) -> None:
    """Remove everything `up` (and the chapter, through node1) made, from the lab's records."""
    paths = paths or LabPaths.default()
    rep = as_reporter(say)
    preflight.require_root("down")
    t0 = time.monotonic()
    with _lock(paths):
        with rep.phase("node1: stop the API emulator"):
            node1.stop_emulator(paths)
        m = NspawnMachines(paths)
        vmids = m.recorded_vmids()
        with rep.phase(f"stop {len(vmids)} VM(s), unmount, delete namespaces"):
            _run(_stop_all(m, vmids))
            for vmid in vmids:
                m.forget(vmid)
        with rep.phase(f"delete firewall table and bridge {BRIDGE}"):
            firewall.remove(paths.firewall_record)
            network.delete_bridge()
        with rep.phase("remove state and runtime files"):
            shutil.rmtree(paths.state, ignore_errors=True)
            if purge:
                shutil.rmtree(paths.cache, ignore_errors=True)
    # the lock file lives under run/: remove it last, outside the lock
    shutil.rmtree(paths.run, ignore_errors=True)
    for d in (paths.run.parent, paths.state.parent):  # /run/labguide, /var/lib/labguide
        try:
            d.rmdir()
        except OSError:
            pass  # not empty: something else of labguide's lives there
    rep.note(f"lab down in {time.monotonic() - t0:.1f} s" + (" (cache purged)" if purge else
                                                            f"; cache kept in {paths.cache}"))


async def _stop_all(m: NspawnMachines, vmids: list[int]) -> None:
    # The disks are deleted next, so a clean poweroff buys nothing: pull the plugs in parallel.
    await asyncio.gather(*(m.stop(v) for v in vmids))


def _services(m: NspawnMachines, vmid: int) -> dict[str, str]:
    """State of the lab's interesting units inside a running guest (via its PID 1's namespaces)."""
    import subprocess

    rec = m.record(vmid)
    leader = (m.paths.vm_run(vmid) / "leader.pid")
    if rec is None or not leader.exists():
        return {}
    units = ["ssh.service", "nginx.service", "haproxy.service", "keepalived.service"]
    proc = subprocess.run(
        ["nsenter", "-t", leader.read_text().strip(), "-m", "-p", "--",
         "systemctl", "show", "-p", "Id,LoadState,ActiveState", *units],
        capture_output=True, text=True, timeout=10, check=False,
    )
    out: dict[str, str] = {}
    for block in proc.stdout.strip().split("\n\n"):
        kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if kv.get("LoadState") == "loaded":
            out[kv["Id"].removesuffix(".service")] = kv.get("ActiveState", "?")
    return out


def status(paths: LabPaths | None = None) -> dict[str, Any]:
    """The lab's hosts and how to reach node1's API; the JSON keys are stable for scripts."""
    paths = paths or LabPaths.default()
    m = NspawnMachines(paths)
    hosts: list[dict[str, Any]] = []
    lab = current_lab(paths)
    known = {vm.vmid: (vm.name, vm.ip) for vm in (*lab.vms, *lab.created)}
    for vmid in m.recorded_vmids():
        rec: VmRecord | None = m.record(vmid)
        if rec is not None:
            known[vmid] = (rec.name, rec.ip_cidr.split("/", 1)[0])
    pve_running = node1.emulator_pid(paths) is not None
    hosts.append({"name": "node1", "vmid": None, "address": NODE1_IP, "running": pve_running,
                  "services": {"pve-api": "active" if pve_running else "inactive"}})
    for vmid, (name, ip) in sorted(known.items()):
        running = m.is_running(vmid)
        if not running and not m.disk_exists(vmid):
            continue
        hosts.append({"name": name, "vmid": vmid, "address": ip, "running": running,
                      "services": _services(m, vmid) if running else {}})
    prox: dict[str, Any] = {"url": f"https://{NODE1_IP}:{PVE_PORT}/api2/json", "ca": None,
                            "token_id": None, "token_secret_file": None}
    if paths.pve_state.exists():
        acc = node1.access(paths)
        prox.update(ca=str(acc.ca), token_id=acc.token_id,
                    token_secret_file=str(acc.token_secret_file))
    return {
        "up": is_up(paths),
        "lab": lab.id,
        "bridge": BRIDGE if network.bridge_is_ours() else None,
        "firewall": (f"{firewall.FAMILY} {firewall.TABLE}" if firewall.table_is_ours()
                     else None),
        "host_keys": have.host_keys if (have := settings.recorded(paths)) else None,
        "hosts": hosts,
        "inventory": str(paths.inventory) if paths.inventory.exists() else None,
        "proxmox": prox,
    }
