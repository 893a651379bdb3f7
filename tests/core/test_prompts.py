"""Telling a command that waits for an answer from output that merely pauses."""

from __future__ import annotations

import pytest

from labguide.transports.prompts import (
    BARE_QUIET,
    KNOWN_QUIET,
    PROMPT_QUIET,
    TerminalText,
    classify,
    may_ask,
)


@pytest.mark.parametrize("partial, quiet, secret", [
    ("[sudo] password for ubuntu: ", KNOWN_QUIET, True),
    ("Enter passphrase for key '/home/ubuntu/.ssh/id_ed25519': ", KNOWN_QUIET, True),
    ("Are you sure you want to continue connecting (yes/no/[fingerprint])? ", KNOWN_QUIET,
     False),
    ("Do you want to continue? [Y/n] ", KNOWN_QUIET, False),
    ("*** keepalived.conf (Y/I/N/O/D/Z) [default=N] ? ", KNOWN_QUIET, False),
    ("Name: ", PROMPT_QUIET, False),
    ("Continue? ", PROMPT_QUIET, False),
    ("API token: ", PROMPT_QUIET, True),
    ("Name:", BARE_QUIET, False),
])
def test_prompts(partial: str, quiet: float, secret: bool) -> None:
    found = classify(partial)
    assert found is not None and found[0] == quiet
    assert found[1].secret is secret and found[1].text == partial.strip()


@pytest.mark.parametrize("partial", [
    "Reading package lists... 45%", "(Reading database ... 60%", "Progress: [ 40%]",
    "running (0m05.0s), 10/10 VUs, 4990 complete and 0 interrupted iterations",
    "default   [  16% ] 10 VUs  05.0s/30s", "Get:1 http://198.18.16.1/debian bookworm",
    "   ", "",
])
def test_output_that_pauses_is_no_prompt(partial: str) -> None:
    assert classify(partial) is None


def test_terminal_text_keeps_what_a_reader_sees() -> None:
    t = TerminalText()
    assert t.feed(b"\x1b[1;32mok\x1b[0m\r\nProgress: 10%\rProgress: 50%") == ["ok"]
    assert t.partial == "Progress: 50%"
    changes = t.changes
    assert t.feed(b"\rProgress: 100%\r\nName: ") == ["Progress: 100%"]
    assert t.partial == "Name: " and t.changes == changes + 1
    assert t.feed(b"") == [] and t.changes == changes + 1  # nothing new: the same prompt
    assert t.finish() == ["Name: "] and t.partial == ""


@pytest.mark.parametrize("script, asks", [
    ("sudo apt install -y haproxy", True),
    ("scp ubuntu@a:/etc/haproxy/haproxy.cfg ubuntu@b:/tmp", True),
    ("ssh ubuntu@198.18.16.134 sudo mv /tmp/haproxy.cfg /etc/haproxy", True),
    ('read -p "Name: " n', True),
    ("echo hello; ls /etc/ssh/sshd_config.d", False),
    ("curl -s http://198.18.16.140/hostname", False),
    ('echo "the thread is ready"', False),
    ("/usr/local/bin/sudoku", False),
])
def test_which_scripts_may_ask(script: str, asks: bool) -> None:
    assert may_ask(script) is asks
