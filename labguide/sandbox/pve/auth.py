"""Credentials of the emulated node: its API token, root's password, tickets and CSRF tokens.

Secrets live only in STATE/priv (0600 files) and are compared in constant time; never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

TOKEN_ID = "root@pam!labguide"
USER = "root@pam"
TICKET_LIFETIME = 2 * 3600
_TICKET = re.compile(r"^PVE:([^:\s]+):([0-9A-F]{8})::([A-Za-z0-9+/=]+)$")
_CSRF = re.compile(r"^([0-9A-F]{8}):(\S+)$")


class AuthFailure(Exception):
    """Authentication refused; str() is the reason phrase PVE would send with the 401."""


def _priv(state_dir: str | Path) -> Path:
    priv = Path(state_dir) / "priv"
    priv.mkdir(parents=True, exist_ok=True)
    os.chmod(priv, 0o700)
    return priv


def _secret_file(path: Path, make: str) -> Path:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make + "\n")
    os.chmod(path, 0o600)
    return path


def ensure_token(state_dir: str | Path) -> tuple[str, Path]:
    """The node's API token (root@pam!labguide, no privilege separation).

    Returns (token_id, secret_file)."""
    return TOKEN_ID, _secret_file(_priv(state_dir) / "token-secret", str(uuid.uuid4()))


def ensure_password(state_dir: str | Path) -> tuple[str, Path]:
    """root@pam's password for ticket logins: (user, password_file)."""
    return USER, _secret_file(_priv(state_dir) / "root-password", secrets.token_urlsafe(18))


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of any two strings: hmac.compare_digest raises TypeError on
    non-ASCII str (a header with `é` was an HTTP 500 before the auth delay); as bytes, a
    wrong value of any kind is just not equal."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class Identity:
    """Who made a request: user@realm, and the token name when an API token was used."""

    user: str
    token: str | None = None

    @property
    def upid_user(self) -> str:
        return f"{self.user}!{self.token}" if self.token else self.user


class Authenticator:
    """Checks API tokens, passwords, tickets and CSRF tokens against the files in STATE/priv."""

    def __init__(self, state_dir: str | Path) -> None:
        self.token_id, token_file = ensure_token(state_dir)
        self.user, password_file = ensure_password(state_dir)
        self._token_secret = token_file.read_text().strip()
        self._password = password_file.read_text().strip()
        key_file = _secret_file(_priv(state_dir) / "authkey.key", secrets.token_hex(32))
        self._key = bytes.fromhex(key_file.read_text().strip())

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    # -- API tokens ----------------------------------------------------------
    def verify_api_token(self, value: str) -> Identity:
        tokenid, sep, secret = value.partition("=")
        if not sep:
            raise AuthFailure("Authentication failed!")
        user, _, name = tokenid.partition("!")
        ok_id = _same(tokenid, self.token_id)
        ok_secret = _same(secret, self._token_secret)
        if not (ok_id and ok_secret):
            raise AuthFailure("Authentication failed!")
        return Identity(user, name)

    # -- tickets -------------------------------------------------------------
    def login(self, username: str, password: str) -> Identity:
        if username != self.user and f"{username}@pam" != self.user:
            raise AuthFailure("authentication failure")
        user = self.user
        if _same(password, self._password):
            return Identity(user)
        try:  # PVE accepts a valid ticket in place of the password (ticket renewal)
            if self.verify_ticket(password).user == user:
                return Identity(user)
        except AuthFailure:
            pass
        raise AuthFailure("authentication failure")

    def make_ticket(self, user: str, now: float | None = None) -> str:
        stamp = f"{int(now if now is not None else time.time()):08X}"
        plain = f"PVE:{user}:{stamp}"
        return f"{plain}::{self._sign(plain)}"

    def verify_ticket(self, ticket: str) -> Identity:
        m = _TICKET.match(ticket)
        if not m:
            raise AuthFailure("Authentication failed!")
        user, stamp, sig = m.groups()
        if not _same(sig, self._sign(f"PVE:{user}:{stamp}")):
            raise AuthFailure("Authentication failed!")
        age = time.time() - int(stamp, 16)
        if age < -300 or age > TICKET_LIFETIME:
            raise AuthFailure("Authentication failed!")
        return Identity(user)

    def make_csrf(self, user: str, now: float | None = None) -> str:
        stamp = f"{int(now if now is not None else time.time()):08X}"
        return f"{stamp}:{self._sign(f'{stamp}:{user}')}"

    def verify_csrf(self, user: str, token: str | None) -> None:
        m = _CSRF.match(token or "")
        if not m or not _same(m.group(2), self._sign(f"{m.group(1)}:{user}")):
            raise AuthFailure("Permission denied - invalid csrf token")
        age = time.time() - int(m.group(1), 16)
        if age < -300 or age > TICKET_LIFETIME:
            raise AuthFailure("Permission denied - invalid csrf token")
