"""The proxmox transport: a qm block's commands run as Proxmox VE API calls through proxmoxer.

Tasks are awaited by UPID with their log streamed as output. Secrets (token secret, password,
ticket) never reach output, logs or exception text. What qm prints is qm_output.py's, the
HTTPS session's TLS pinning and ticket login are pve_session.py's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from proxmoxer.backends.https import JsonSerializer, ProxmoxHTTPApiTokenAuth, ProxmoxHttpSession
from proxmoxer.core import ProxmoxResource, ResourceException

from labguide.errors import HostError, LabguideError, Location
from labguide.i18n import gettext as _
from labguide.inventory import Host, ProxmoxSettings, read_secret_file
from labguide.redact import MASK
from labguide.transports.base import Ask, CommandResult, OutputSink, Transport
from labguide.transports.pve_session import FINGERPRINT, PinnedFingerprintAdapter, TicketAuth
from labguide.transports.qm import QmCommand, QmSyntaxError, parse_qm_script
from labguide.transports.qm_output import format_config, format_list, format_status

__all__ = ["ProxmoxTransport"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Exit status of a failed qm command (the real qm exits with -1, i.e. 255).
QM_FAILED = 255
_TASK_END = re.compile(r"^TASK (OK|WARNINGS: \d+|ERROR: .*)$")


class _ApiFailure(Exception):
    """An API call answered with an error (other than 401): what qm would print, and exit 255."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


class _Timeout(Exception):
    pass


