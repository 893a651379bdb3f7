"""The HTML report as a person sees it: a real run (plain, over the test sshd, labguide's prober
against a local web server that fails for a while during a disruptive step) written to a
transcript, the report made from it, rendered by headless chromium: the picture is not blank,
the VIP timeline and the load charts are in the page, the outage is drawn where it happened."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.inventory import Inventory
from labguide.plan import bind
from labguide.probes.events import VipAcquired, VipReleased
from labguide.report.page import write_page
from labguide.state import Transcript
from tests.conftest import Sshd
from tests.loopback_http import loopback_server

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(scripts/setup.sh --test installs it)")

CHAPTER = """+++
id = "rep"
title = "Report test"
hosts = ["a"]
[vars]
URL = "http://127.0.0.1:1/"
FLAG = "/nonexistent"
+++

## Break it under load

```sh {on="a" load background id="load" url="${URL}" rate=200 duration=5s LIMITS}
k6 run test.js
```

```sh {on="a" disruptive delay=2 id="break"}
touch ${FLAG}; sleep 1; rm -f ${FLAG}
```

```sh {on="a" check id="fine"}
echo all good
```
""".replace("LIMITS", 'max_failed="100%" book="0/1000"')


class Web(BaseHTTPRequestHandler):
    flag: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        code = 503 if self.flag.exists() else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    flag = tmp_path / "broken"
    handler = type("Handler", (Web,), {"flag": flag})
    with loopback_server(handler) as port:
        yield f"http://127.0.0.1:{port}/", flag


def write_inventory(tmp_path: Path, sshd: Sshd, url: str, flag: Path) -> Path:
    inv = tmp_path / "inv.toml"
    inv.write_text(f'[vars]\nURL = "{url}"\nFLAG = "{flag}"\n\n{sshd.inventory_host("a")}')
    return inv


def labguide(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labguide", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ))


def png_is_not_blank(path: Path) -> bool:
    """A PNG with more than a handful of distinct pixel bytes (not one flat colour)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) > 16


def render(html: Path, tmp_path: Path) -> tuple[Path, str]:
    assert CHROMIUM is not None
    shot = tmp_path / "shot.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1000,2400"]
    subprocess.run([*common, f"--screenshot={shot}", html.as_uri()], check=True,
                   capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", html.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return shot, dom


@needs_chromium
def test_a_run_with_an_outage_drawn_where_it_happened(tmp_path: Path, sshd: Sshd,
                                                      web: tuple[str, Path]) -> None:
    chapter = tmp_path / "rep.md"
    chapter.write_text(CHAPTER)
    inv = write_inventory(tmp_path, sshd, *web)
    res = labguide("run", str(chapter), "--plain", "--yes", "-i", str(inv))
    assert res.returncode == 0, res.stdout + res.stderr
    said = re.search(r"^report: (.+\.html)$", res.stderr, re.M)
    assert said, res.stderr  # the run ends saying where its report is
    html = Path(said[1])
    text = html.read_text()
    assert "<script" not in text and "http://" not in text.replace(web[0], "").replace(
        "http://www.w3.org/2000/svg", "")  # nothing to fetch
    shot, dom = render(html, tmp_path)
    assert png_is_not_blank(shot)
    assert 'class="load-chart" data-step="load"' in dom and "rate-line" in dom
    assert "requests/s" in dom and "p95 ms" in dom and "failures" in dom
    marker = re.search(r"break at ([\d.]+) s", dom)
    outage = re.search(r'class="outage" data-start="([\d.]+)" data-end="([\d.]+)"', dom)
    assert marker and outage, dom[:3000]
    # the outage is drawn within the disruptive step: from when it acted (2 s in) to its
    # end (its ssh round trips and `sleep 1`); its own row says how long it took
    start, end = float(outage[1]), float(outage[2])
    took = re.search(r'data-step="break">.*?<td>\+[\d.]+ s</td><td>([\d.]+) s</td>', dom, re.S)
    assert took, dom[-3000:]
    acted, finished = float(marker[1]), float(marker[1]) + float(took[1]) - 2.0
    assert acted - 0.2 <= start < finished and start < end <= finished + 0.3, (
        start, end, acted, finished)
    assert end - start > 0.5  # `sleep 1` with the web server failing
    # the reader's figures beside the book's (0 of 1,000 failed)
    figures = re.search(r'<table class="figures">.*?</table>', dom, re.S)
    assert figures and re.search(r"<td>requests</td><td>[\d,]+</td><td>1,000</td>", figures[0])
    assert re.search(r"<td>failed</td><td>[1-9][\d,]*</td><td>0</td>", figures[0]), figures[0]
    assert 'data-step="break"' in dom and "<details>" in dom
    # check --report: the check's result beside the run's record
    out = tmp_path / "checked.html"
    res = labguide("check", str(chapter), "-i", str(inv), "--report", str(out))
    assert res.returncode == 0 and f"report: {out}" in res.stderr
    page = out.read_text()
    assert '<table class="check">' in page and "fine" in page and 'class="load-chart"' in page
    assert oct(out.stat().st_mode & 0o777) == "0o600"


@needs_chromium
async def test_vip_timeline_shows_each_holder_and_the_gap(tmp_path: Path, sshd: Sshd) -> None:
    """VIP events as the watcher publishes them on the engine's bus go to the transcript;
    the report draws a row per host and the time nobody held the VIP."""
    ch = parse_chapter(CHAPTER.replace('hosts = ["a"]', 'hosts = ["a"]'), tmp_path / "rep.md")
    plan = bind(ch, Inventory(hosts={"a": sshd.host("a")}, path=tmp_path / "inv.toml"), {})
    transcript = Transcript(tmp_path / "transcript.jsonl")
    engine = Engine(plan, transcript=transcript)
    t0 = time.time()
    vip = "198.18.16.140"
    for event in (VipAcquired(vip, "l4lb-1", t=t0), VipReleased(vip, "l4lb-1", t=t0 + 4),
                  VipAcquired(vip, "l4lb-2", t=t0 + 6), VipReleased(vip, "l4lb-2", t=t0 + 8),
                  VipAcquired(vip, "l4lb-1", t=t0 + 8.0)):
        engine.publish(event)
    await engine.run_step("fine")
    await engine.close()
    transcript.close()
    html = write_page(tmp_path / "r.html", ch, tmp_path / "transcript.jsonl")
    shot, dom = render(html, tmp_path)
    assert png_is_not_blank(shot)
    assert f'class="vip-timeline" data-vip="{vip}"' in dom
    assert dom.count('data-host="l4lb-1"') == 2 and dom.count('data-host="l4lb-2"') == 1
    gap = re.search(r"no holder ([\d.]+) s \(from ([\d.]+) s\)", dom)
    assert gap and gap[1] == "2.00" and gap[2] == "4.0", dom[:2000]
    assert ">l4lb-1</text>" in dom and ">l4lb-2</text>" in dom
