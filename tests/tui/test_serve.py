"""`labguide serve`: the TUI in a browser. A real `labguide serve` over a chapter on the test
sshd, opened in headless chromium (Playwright driving Debian's chromium): the page loads, the
chapter's first step is on the screen, the `r` key runs it and its output and result appear.
The screenshots before and after are compared with saved references (tests/screens.py).
The token: no page or session without it; another address than loopback needs a flag."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Sshd
from tests.report.test_html_report import png_is_not_blank
from tests.screens import assert_looks_like, difference

CHROMIUM = shutil.which("chromium")
DATA = Path(__file__).parent / "data"
CHAPTER = """+++
id = "served"
title = "Served chapter"
hosts = ["a"]
+++

## Say hello

```sh {on="a" id="say-hello"}
echo "hello-from-the-browser $((6 * 7))"
```
"""
#: The terminal's bytes as the page received them (textual-serve sends them as binary frames).
RECORD_TERMINAL = """
window.__terminal = "";
const NativeSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = protocols ? new NativeSocket(url, protocols) : new NativeSocket(url);
  const decoder = new TextDecoder();
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") {
      window.__terminal += decoder.decode(new Uint8Array(e.data), {stream: true});
    }
  });
  return ws;
};
window.WebSocket.prototype = NativeSocket.prototype;
"""
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)"
                  r"|\x1b[()][\w]|\x1b[=>78]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(tmp_path: Path, sshd: Sshd, *extra: str) -> tuple[subprocess.Popen[str], str]:
    chapter = tmp_path / "served.md"
    chapter.write_text(CHAPTER)
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "labguide", "serve", str(chapter), "-i", str(inv), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "LANG": "C.UTF-8"})
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    url = ""
    while time.monotonic() < deadline and not url:
        line = proc.stderr.readline()
        m = re.search(r"labguide: open (\S+)", line)
        url = m[1] if m else url
        if not line and proc.poll() is not None:
            break
    assert url, f"no URL; exit {proc.poll()}"
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    return proc, url


def stop(proc: subprocess.Popen[str]) -> None:
    """The server and the `labguide run` it started: its own process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def served(tmp_path: Path, sshd: Sshd) -> Iterator[str]:
    proc, url = serve(tmp_path, sshd, "--port", str(free_port()))
    yield url
    stop(proc)


def status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        return int(urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                          timeout=5).status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_no_page_and_no_session_without_the_token(served: str) -> None:
    base, token = served.split("/?token=")
    assert status(served) == 200
    page = urllib.request.urlopen(served, timeout=5).read().decode()
    assert "textual-terminal" in page and "googleapis" not in page  # nothing from outside
    assert status(base + "/") == 403 and status(base + "/?token=wrong") == 403
    assert status(base + "/ws", {"Connection": "Upgrade", "Upgrade": "websocket",
                                 "Sec-WebSocket-Version": "13",
                                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) == 403
    assert status(base + "/download/x") == 403


def test_another_address_needs_a_flag_and_warns(tmp_path: Path, sshd: Sshd) -> None:
    chapter = tmp_path / "c.md"
    chapter.write_text(CHAPTER)
    res = subprocess.run([sys.executable, "-m", "labguide", "serve", str(chapter),
                          "--listen", "127.0.0.2"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--allow-remote" in res.stderr
    proc, url = serve(tmp_path, sshd, "--listen", "127.0.0.2", "--allow-remote", "--port",
                      str(free_port()))
    try:
        assert url.startswith("http://127.0.0.2:") and "?token=" in url
    finally:
        stop(proc)


def terminal_text(page: object) -> str:
    return ANSI.sub("", page.evaluate("window.__terminal"))  # type: ignore[attr-defined]


def until(page: object, pattern: str, timeout: float = 40) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page)
        if re.search(pattern, text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not on the screen: {text[-2000:]!r}")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_tui_in_a_browser_runs_a_step(served: str, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(RECORD_TERMINAL)
            page.goto(served)
            page.wait_for_selector("body.-first-byte", state="attached", timeout=40_000)
            until(page, r"say-hello|Say hello")
            before = tmp_path / "before.png"
            page.screenshot(path=str(before))
            page.click(".textual-terminal")
            page.keyboard.press("r")
            until(page, r"hello-from-the-browser 42")
            until(page, r"passed in \d+ ms")  # the step's result, in its header
            after = tmp_path / "after.png"
            page.screenshot(path=str(after))
        finally:
            browser.close()
    assert png_is_not_blank(before) and png_is_not_blank(after)
    # as expected: the chapter's first step waiting, then its output and result on the
    # screen (saved references, compared cell by cell: tests/screens.py)
    assert_looks_like(before, DATA / "serve-before.png")
    assert_looks_like(after, DATA / "serve-after.png")
    assert not difference(after, DATA / "serve-before.png").ok  # the comparison sees the run
