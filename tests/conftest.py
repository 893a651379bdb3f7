"""Shared fixtures: a real OpenSSH sshd on loopback with its own keys and known_hosts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labguide.inventory import Host

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

# labguide speaks the locale's language (LC_ALL, LC_MESSAGES, LANG): the tests read English
# unless they ask for another language themselves, whatever the machine's locale.
for _var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"

# A shell without job control starts `cmd &` with SIGINT ignored, and every child inherits
# that: the tests that press Ctrl-C on labguide (SIGINT to its process group) would then go
# unheard. Python only turns SIGINT into KeyboardInterrupt if it starts with the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass(frozen=True)
class Sshd:
    port: int
    dir: Path
    known_hosts: Path
    identity: Path
    user: str
    pid: int

    def host(self, name: str = "box", **kw: object) -> Host:
        args: dict[str, object] = dict(
            name=name, address="127.0.0.1", port=self.port, user=self.user,
            identity_file=self.identity, known_hosts=self.known_hosts, connect_timeout=5.0)
        args.update(kw)
        return Host(**args)  # type: ignore[arg-type]

    def inventory_host(self, name: str) -> str:
        """An inventory's `[hosts.NAME]` table for this sshd (root, its key and known_hosts)."""
        return (f'[hosts.{name}]\naddress = "127.0.0.1"\nport = {self.port}\nuser = "root"\n'
                f'identity_file = "{self.identity}"\nknown_hosts = "{self.known_hosts}"\n')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sshd(folder: Path, user: str = "root",
               settings: str = "") -> tuple[Sshd, subprocess.Popen[bytes]]:
    """`settings`: sshd_config lines that replace the defaults' lines of the same keyword."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "hostkey")],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "id")],
                   check=True)
    shutil.copy(folder / "id.pub", folder / "authorized_keys")
    port = _free_port()
    pub = (folder / "hostkey.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    config = (f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'hostkey'}\n"
              f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
              "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
              "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nMaxSessions 50\n"
              "MaxStartups 50:30:100\nLogLevel ERROR\n").splitlines(keepends=True)
    replaced = {line.split()[0].lower() for line in settings.splitlines() if line.strip()}
    (folder / "sshd_config").write_text(
        settings + "".join(line for line in config if line.split()[0].lower() not in replaced))
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                            stderr=open(folder / "sshd.log", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError(f"sshd did not start: {(folder / 'sshd.log').read_text()}")
    return Sshd(port, folder, folder / "known_hosts", folder / "id", user, proc.pid), proc


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real sshd on 127.0.0.1 (ephemeral port), stopped by its own pid at the end."""
    info, proc = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield info
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs write their state and transcripts under the test's own folder."""
    monkeypatch.setenv("LABGUIDE_STATE_DIR", str(tmp_path / "state"))


# -- the sandbox lab, shared by every sandbox test of a session -------------------------------
#
# Tests that need the lab use `sandbox_lab` (up if it is not) or, for the chapter's own tests,
# rebuild it (tests/e2e). Whoever brings it up during a session records it here, and the lab is
# taken down once at the end of the session: the tests that come after the chapter's run (the
# probes' and node1's sandbox tests) see the finished lab instead of skipping.
_LAB_BROUGHT_UP: list[bool] = []


def sandbox_missing() -> str | None:
    """Why the sandbox cannot run here, or None."""
    if os.geteuid() != 0:
        return "the sandbox needs root"
    for tool in ("systemd-nspawn", "mmdebstrap", "apt-ftparchive", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/host-packages.txt)"
    return None


def lab_up(fresh: bool = False, chapter: str | None = None) -> Path:
    """Bring the sandbox lab up (down first if `fresh`); returns its inventory's path.
    `chapter`: a bundled chapter's lab (its NAME.lab.toml) instead of l4lb-ha's; as a lab
    that is up may be another's, only with `fresh`."""
    from labguide.sandbox import lab
    from labguide.sandbox.labfile import lab_file_of, load_lab
    from labguide.sandbox.paths import LabPaths

    assert fresh or chapter is None, "another chapter's lab is brought up fresh"
    paths = LabPaths.default()
    say = lambda line: print(f"[lab] {line}")  # noqa: E731
    if fresh and lab.is_up(paths):
        lab.down(paths, say=say)
    if not lab.is_up(paths):
        lab.up(paths, say=say, lab=load_lab(lab_file_of(chapter)) if chapter else None)
        _LAB_BROUGHT_UP.append(True)
    return paths.inventory


@pytest.fixture(scope="session")
def sandbox_lab() -> Path:
    """The sandbox lab, up (in whatever state earlier tests left it); its inventory path."""
    why = sandbox_missing()
    if why:
        pytest.skip(why)
    return lab_up()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Take the lab down, and fail the run if `down` leaves anything behind after all that
    the tests did to it (the chapter's clone, reboots, cut links, killed processes)."""
    if _LAB_BROUGHT_UP:
        from labguide.sandbox import lab
        from labguide.sandbox.paths import LabPaths
        from tests.sandbox.sandbox_helpers import leftovers

        paths = LabPaths.default()
        lab.down(paths, say=lambda line: print(f"[lab] {line}"))
        left = leftovers(paths)
        if left:
            print(f"\n[lab] `lab down` left these behind: {left}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


#: Tests that build the more-web chapter's lab (not l4lb-ha's): they run last.
OTHER_LABS = ("tests/tui/test_tmux_more_web.py", "tests/e2e/test_labguide_test.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The more-web chapter's tests (its TUI run, `labguide test`'s own) run last: they take
    the shared lab down and build the more-web lab, so the tests that read the finished
    l4lb-ha lab (the probes' sandbox tests) would meet another lab after them and skip."""
    last = [i for i in items if i.nodeid.startswith(OTHER_LABS)]
    if last:
        items[:] = [i for i in items if i not in last] + last