# -- the transport ---------------------------------------------------------------------------------
class ProxmoxTransport(Transport):
    """Runs qm scripts on a Proxmox VE node through its API (one session, reused)."""

    def __init__(self, host: Host, *, poll_interval: float = 0.5,
                 api_timeout: float = 30.0) -> None:
        super().__init__(host)
        if host.proxmox is None:
            raise LabguideError(_("the proxmox transport needs a [proxmox] table"),
                                Location(host=host.name, key=f"hosts.{host.name}.proxmox"))
        self.settings: ProxmoxSettings = host.proxmox
        self.poll_interval = poll_interval
        self.api_timeout = api_timeout
        self._api: ProxmoxResource | None = None
        self._session: requests.Session | None = None
        self._secrets: list[str] = []
        self._warn_next_run = False

    # secrets ----------------------------------------------------------------
    def _remember(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def _where(self, key: str) -> Location:
        return Location(host=self.host.name, key=f"hosts.{self.host.name}.proxmox.{key}")

    def _secret(self, env_key: str, file_key: str, what: str) -> str | None:
        env_name = getattr(self.settings, env_key)
        path: Path | None = getattr(self.settings, file_key)
        if env_name:
            value = os.environ.get(env_name)
            if not value:
                raise LabguideError(_("{what}: environment variable {env} is not set").format(
                    what=what, env=env_name), self._where(env_key))
            return value.strip()
        if path is not None:
            return read_secret_file(path, _("{what} of host {host}").format(
                what=what, host=self.host.name))
        return None

    # connection ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        address = self.host.address
        if ":" in address and not address.startswith("["):
            address = f"[{address}]"
        return f"https://{address}:{self.settings.port}/api2/json"

    def _verify(self) -> bool | str:
        s = self.settings
        if s.fingerprint and not FINGERPRINT.match(s.fingerprint):
            raise LabguideError(_("fingerprint must be a SHA-256 digest (AB:CD:… 32 bytes)"),
                                self._where("fingerprint"))
        if s.ca is not None:
            if not s.ca.is_file():
                raise LabguideError(_("CA file {path} does not exist").format(path=s.ca),
                                    self._where("ca"))
            return str(s.ca)
        if s.fingerprint:
            return False  # the pinned digest is checked instead of a CA chain
        return bool(s.verify_tls)

    def _open(self) -> tuple[requests.Session, ProxmoxResource]:
        s = self.settings
        verify = self._verify()
        session = ProxmoxHttpSession()
        session.trust_env = False  # no proxies or CA bundles from the environment
        session.headers["Connection"] = "keep-alive"
        session.headers["accept"] = JsonSerializer().get_accept_types()
        if s.fingerprint:
            session.mount("https://", PinnedFingerprintAdapter(s.fingerprint))
        if s.token_id:
            secret = self._secret("token_secret_env", "token_secret_file",
                                  _("API token secret"))
            assert secret is not None
            self._remember(secret)
            user, _sep, token_name = s.token_id.partition("!")
            session.auth = ProxmoxHTTPApiTokenAuth(
                user, token_name, secret, verify_ssl=verify, timeout=self.api_timeout)
        else:
            password = self._secret("password_env", "password_file", _("password"))
            if password is None:
                raise LabguideError(_("user login needs password_env or password_file"),
                                    self._where("user"))
            self._remember(password)
            auth = TicketAuth(session, self.base_url, s.user or "root@pam", verify,
                               self.api_timeout, self._remember)
            self._guard(lambda: auth.login(password))
            session.auth = auth
        api = ProxmoxResource(base_url=self.base_url, session=session,
                              serializer=JsonSerializer())
        self._guard(lambda: api.version.get())
        return session, api

    def _guard(self, fn: Callable[[], T]) -> T:
        """Call proxmoxer; turn its and requests' errors into ours, with secrets scrubbed."""
        name = self.host.name
        try:
            return fn()
        except ResourceException as exc:
            text = self.scrub(str(exc.content or exc.status_message or ""))
            if exc.status_code == 401:
                raise HostError(name, _("the Proxmox API refused the credentials ({text})"
                                        ).format(text=text), hint=_(
                    "check token_id and its secret (or user and password)"), lasting=True
                                ) from None
            if isinstance(exc.errors, dict) and exc.errors:
                text += "".join(f"\n{k}: {self.scrub(str(v))}" for k, v in exc.errors.items())
            raise _ApiFailure(exc.status_code, text) from None
        except requests.exceptions.SSLError as exc:
            raise HostError(name, _("TLS check of {address} failed: {error}").format(
                address=f"{self.host.address}:{self.settings.port}",
                error=self.scrub(_short(exc))),
                hint=_("check the ca file or the pinned fingerprint"), lasting=True) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise HostError(name, _("cannot reach the Proxmox API at {url}: {error}").format(
                url=self.base_url, error=self.scrub(_short(exc)))) from None
        except requests.exceptions.RequestException as exc:
            raise HostError(name, _("Proxmox API request failed: {error}").format(
                error=self.scrub(_short(exc)))) from None

    async def connect(self) -> None:
        if self._api is not None:
            return
        if not self.settings.verify_tls and self.settings.ca is None \
                and not self.settings.fingerprint:
            log.warning("TLS verification is OFF for %s (%s): anyone on the path can read and "
                        "change the API traffic", self.host.name, self.base_url)
            self._warn_next_run = True
        self._session, self._api = await asyncio.to_thread(self._open)

    async def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = None
        self._api = None

    # running ------------------------------------------------------------------
    async def _call(self, fn: Callable[[], T], deadline: float | None) -> T:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise _Timeout()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
            async with asyncio.timeout(left):
                return await asyncio.to_thread(self._guard, fn)
        except TimeoutError:
            raise _Timeout() from None

    async def run(self, script: str, sink: OutputSink, *, timeout: float | None = None,
                  input_data: bytes | None = None, ask: Ask | None = None) -> CommandResult:
        t0 = time.monotonic()

        def out(stream: str, line: str) -> None:
            sink(stream, self.scrub(line))

        try:
            commands = parse_qm_script(script)
        except QmSyntaxError as exc:
            out("stderr", _("line {line}: {problem}").format(line=exc.line_index + 1,
                                                             problem=exc.message))
            return CommandResult(2, time.monotonic() - t0)
        for cmd in commands:
            if cmd.has_placeholders:
                out("stderr", _("unbound variable in: {command}").format(command=cmd.text))
                return CommandResult(2, time.monotonic() - t0)
        deadline = None if timeout is None else t0 + timeout
        await self.connect()
        if self._warn_next_run:
            self._warn_next_run = False
            out("stderr", _("WARNING: TLS verification is OFF for {host}: the API connection is "
                            "not authenticated").format(host=self.host.name))
        try:
            for cmd in commands:
                status = await self._run_one(cmd, out, deadline)
                if status != 0:
                    return CommandResult(status, time.monotonic() - t0)
        except _Timeout:
            out("stderr", _("timed out after {seconds} s").format(seconds=f"{timeout:.0f}"))
            return CommandResult(None, time.monotonic() - t0, reason="timeout")  # i18n: not text
        except HostError as exc:
            out("stderr", exc.message)
            if exc.lasting:  # credentials or the TLS check refused: no retry helps
                raise
            await self.close()
            return CommandResult(None, time.monotonic() - t0,
                                 reason="connection lost")  # i18n: not text
        return CommandResult(0, time.monotonic() - t0)

    async def _run_one(self, cmd: QmCommand, out: OutputSink, deadline: float | None) -> int:
        api = self._api
        assert api is not None
        node = api.nodes(self.settings.node)
        sub = cmd.subcommand
        params = cmd.api_params()
        try:
            if sub == "list":
                vms = await self._call(lambda: node.qemu.get(), deadline)
                for line in format_list(vms or []):
                    out("stdout", line)
                return 0
            vm = node.qemu(cmd.vmid)
            if sub == "status":
                status = await self._call(lambda: vm.status.current.get(), deadline)
                for line in format_status(status, params.get("verbose") == "1"):
                    out("stdout", line)
                return 0
            if sub == "config":
                config = await self._call(lambda: vm.config.get(**params), deadline)
                for line in format_config(config):
                    out("stdout", line)
                return 0
            if sub == "set":
                await self._call(lambda: vm.config.put(**params), deadline)
                words = " ".join(f"-{k} {v}" for k, v in sorted(params.items()))
                out("stdout", f"update VM {cmd.vmid}: {words}")
                return 0
            if sub == "clone":
                body = {"newid": str(cmd.newid), **params}
                upid = await self._call(lambda: vm.clone.post(**body), deadline)
            elif sub == "destroy":
                upid = await self._call(lambda: vm.delete(**params), deadline)
            else:  # start, stop, shutdown, reboot
                action = getattr(vm.status, sub)
                upid = await self._call(lambda: action.post(**params), deadline)
        except _ApiFailure as exc:
            for line in exc.text.splitlines() or [f"HTTP {exc.status}"]:
                out("stderr", line)
            return QM_FAILED
        return await self._wait_task(str(upid), out, deadline)

    async def _wait_task(self, upid: str, out: OutputSink, deadline: float | None) -> int:
        api = self._api
        assert api is not None
        parts = upid.split(":")
        if len(parts) < 9 or parts[0] != "UPID":
            out("stderr", _("unexpected answer instead of a task id: {answer!r}").format(
                answer=upid))
            return QM_FAILED
        task = api.nodes(parts[1]).tasks(upid)
        seen = 0
        status: dict[str, Any] = {}

        async def pull_log() -> None:
            nonlocal seen
            entries = await self._call(lambda: task.log.get(start=seen, limit=500), deadline)
            for entry in entries or []:
                n, text = int(entry.get("n", 0)), str(entry.get("t", ""))
                if n <= seen:
                    continue
                seen = n
                if not _TASK_END.match(text):
                    out("stdout", text)

        pause = min(0.05, self.poll_interval)  # quick tasks end quickly; long ones poll less
        try:
            while True:
                status = await self._call(lambda: task.status.get(), deadline)
                await pull_log()
                if status.get("status") == "stopped":
                    await pull_log()
                    break
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, self.poll_interval)
        except (asyncio.CancelledError, _Timeout):
            await self._stop_task(task)
            raise
        except _ApiFailure as exc:
            out("stderr", _("cannot follow task {task}: {error}").format(task=upid,
                                                                         error=exc.text))
            return QM_FAILED
        exitstatus = str(status.get("exitstatus", ""))
        if exitstatus == "OK":
            return 0
        if exitstatus.startswith("WARNINGS"):
            out("info", _("task finished with {status}").format(status=exitstatus.lower()))
            return 0
        out("stderr", exitstatus or _("task ended without an exit status"))
        return QM_FAILED

    async def _stop_task(self, task: Any) -> None:
        """Stop a task we no longer wait for (DELETE …/tasks/UPID), best effort, briefly."""
        try:
            await asyncio.shield(asyncio.wait_for(
                asyncio.to_thread(self._guard, lambda: task.delete()), 5.0))
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 - best effort
            log.debug("could not stop task: %s", self.scrub(type(exc).__name__))

    # not available on a Proxmox node ---------------------------------------------
    def _unsupported(self, what: str) -> LabguideError:
        return LabguideError(_("{what} is not supported on a proxmox host (only qm commands)"
                               ).format(what=what), Location(host=self.host.name))

    async def read_file(self, path: str, *, sudo: bool = False,
                        timeout: float | None = None) -> bytes | None:
        raise self._unsupported(_("reading files"))

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None,
                         sudo: bool = False, timeout: float | None = None) -> None:
        raise self._unsupported(_("writing files"))

    def stream(self, command: str) -> AsyncIterator[str]:
        raise self._unsupported(_("streaming commands"))


def _short(exc: BaseException) -> str:
    """The innermost useful sentence of a requests/urllib3 error (no URL-laden wrappers)."""
    text = str(exc)
    m = re.search(r"\(Caused by \w+\((.*)\)\)\s*$", text)
    if m:
        text = m.group(1)
    return text.strip("'\" ")[:300]
