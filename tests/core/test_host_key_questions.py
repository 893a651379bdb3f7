"""A host key seen for the first time is asked about, as OpenSSH users expect (issue 13,
item 2): the TUI's dialog and plain mode on a terminal ask, with the fingerprint and where to
compare it; yes records the key in the known_hosts that was checked (and the transcript), no
refuses; without a terminal it is refused with the fingerprint and the flag."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from labguide.events import StepStatus
from tests.conftest import Sshd
from tests.ptyrun import PtyRun

CHAPTER = ('+++\ntitle = "Keys"\nhosts = ["box"]\n+++\n\n## Hello\n\n'
           '```sh {on="box" id="hello"}\necho hello from box\n```\n')


def lab(sshd: Sshd, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A chapter, and an inventory whose known_hosts does not know the sshd's key yet."""
    chapter = tmp_path / "keys.md"
    chapter.write_text(CHAPTER)
    known = tmp_path / "known_hosts"
    known.write_text("")
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box").replace(str(sshd.known_hosts), str(known)))
    return chapter, inv, known


def fingerprint(sshd: Sshd) -> str:
    import asyncssh

    key = asyncssh.read_public_key(str(sshd.dir / "hostkey.pub"))
    return str(key.get_fingerprint("sha256"))


def test_plain_mode_asks_on_the_terminal_and_records_yes(sshd: Sshd, tmp_path: Path) -> None:
    chapter, inv, known = lab(sshd, tmp_path)
    state = tmp_path / "state"
    run = PtyRun([sys.executable, "-m", "labguide", "run", str(chapter), "--plain",
                  "--inventory", str(inv)], env={**os.environ, "LABGUIDE_STATE_DIR": str(state)})
    try:
        run.expect(r"The authenticity of host 'box' \(\[127\.0\.0\.1\]:\d+\) can't be "
                   r"established")
        run.expect(rf"ED25519 key fingerprint is {re.escape(fingerprint(sshd))}\.")
        run.expect(r"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key\.pub")
        run.expect(r"\(yes/no/\[fingerprint\]\)\?")
        run.type("maybe")
        run.expect("Please type 'yes', 'no' or the fingerprint")
        run.type("yes")
        run.expect(re.escape("box | hello from box"))
        assert run.wait() == 0
    finally:
        run.close()
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in known.read_text()
    records = [json.loads(line) for line in
               next(state.rglob("transcript.jsonl")).read_text().splitlines()]
    accepted = [r for r in records if r["event"] == "host_key_accepted"]
    assert accepted and fingerprint(sshd) in accepted[0]["fingerprint"]


def test_plain_mode_refusal_fails_the_step_and_keeps_nothing(sshd: Sshd,
                                                            tmp_path: Path) -> None:
    chapter, inv, known = lab(sshd, tmp_path)
    state = tmp_path / "state"
    run = PtyRun([sys.executable, "-m", "labguide", "run", str(chapter), "--plain",
                  "--inventory", str(inv)], env={**os.environ, "LABGUIDE_STATE_DIR": str(state)})
    try:
        run.expect(r"\(yes/no/\[fingerprint\]\)\?")
        run.type("no")
        run.expect(r"unknown host key for 127\.0\.0\.1: ED25519 \S+ is not in .* \(refused\)")
        assert run.wait() == 1
    finally:
        run.close()
    assert known.read_text() == ""
    records = [json.loads(line) for line in
               next(state.rglob("transcript.jsonl")).read_text().splitlines()]
    assert [r["fingerprint"] for r in records if r["event"] == "host_key_refused"] == [
        fingerprint(sshd)]


async def test_the_tui_asks_in_a_dialog(sshd: Sshd, tmp_path: Path) -> None:
    from labguide.tui.screens.hostkey import HostKeyScreen
    from tests.tui.conftest import app_for, make_engine
    from tests.tui.helpers import settle, until_screen

    chapter, _inv, known = lab(sshd, tmp_path)
    engine = make_engine(chapter, {"box": sshd.host("box", known_hosts=known)}, tmp_path / "run")
    app = app_for(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        screen = await until_screen(pilot, HostKeyScreen)
        text = " ".join(str(w.render()) for w in screen.query("Static"))
        assert fingerprint(sshd) in text and "ED25519" in text and "ssh-keygen -lf" in text
        await pilot.press("y")
        await settle(pilot)
        assert engine.results["hello"].status == StepStatus.PASSED
        assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in known.read_text()
        await pilot.press("q")
