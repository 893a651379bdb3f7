"""One host's key against one known_hosts file, given to asyncssh explicitly: the
inventory's, else ~/.ssh/known_hosts. ~/.ssh/config cannot turn checking off or point it
elsewhere (UserKnownHostsFile none or /dev/null, HostKeyAlias); a known_hosts that is not a
regular readable file (or, when new keys are accepted, one they cannot be appended to) fails
closed. A key seen for the first time is accepted (--accept-new-host-keys), asked about, or
refused with its fingerprint; a changed key is always refused, with the line that removes
the old one."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import asyncssh

from labguide.errors import HostError
from labguide.i18n import gettext as _
from labguide.inventory import Host
from labguide.transports.hostkey import AskHostKey, HostKeyQuestion

#: How long a refused host key is remembered, so that a background connection (the VIP
#: watcher's) does not ask again at once (seconds).
REFUSAL_MEMORY = 30.0


class KnownHosts:
    def __init__(self, host: Host, *, accept_new: bool = False,
                 ask: AskHostKey | None = None) -> None:
        self.host = host
        self.accept_new = accept_new
        #: Asks the reader about a key seen for the first time (None: refuse it).
        self.ask = ask
        #: Keys accepted on first contact ("host: SHA256:…"), to be shown and recorded.
        self.accepted: list[str] = []
        self._refused: tuple[float, str] | None = None

    @property
    def path(self) -> Path:
        """The file host keys are checked against and accepted into."""
        return self.host.known_hosts or Path("~/.ssh/known_hosts").expanduser()

    @property
    def name(self) -> str:
        """The host as known_hosts names it."""
        host = self.host
        return host.address if host.port == 22 else f"[{host.address}]:{host.port}"

    def error(self, why: str) -> HostError:
        return HostError(self.host.name, f"known_hosts {self.path}: {why}",
                         hint=_("set known_hosts in the inventory to a regular file (it may "
                                "start empty, with --accept-new-host-keys)"), lasting=True)

    def for_asyncssh(self) -> str | asyncssh.SSHKnownHosts:
        """What asyncssh checks host keys against (never left to ~/.ssh/config): the file, or
        no keys at all if it does not exist yet. HostError if it cannot keep keys."""
        path = self.path
        try:
            st = path.stat()
        except FileNotFoundError:
            return asyncssh.import_known_hosts("")  # every key unknown; accepted ones create it
        except OSError as exc:
            raise self.error(_("cannot be read ({error})").format(error=exc.strerror)) from None
        if not stat.S_ISREG(st.st_mode):
            kind = (_("a folder") if stat.S_ISDIR(st.st_mode) else _("a device")
                    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else _("a FIFO")
                    if stat.S_ISFIFO(st.st_mode) else _("not a regular file"))
            raise self.error(_("is {kind}: host keys could not be checked there, nor accepted "
                               "keys kept").format(kind=kind))
        if not os.access(path, os.R_OK):
            raise self.error(_("is not readable"))
        if self.accept_new and not os.access(path, os.W_OK):
            raise self.error(_("is not writable: a newly accepted key could not be kept"))
        return str(path)

    def has_entry(self) -> bool:
        """Whether known_hosts already has a key (or a CA) for this host."""
        try:
            known = asyncssh.read_known_hosts(str(self.path))
        except (OSError, ValueError):
            return False
        trusted, cas, *_ = known.match(self.name, self.host.address, self.host.port)
        return bool(trusted or cas)

    async def unknown_key(self) -> None:
        """The host showed a key known_hosts does not trust: keep it if it is new and
        accepted; else HostError (a changed key, a refusal, nobody to ask)."""
        host = self.host
        try:
            async with asyncio.timeout(host.connect_timeout):
                key = await asyncssh.get_server_host_key(host.address, host.port)
        except (OSError, asyncssh.Error, TimeoutError):
            key = None
        fingerprint = key.get_fingerprint("sha256") if key else _("(unavailable)")
        if self.has_entry():
            raise HostError(
                host.name,
                _("host key CHANGED for {address} (now {key}); refusing to connect: this can "
                  "be an impostor or a rebuilt host").format(
                    address=host.address,
                    key=f"{key.get_algorithm() if key else '?'} {fingerprint}"),
                hint=_("if the change is expected: {command}").format(
                    command=f"ssh-keygen -R {self.name} -f {self.path}"), lasting=True)
        if key is None:
            raise HostError(host.name, _("unknown host key for {address}, and the host did not "
                                         "show its key again to be fingerprinted").format(
                address=host.address), lasting=True)
        question = HostKeyQuestion(host.name, host.address, host.port, key.get_algorithm(),
                                   fingerprint, self.path)
        answer = True if self.accept_new else await self._asked(question)
        if not answer:
            raise HostError(
                host.name,
                (_("unknown host key for {address}: {key} is not in {path} (refused)")
                 if answer is False else
                 _("unknown host key for {address}: {key} is not in {path}")).format(
                    address=host.address, key=f"{question.type_name} {fingerprint}",
                    path=self.path),
                hint=_("compare it with the host's own key ({command} on its console), then "
                       "accept it when asked (in the TUI, or plain mode on a terminal), or "
                       "rerun with --accept-new-host-keys").format(
                    command=question.compare_command()), lasting=True)
        self.keep(f"{self.name} {key.export_public_key().decode().strip()}\n")
        self._refused = None
        self.accepted.append(f"{host.name}: {fingerprint}")

    def keep(self, line: str) -> None:
        """Accepted into the file that was checked: the inventory's, or ~/.ssh/known_hosts
        as OpenSSH's StrictHostKeyChecking=accept-new does."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self.path, "a", encoding="ascii") as fh:
                fh.write(line)
        except OSError as err:
            raise self.error(_("could not keep the accepted key ({error})").format(
                error=err.strerror)) from None

    async def _asked(self, question: HostKeyQuestion) -> bool | None:
        """The reader's answer: None without anyone to ask; False for a refusal, also of a
        key refused a moment ago (not asked again at once)."""
        if self.ask is None:
            return None
        if self._refused and self._refused[1] == question.fingerprint and (
                time.monotonic() - self._refused[0] < REFUSAL_MEMORY):
            return False
        answer = await self.ask(question)
        if answer is False:
            self._refused = (time.monotonic(), question.fingerprint)
        return answer
