"""Commands that ask (issue 13, item 3): on a terminal, a prompt is put to the reader and the
answer typed in; a secret answer is never echoed or recorded; a prompt left unanswered fails
the step at its timeout with "waiting for input: …" and ends the remote command; output that
merely pauses is no prompt. Against a real sshd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labguide.chapter import parse_chapter
from labguide.engine import Engine
from labguide.events import Event, InputWanted, Output, StepStatus
from labguide.inventory import Inventory
from labguide.plan import bind
from labguide.state import RunState, Transcript
from labguide.transports.prompts import Prompt
from labguide.transports.ssh import SshTransport
from tests.conftest import Sshd, start_sshd
from tests.ptyrun import PtyRun

SECRET = "hunter2-correct-horse"


def chapter_text(body: str, attrs: str = "") -> str:
    return (f'+++\ntitle = "Ask"\nhosts = ["box"]\n+++\n\n## Ask\n\n'
            f'```sh {{on="box" id="ask" {attrs}}}\n{body}\n```\n')


def answering_engine(body: str, sshd: Sshd, tmp_path: Path, answers: dict[str, str],
                     attrs: str = "") -> tuple[Engine, list[Event]]:
    plan = bind(parse_chapter(chapter_text(body, attrs), tmp_path / "ask.md"),
                Inventory(hosts={"box": sshd.host("box")}, path=tmp_path / "inv.toml"), {})
    engine = Engine(plan, state=RunState(tmp_path / "state.json", plan.chapter.id),
                    transcript=Transcript(tmp_path / "transcript.jsonl"))
    engine.answering = True
    seen: list[Event] = []

    def heard(event: Event) -> None:
        seen.append(event)
        if isinstance(event, InputWanted):
            for start, text in answers.items():
                if event.prompt.startswith(start):
                    asyncio.get_running_loop().call_soon(
                        engine.answer, event.step_id, event.host, text)

    engine.bus.subscribe(heard)
    return engine, seen


async def test_a_prompt_is_answered_and_a_secret_leaves_no_trace(sshd: Sshd,
                                                                 tmp_path: Path) -> None:
    body = ('read -p "Name: " name; echo "hello $name"\n'
            'read -s -p "Password: " pw; echo; echo "password of ${#pw} characters"\n'
            'echo "$pw" | sha256sum | cut -c1-8')
    engine, seen = answering_engine(body, sshd, tmp_path, {"Name:": "Ada",
                                                           "Password:": SECRET})
    try:
        rec = await engine.run_step("ask")
    finally:
        await engine.close()
    assert rec.status == StepStatus.PASSED, rec.message
    lines = [e.line for e in seen if isinstance(e, Output)]
    assert "Name: Ada" in lines and "hello Ada" in lines
    assert f"password of {len(SECRET)} characters" in lines
    wanted = [e for e in seen if isinstance(e, InputWanted)]
    assert [(w.prompt, w.secret) for w in wanted] == [("Name:", False), ("Password:", True)]
    for path in (tmp_path / "transcript.jsonl", tmp_path / "state.json"):
        assert SECRET not in path.read_text(), path
    records = [json.loads(line) for line in (tmp_path / "transcript.jsonl").read_text()
               .splitlines()]
    given = [r for r in records if r["event"] == "input_given"]
    assert [g["answer"] for g in given] == ["Ada", None]


async def test_output_that_pauses_is_not_asked_about(sshd: Sshd, tmp_path: Path) -> None:
    body = ('printf "Reading package lists... 45%%"; sleep 1.2; echo " done"\n'
            'printf "Progress: [ 40%%]"; sleep 1.2; echo')
    engine, seen = answering_engine(body, sshd, tmp_path, {}, attrs="tty")  # on a terminal
    try:
        rec = await engine.run_step("ask")
    finally:
        await engine.close()
    assert rec.status == StepStatus.PASSED
    assert "Reading package lists... 45% done" in [e.line for e in seen
                                                    if isinstance(e, Output)]
    assert not [e for e in seen if isinstance(e, InputWanted)]


async def test_an_unanswered_prompt_fails_at_the_timeout_and_leaves_nothing(
        sshd: Sshd, tmp_path: Path) -> None:
    marker = f"lgt-unanswered-{os.getpid()}"
    body = f'exec -a {marker} bash -c \'read -p "Your name: " n; echo "$n"\''
    engine, _seen = answering_engine(body, sshd, tmp_path, {}, attrs="timeout=2")
    try:
        rec = await engine.run_step("ask")
    finally:
        await engine.close()
    assert rec.status == StepStatus.FAILED
    assert "waiting for input: Your name:" in rec.message
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert left.stdout == "", "the remote command must be gone"


async def test_ssh_in_a_step_asks_about_the_new_host_key(sshd: Sshd, tmp_path: Path) -> None:
    """As the chapter's `ssh ubuntu@…134` on client: OpenSSH's own question, answered yes."""
    empty = tmp_path / "client_known_hosts"
    body = (f"ssh -p {sshd.port} -i {sshd.identity} -o UserKnownHostsFile={empty} "
            f"-o GlobalKnownHostsFile=/dev/null root@127.0.0.1 echo inner says hi")
    engine, seen = answering_engine(body, sshd, tmp_path, {"Are you sure": "yes"})
    try:
        rec = await engine.run_step("ask")
    finally:
        await engine.close()
    assert rec.status == StepStatus.PASSED, rec.message
    assert "inner says hi" in [e.line for e in seen if isinstance(e, Output)]
    assert " ssh-ed25519 " in empty.read_text()  # kept, as OpenSSH keeps it (hashed)


@pytest.fixture
def sudo_user() -> Iterator[tuple[str, str, Path]]:
    """A user of this machine whose sudo asks for a password (removed afterwards, with its
    home, by its own name)."""
    name = f"lgtsudo{os.getpid() % 100000}"
    password = "sudo-pass-" + os.urandom(6).hex()
    home = Path(f"/home/{name}")
    sudoers = Path(f"/etc/sudoers.d/{name}")
    subprocess.run(["useradd", "-m", "-d", str(home), "-s", "/bin/bash", name], check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        sudoers.write_text(f"{name} ALL=(ALL) ALL\n")
        sudoers.chmod(0o440)
        yield name, password, home
    finally:
        sudoers.unlink(missing_ok=True)
        subprocess.run(["userdel", "-r", name], capture_output=True)


async def test_sudo_asks_for_the_password_and_it_is_in_no_file(
        sudo_user: tuple[str, str, Path], tmp_path: Path) -> None:
    name, password, home = sudo_user
    sshd, proc = start_sshd(tmp_path / "sshd", user=name,
                            settings="AuthorizedKeysFile .ssh/authorized_keys\n")
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((sshd.dir / "id.pub").read_text())
    shutil.chown(ssh_dir, name, name)
    shutil.chown(ssh_dir / "authorized_keys", name, name)
    try:
        engine, seen = answering_engine("sudo id -u", sshd, tmp_path, {"[sudo] password":
                                                                       password})
        try:
            rec = await engine.run_step("ask")
        finally:
            await engine.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert rec.status == StepStatus.PASSED, rec.message
    wanted = [e for e in seen if isinstance(e, InputWanted)]
    assert wanted and wanted[0].secret and wanted[0].prompt == f"[sudo] password for {name}:"
    assert "0" in [e.line for e in seen if isinstance(e, Output)]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert password.encode() not in path.read_bytes(), path


def test_plain_mode_answers_on_the_terminal_without_echo(sshd: Sshd, tmp_path: Path) -> None:
    chapter = tmp_path / "ask.md"
    chapter.write_text(chapter_text('read -s -p "Password: " pw; echo; echo "got ${#pw}"'))
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    run = PtyRun([sys.executable, "-m", "labguide", "run", str(chapter), "--plain",
                  "--inventory", str(inv)],
                 env={**os.environ, "LABGUIDE_STATE_DIR": str(tmp_path / "state")})
    try:
        run.expect(r"box asks: Password:")
        run.type(SECRET)
        run.expect(rf"box \| got {len(SECRET)}")
        assert run.wait() == 0
    finally:
        run.close()
    assert SECRET not in run.seen  # no echo on the terminal either


async def test_the_transport_tells_the_prompt_when_nobody_answers(sshd: Sshd) -> None:
    async def never(prompt: Prompt) -> str | None:
        await asyncio.sleep(60)
        return None

    t = SshTransport(sshd.host("box"))
    try:
        res = await t.run('echo start; read -p "Pick one [Y/n] " x', lambda s, line: None,
                          timeout=1.5, ask=never)
    finally:
        await t.close()
    assert res.exit_status is None and res.reason == "waiting for input: Pick one [Y/n]"


def test_plain_mode_without_a_terminal_answers_by_the_answer_option(sshd: Sshd,
                                                                   tmp_path: Path) -> None:
    chapter = tmp_path / "ask.md"
    chapter.write_text(chapter_text('read -p "Continue connecting? " a; echo "got $a"\n'
                                    'read -s -p "Password: " pw; echo "never"',
                                    attrs="timeout=3"))
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("box"))
    res = subprocess.run([sys.executable, "-m", "labguide", "run", str(chapter), "--plain",
                          "--inventory", str(inv), "--answer", "Continue connecting=yes",
                          "--answer", "Password=not-this-way"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                         env={**os.environ, "LABGUIDE_STATE_DIR": str(tmp_path / "state")})
    assert "box | got yes" in res.stdout
    # a password is never typed from the command line: it waits, and fails at the timeout
    assert "waiting for input: Password:" in res.stdout and res.returncode == 1
    assert "box | never" not in res.stdout
