"""A sandbox VM's console as labguide shows and reads it, without a lab: the guest's bytes
made safe for the reader's terminal, cloud-init's fingerprint block found (the last one),
and the supervisor's relay bounded without ever blocking the guest."""

from __future__ import annotations

import io
import os
import threading

from labguide.sandbox.console import BEGIN, END, printable, printed_fingerprints
from labguide.sandbox.supervisor import relay_console

BLOCK = (f"{BEGIN}\n256 SHA256:{'a' * 43} root@l4lb-2 (ED25519)\n"
         f"3072 SHA256:{'b' * 43} root@l4lb-2 (RSA)\n{END}\n")


def test_escapes_and_controls_never_reach_the_terminal() -> None:
    raw = (b"\x1b[0;32m  OK  \x1b[0m] Started ssh.service\r\n"
           b"\x1b]0;title\x07progress 10%\rprogress 100%\n"
           b"bell\x07 nul\x00 del\x7f c1\xc2\x9b31m end\ttab\n"
           b"caf\xc3\xa9 \xff\n")
    assert printable(raw) == ("  OK  ] Started ssh.service\nprogress 100%\n"
                              "bell nul del c1 end\ttab\ncafé \ufffd\n")


def test_the_last_fingerprint_block_counts() -> None:
    old = BLOCK.replace("a" * 43, "o" * 43)
    console = f"boot #1\n{old}boot #2\n{BLOCK}login: \n"
    assert printed_fingerprints(console) == {"ED25519": f"SHA256:{'a' * 43}",
                                             "RSA": f"SHA256:{'b' * 43}"}
    # as the journal forwards a unit's lines to the console, and as cloud-init writes them
    for prefix in ("[33028.622838] sh[34]: ", "<14>Dec  2 10:00:00 cloud-init: "):
        shown = "".join(f"{prefix}{line}\n" for line in BLOCK.splitlines())
        assert printed_fingerprints(shown)["ED25519"] == f"SHA256:{'a' * 43}"
    assert printed_fingerprints("boot #1\nno keys here\n") == {}
    assert printed_fingerprints(BEGIN + "\n256 SHA256:x root (ED25519)\n") == {}  # unfinished


def test_the_relay_keeps_the_limit_and_reads_to_the_end() -> None:
    r, w = os.pipe()
    total = 1 << 20  # far more than a pipe holds: a relay that stopped reading would block

    def guest() -> None:
        with os.fdopen(w, "wb") as out:
            for _ in range(total // 4096):
                out.write(b"x" * 4095 + b"\n")

    writer = threading.Thread(target=guest)
    writer.start()
    out = io.BytesIO()
    with os.fdopen(r, "rb") as pipe:
        relay_console(pipe, out, limit=10_000)
    writer.join(timeout=10)
    assert not writer.is_alive()
    kept, note = out.getvalue()[:10_000], out.getvalue()[10_000:]
    assert kept == (b"x" * 4095 + b"\n") * 2 + b"x" * (10_000 - 8192)
    assert note.startswith(b"\n[labguide: the console wrote more than ") and note.count(b"\n") == 2
