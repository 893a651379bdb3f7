"""The tiny detached process that owns one running VM: it sets up the VM's namespace and
overlay, runs systemd-nspawn, relays the guest's console into console.log (bounded), boots
it again when the guest reboots (exit 133), and undoes its own setup when the guest powers
off or is stopped. Run as
`python -m labguide.sandbox.supervisor RUN_DIR` (RUN_DIR holds vm.json)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

from labguide.errors import LabguideError
from labguide.sandbox import cgroups, network, sshkeys
from labguide.sandbox.guest_files import GuestTree
from labguide.sandbox.topology import REPO_MOUNT
from labguide.sandbox.vmrecord import STOP_MARK, VmRecord, read_pid, write_pid

REBOOT_STATUS = 133
#: What one boot's console may write into console.log (it lives in /run, a tmpfs): past it the
#: guest's console is still read, so that it never blocks, and dropped, with one line saying so.
CONSOLE_LIMIT = 4 << 20
_LOG_LOCK = threading.Lock()  # the supervisor's lines and the guest's console, one file


def log(msg: str) -> None:
    with _LOG_LOCK:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


def relay_console(pipe: IO[bytes], out: IO[bytes], limit: int = CONSOLE_LIMIT) -> None:
    """Copy what the guest writes on its console (nspawn's stdout) into `out` until it ends,
    at most `limit` bytes of it; what comes after is read and dropped."""
    written = 0
    while chunk := pipe.read1(65536):  # type: ignore[attr-defined]
        if written >= limit:
            continue
        part = chunk[:limit - written]
        written += len(part)
        with _LOG_LOCK:
            out.write(part)
            if written >= limit:
                out.write(f"\n[labguide: the console wrote more than {limit >> 20} MiB in this "
                          "boot; the rest is dropped]\n".encode())
            out.flush()


def nspawn_argv(rec: VmRecord, keep_unit: bool) -> list[str]:
    """`keep_unit`: stay in the supervisor's own cgroup (cgroups.py) instead of asking the
    host's systemd for a scope."""
    return [
        "systemd-nspawn", "-q", "-b", "-D", rec.root, "--register=no",
        *(["--keep-unit"] if keep_unit else []),
        f"--machine={rec.machine}", f"--hostname={rec.name}",
        f"--network-namespace-path=/run/netns/{rec.netns}",
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_NET_BROADCAST",
        "--console=read-only", "--notify-ready=yes", "--kill-signal=SIGRTMIN+4",
        "--rlimit=RLIMIT_NOFILE=1024:524288", "--link-journal=no", "--resolv-conf=off",
        "--timezone=off",
        f"--bind-ro={rec.repo}:{REPO_MOUNT}",
    ]


def mount_root(rec: VmRecord) -> None:
    root = Path(rec.root)
    root.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(root):
        return
    subprocess.run(
        ["mount", "-t", "overlay", f"lg-vm{rec.vmid}", "-o",
         f"lowerdir={':'.join(rec.lowers)},upperdir={rec.upper},workdir={rec.work}", rec.root],
        check=True, capture_output=True,
    )


def prepare_guest(rec: VmRecord) -> None:
    """Name, hosts table and SSH identity of the guest, written through the mounted overlay
    without following any link the guest left in its tree (guest_files.py)."""
    tree = GuestTree(Path(rec.root), f"VM {rec.vmid} ({rec.name})")
    tree.write("etc/hostname", (rec.name + "\n").encode())
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{rec.name}"]
    lines += [f"{ip}\t{name}" for name, ip in rec.hosts.items() if name != rec.name]
    tree.write("etc/hosts", ("\n".join(lines) + "\n").encode())
    authorized = Path(rec.authorized_keys).read_text()
    if rec.host_keys == "ca":
        sshkeys.install_guest_ssh(tree, Path(rec.host_key), Path(rec.host_cert), authorized)
    else:  # "strict": the guest's own keys, made at its first boot (cloudinit.HOSTKEYS_UNIT)
        sshkeys.install_authorized_keys(tree, authorized)


class Supervisor:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.rec = VmRecord.load(run_dir)
        self.stopping = False
        self.hard = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready = run_dir / "ready"
        self.leader = run_dir / "leader.pid"
        self.cgroups: list[Path] = []

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nspawn sends SIGRTMIN+4: clean poweroff

    def _on_kill(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = self.hard = True
        leader = read_pid(self.leader)
        try:
            if leader:
                os.kill(leader, signal.SIGKILL)  # the guest's PID 1: its whole PID namespace dies
            elif self.proc is not None:
                self.proc.kill()
        except ProcessLookupError:
            pass

    def _listen(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(4096).decode(errors="replace")
            except OSError:
                return
            for line in data.splitlines():
                if line.startswith("X_NSPAWN_LEADER_PID="):
                    write_pid(self.leader, int(line.split("=", 1)[1]))
                elif line == "READY=1":
                    self.ready.write_text(f"{time.time()}\n")

    def run(self) -> int:
        write_pid(self.run_dir / "supervisor.pid")
        if (self.run_dir / STOP_MARK).exists():
            # stopped (or `down`) between our spawn and our pid file: whoever stopped us could
            # not find us, so we must not boot (vmrecord.STOP_MARK)
            (self.run_dir / "supervisor.pid").unlink(missing_ok=True)
            log(f"{self.rec.name} was stopped before it booted: nothing started")
            return 0
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGUSR1, self._on_kill)
        rc = 1
        notify = self.run_dir / "notify.sock"
        notify.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify))
        threading.Thread(target=self._listen, args=(sock,), daemon=True).start()
        try:
            rec = self.rec
            keep_unit = not cgroups.host_has_systemd()
            if keep_unit:
                self.cgroups = cgroups.enter_own(f"labguide-vm{rec.vmid}",
                                                 self.run_dir / cgroups.RECORD)
            network.setup_vm_net(rec.netns, rec.veth, rec.vmid, rec.ip_cidr)
            mount_root(rec)
            prepare_guest(rec)
            boots = 0
            while not self.stopping:
                self.ready.unlink(missing_ok=True)
                self.leader.unlink(missing_ok=True)
                boots += 1
                log(f"boot #{boots} of {rec.name} (vmid {rec.vmid})")
                env = {**os.environ, "NOTIFY_SOCKET": str(notify)}
                self.proc = subprocess.Popen(nspawn_argv(rec, keep_unit), env=env,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT)
                write_pid(self.run_dir / "nspawn.pid", self.proc.pid)
                assert self.proc.stdout is not None
                relay = threading.Thread(target=relay_console,
                                         args=(self.proc.stdout, sys.stdout.buffer), daemon=True)
                relay.start()
                rc = self.proc.wait()
                relay.join(timeout=5)
                log(f"nspawn exited with status {rc}")
                if rc != REBOOT_STATUS:
                    break
            return 0 if rc in (0, REBOOT_STATUS) or self.stopping else rc
        except Exception as exc:  # noqa: BLE001 - reported in the log and the failed file
            log(f"failed: {exc}")
            why = exc.message if isinstance(exc, LabguideError) else str(exc)
            (self.run_dir / "failed").write_text(f"{why}\n")
            return 1
        finally:
            self.teardown()
            sock.close()

    def teardown(self) -> None:
        rec = self.rec
        for f in ("ready", "leader.pid", "nspawn.pid", "notify.sock"):
            (self.run_dir / f).unlink(missing_ok=True)
        unmount(rec.root)
        network.delete_vm_net(rec.netns, rec.veth)
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{rec.machine}", ignore_errors=True)
        cgroups.leave(self.cgroups)
        for d in cgroups.remove_recorded(self.run_dir / cgroups.RECORD):
            log(f"cgroup {d} is still busy; `labguide lab down` removes it")
        (self.run_dir / "supervisor.pid").unlink(missing_ok=True)
        log("torn down")


def unmount(path: str) -> None:
    for _ in range(20):
        if not os.path.ismount(path):
            break
        r = subprocess.run(["umount", path], capture_output=True, check=False)
        if r.returncode != 0:
            time.sleep(0.1)
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", path], capture_output=True, check=False)
    try:
        os.rmdir(path)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    return Supervisor(Path(argv[0])).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
