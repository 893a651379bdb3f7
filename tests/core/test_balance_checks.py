"""The chapter's "two backends answer" checks, run by bash and curl against a small HTTP
server on loopback that answers as a round-robin HAProxy does when other clients' requests
come in between ours: the same backend several times in a row. Six requests (the checks'
first version) met one name only when six labs of a class were checked at once; the checks
ask until two names answered, and still fail, naming the count, when only one ever does."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator

import pytest

from labguide.chapter import find_chapter, load_chapter
from labguide.plan import bind
from tests.loopback_http import loopback_server, names_handler

CHECKS = ("l4lb2-balances", "final-vips-answer")


class Backends:
    """Answers /hostname with `first` for the first `repeat` requests, then alternates."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.count = 0
        self.lock = threading.Lock()

    def name(self) -> str:
        with self.lock:
            self.count += 1
            n = self.count
        if n <= self.repeat:
            return "web-1"
        return "web-2" if n % 2 else "web-1"


@pytest.fixture()
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Backends]]:
    backends = Backends(request.param)

    with loopback_server(names_handler(backends.name)) as port:
        yield f"127.0.0.1:{port}", backends


def run_check(lang: str, step_id: str, address: str) -> subprocess.CompletedProcess[str]:
    chapter = load_chapter(find_chapter("l4lb-ha", lang))
    # l4lb-2's address is a VM's too (qm set checks it): the test server's port goes in after
    plan = bind(chapter, None, {"L4LB2_IP": "127.0.0.1", "VIP": address, "VIP2": address})
    script = next(s.script for s in plan.steps if s.id == step_id)
    script = script.replace("http://127.0.0.1/", f"http://{address}/")
    return subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("server", [9], indirect=True)
@pytest.mark.parametrize("step_id", CHECKS)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_one_backend_many_times_in_a_row_passes(server: tuple[str, Backends], step_id: str,
                                                lang: str) -> None:
    address, backends = server
    res = run_check(lang, step_id, address)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "web-1" in res.stdout and "web-2" in res.stdout
    # it stopped asking once two names had answered: web-2 first answers the 11th request,
    # and final-vips-answer's second VIP then needs two more
    assert backends.count == (13 if step_id == "final-vips-answer" else 11)


@pytest.mark.parametrize("server", [10_000], indirect=True)
@pytest.mark.parametrize("step_id", CHECKS)
def test_only_one_backend_fails_and_says_how_often_it_asked(server: tuple[str, Backends],
                                                           step_id: str) -> None:
    address, backends = server
    res = run_check("en", step_id, address)
    assert res.returncode == 1
    assert "in 20 requests" in res.stdout and backends.count == 20


def test_no_answer_fails_at_once() -> None:
    res = run_check("en", "l4lb2-balances", "127.0.0.1:1")
    assert res.returncode == 1 and "request 1 got no answer" in res.stdout
