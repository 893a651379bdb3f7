"""The command line, run as a real process: list/show/dry-run, errors, plain runs, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Sshd

LABGUIDE = [sys.executable, "-m", "labguide"]


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LABGUIDE, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_list_and_show_from_another_directory(tmp_path: Path) -> None:
    res = run("list", cwd=tmp_path)
    assert res.returncode == 0 and "l4lb-ha" in res.stdout
    res = run("show", "l4lb-ha", cwd=tmp_path)
    assert res.returncode == 0
    for title in ("Create l4lb-2 on node1", "Install HAProxy on l4lb-2", "Install Keepalived",
                  "Configure VRRP", "Fail over and fail back", "Maintenance mode",
                  "Stop Keepalived under load", "Active/active with a second VIP"):
        assert title in res.stdout


def test_dry_run_prints_every_command_under_its_host() -> None:
    res = run("run", "l4lb-ha", "--plain", "--dry-run")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "  @node1\n    $ qm clone 999 501 --name l4lb-2 --full" in out
    assert 'qm set 501 --ipconfig0 "ip=192.168.16.134/32,gw=192.168.16.1"' in out
    assert ("  @l4lb-2\n    $ sudo apt update\n"
            "    $ sudo apt install -y --no-install-recommends haproxy") in out
    assert "192.168.16.140" in out and "k6 run -d 30s --vus 10 --rps 1000" in out
    res = run("run", "l4lb-ha", "--dry-run", "--set", "VIP=198.18.16.140")
    assert "198.18.16.140" in res.stdout and "192.168.16.140" not in res.stdout


def test_user_errors_are_one_located_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text('+++\ntitle = "x"\nhosts = ["a"]\n+++\n\n```sh {on="b"}\ntrue\n```\n')
    res = run("run", str(bad), "--dry-run")
    assert res.returncode == 2
    assert res.stderr.strip() == f"labguide: {bad}:6: unknown host 'b': the front matter's " \
                                 "hosts are a"
    res = run("run", "l4lb-ha", "--dry-run", "--set", "NOPE=1")
    assert res.returncode == 2 and "Traceback" not in res.stderr and "NOPE" in res.stderr
    inv = tmp_path / "inv.toml"
    inv.write_text('[hosts.l4lb-1]\naddress = "x"\nport = "22"\n')
    res = run("run", "l4lb-ha", "--plain", "--inventory", str(inv))
    assert res.returncode == 2 and f"{inv}:1" in res.stderr and "Traceback" not in res.stderr


def test_missing_hosts_are_reported_all_at_once(tmp_path: Path) -> None:
    inv = tmp_path / "inv.toml"
    inv.write_text('[hosts.l4lb-1]\naddress = "127.0.0.1"\n')
    res = run("run", "l4lb-ha", "--plain", "--inventory", str(inv))
    assert res.returncode == 2
    for host in ("node1", "l4lb-2", "client"):
        assert f"host '{host}' is needed by chapter l4lb-ha" in res.stderr


CHAPTER = """+++
id = "cli"
title = "CLI test"
hosts = ["a"]
[vars]
NAME = "world"
+++

## Only

```sh {on="a" id="first"}
echo hello ${NAME}
echo "quoted: ${NAME}"
```

```sh {on="a" id="slow" disruptive}
echo slow starts; sleep 60; echo slow ends
```

