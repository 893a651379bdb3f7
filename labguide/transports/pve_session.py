"""The Proxmox API's HTTPS session: TLS pinned to a certificate digest, or a ticket login that
goes through the same (pinned or verified) session. No qm here, no secrets kept."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests
from proxmoxer.backends.https import ProxmoxHTTPAuthBase
from proxmoxer.core import ResourceException
from requests.adapters import HTTPAdapter

#: A SHA-256 certificate digest, with or without colons.
FINGERPRINT = re.compile(r"^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$")


class PinnedFingerprintAdapter(HTTPAdapter):
    """Accepts a server only if the SHA-256 digest of its certificate is the pinned one."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


class TicketAuth(ProxmoxHTTPAuthBase):  # type: ignore[misc]
    """Ticket login through our own session (so the login is pinned/verified like every call)."""

    renew_age = 3600.0

    def __init__(self, session: requests.Session, base_url: str, user: str,
                 verify: bool | str, timeout: float, remember: Callable[[str], None]) -> None:
        super().__init__(timeout=timeout, verify_ssl=verify)
        self.session = session
        self.base_url = base_url
        self.user = user
        self.remember = remember
        self.ticket = ""
        self.csrf = ""
        self.born = 0.0

    def login(self, password: str) -> None:
        plain = ProxmoxHTTPAuthBase(timeout=self.timeout, verify_ssl=self.verify_ssl)
        resp = self.session.request("POST", self.base_url + "/access/ticket", auth=plain,
                                    data={"username": self.user, "password": password})
        if resp.status_code != 200:
            raise ResourceException(resp.status_code, resp.reason or "", resp.reason or "")
        data = resp.json()["data"]
        self.ticket, self.csrf = data["ticket"], data["CSRFPreventionToken"]
        self.remember(self.ticket)
        self.remember(self.csrf)
        self.born = time.monotonic()

    def get_cookies(self) -> Any:
        from requests.cookies import cookiejar_from_dict

        return cookiejar_from_dict({"PVEAuthCookie": self.ticket})

    def __call__(self, req: Any) -> Any:
        if time.monotonic() - self.born > self.renew_age:
            self.login(self.ticket)
        if req.method != "GET":
            req.headers["CSRFPreventionToken"] = self.csrf
        return req


