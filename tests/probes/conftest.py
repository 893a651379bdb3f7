"""Fixtures of the probes' tests: local HTTP targets (nginx on loopback) and small raw servers."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from probe_netns_lab import KeepalivedPair  # noqa: E402
from probe_targets import Nginx, free_port  # noqa: E402


@pytest.fixture
def web() -> Iterator[Nginx]:
    server = Nginx(name="web-1")
    try:
        yield server.start()
    finally:
        server.cleanup()


class RawServer:
    """A loopback TCP server that misbehaves: 'silent' accepts and never answers,
    'reset' accepts and resets the connection at once."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(512)
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hostname"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[str], RawServer]]:
    made: list[RawServer] = []

    def make(mode: str) -> RawServer:
        server = RawServer(mode)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def pair() -> Iterator[KeepalivedPair]:
    """Two hosts (namespaces) with real keepalived on a bridge; VIP 10.213.7.140."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    lab = KeepalivedPair()
    try:
        yield lab.up()
    finally:
        lab.cleanup()
