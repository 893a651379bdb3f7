"""`lab up`'s last wait: a load balancer counts as up once it has answered from each server
its haproxy.cfg health-checks, not at its first answer (a web VM booting late is out of
HAProxy's rotation for a few seconds). Against a loopback HTTP server that answers as such
an HAProxy does; no lab needed."""

from __future__ import annotations

import itertools
from http.server import BaseHTTPRequestHandler

import pytest

from labguide.errors import LabguideError
from labguide.sandbox.labfile import lab_file_of, load_lab
from labguide.sandbox.readiness import balanced_servers, wait_balanced
from tests.loopback_http import loopback_server, names_handler


def balancer(names: list[str]) -> type[BaseHTTPRequestHandler]:
    """Gives `names` in turn, then the last one for ever."""
    answers = itertools.chain(names[:-1], itertools.repeat(names[-1]))
    return names_handler(lambda: next(answers))


async def test_waits_until_every_server_answered() -> None:
    # web-1 is out of rotation for the first five answers, then comes back
    with loopback_server(balancer(["web-2"] * 5 + ["web-1"])) as port:
        await wait_balanced("l4lb-1", "127.0.0.1", ("web-1", "web-2"), timeout=10, port=port)


async def test_a_server_that_never_answers_is_named_in_the_error() -> None:
    with loopback_server(balancer(["web-2"])) as port:
        with pytest.raises(LabguideError, match=r"l4lb-1's HAProxy answered from 1 of its 2 "
                                                r"servers \(web-2\) in 1 s") as err:
            await wait_balanced("l4lb-1", "127.0.0.1", ("web-1", "web-2"), timeout=1,
                                port=port)
    assert err.value.hint is not None and "web-1, web-2" in err.value.hint


@pytest.mark.parametrize("chapter, servers", [("l4lb-ha", ("web-1", "web-2")),
                                              ("more-web", ("web-1", "web-2"))])
def test_the_bundled_labs_balancers_and_their_servers(chapter: str,
                                                      servers: tuple[str, ...]) -> None:
    lab = load_lab(lab_file_of(chapter))
    balancing = {vm.name: balanced_servers(lab.roles[vm.role]) for vm in lab.vms
                 if balanced_servers(lab.roles[vm.role])}
    assert balancing == {"l4lb-1": servers}