```sh {on="a" id="last"}
echo done
```
"""


def write_lab(tmp_path: Path, sshd: Sshd) -> tuple[Path, Path]:
    chapter = tmp_path / "cli.md"
    chapter.write_text(CHAPTER)
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("a"))
    return chapter, inv


def test_plain_run_refuses_disruptive_steps_without_a_terminal(tmp_path: Path,
                                                              sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    res = run("run", str(chapter), "--plain", "--inventory", str(inv), env=env)
    assert res.returncode == 1
    assert "a | hello world" in res.stdout
    assert "pass --yes" in res.stderr


def test_variable_injection_runs_nothing_extra(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    pwned = tmp_path / "pwned"
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state")}
    evil = f"x; touch {pwned} $(touch {pwned}) `touch {pwned}`"
    res = run("run", str(chapter), "--plain", "--inventory", str(inv), "--from", "first",
              "--set", f"NAME={evil}", env=env)
    assert f"a | hello {evil}" in res.stdout
    assert f"a | quoted: {evil}" in res.stdout  # inside double quotes too
    assert not pwned.exists()


def test_sigkill_mid_run_loses_nothing_and_resumes(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    state_dir = tmp_path / "state"
    env = {**os.environ, "LABGUIDE_STATE_DIR": str(state_dir)}
    proc = subprocess.Popen([*LABGUIDE, "run", str(chapter), "--plain", "--yes",
                             "--inventory", str(inv)], stdout=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "a | slow starts" in line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    folder = next((state_dir / "runs").iterdir())
    state = json.loads((folder / "state.json").read_text())
    assert state["steps"]["first"]["status"] == "passed"
    lines = (folder / "transcript.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    assert any(r.get("line") == "slow starts" for r in records)
    # the next run resumes at the interrupted step (it never finished)
    t0 = time.monotonic()
    res = run("run", str(chapter), "--plain", "--yes", "--inventory", str(inv),
              "--set", "NAME=again", env={"LABGUIDE_STATE_DIR": str(state_dir)}, timeout=120)
    assert "hello again" not in res.stdout, "a passed step must not run again"
    assert "slow starts" in res.stdout and "a | done" in res.stdout
    assert res.returncode == 0 and time.monotonic() - t0 > 0


def test_ctrl_c_cancels_the_step_and_the_remote_command(tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    body = chapter.read_text().replace("sleep 60", f"sleep 60 & echo $! > {tmp_path}/pid; wait")
    chapter.write_text(body)
    state_dir = tmp_path / "state"
    proc = subprocess.Popen([*LABGUIDE, "run", str(chapter), "--plain", "--yes",
                             "--inventory", str(inv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LABGUIDE_STATE_DIR": str(state_dir)},
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "a | slow starts" in line:
            break
    pid_file = tmp_path / "pid"
    while not (pid_file.exists() and pid_file.read_text().strip().isdigit()):
        time.sleep(0.05)  # the shell creates the file before it writes the pid
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "resume" in err and "Traceback" not in err
    assert "interrupted: slow is not done" in out
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{child}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{child}").exists(), "the remote sleep must be gone"
    folder = next((state_dir / "runs").iterdir())
    state = json.loads((folder / "state.json").read_text())
    assert state["steps"]["slow"]["status"] == "cancelled"
    # the same command again resumes at the cancelled step: "first" does not run twice
    chapter.write_text(body.replace(f"sleep 60 & echo $! > {tmp_path}/pid; wait", "true"))
    res = subprocess.run([*LABGUIDE, "run", str(chapter), "--plain", "--yes", "--inventory",
                          str(inv)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LABGUIDE_STATE_DIR": str(state_dir)},
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("resuming at slow: 1 step already done")
    assert "a | hello" not in res.stdout and "PASS slow (" in res.stdout


def test_first_contact_shows_the_fingerprint_and_records_the_accepted_key(
        tmp_path: Path, sshd: Sshd) -> None:
    chapter, inv = write_lab(tmp_path, sshd)
    inv.write_text("\n".join(line for line in inv.read_text().splitlines()
                             if not line.startswith("known_hosts")) + "\n")
    env = {"LABGUIDE_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path / "home")}
    res = run("run", str(chapter), "--plain", "--inventory", str(inv), env=env)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    out = res.stdout + res.stderr
    assert "unknown host key for 127.0.0.1: ED25519 SHA256:" in out
    assert "--accept-new-host-keys" in out
    fingerprint = out.split("unknown host key for 127.0.0.1: ED25519 ", 1)[1].split(" ", 1)[0]
    res = run("run", str(chapter), "--plain", "--inventory", str(inv),
              "--accept-new-host-keys", env=env)  # stops before the disruptive step
    assert "a | hello world" in res.stdout, res.stdout + res.stderr
    assert f"accepted and recorded a new host key: a: {fingerprint}" in res.stdout
    records = [json.loads(line) for f in (tmp_path / "state").rglob("*.jsonl")
               for line in f.read_text().splitlines()]
    assert {"event": "host_key_accepted", "host": "a", "fingerprint": f"a: {fingerprint}"}.items() \
        <= next(r for r in records if r["event"] == "host_key_accepted").items()
    assert (tmp_path / "home/.ssh/known_hosts").exists()
