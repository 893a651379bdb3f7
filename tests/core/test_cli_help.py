"""Help and shell completion (issue 18, item 3): every option of every command has help,
each command's help ends with two or three examples, the environment variables an option
reads are in its help, and click's completion completes chapters, step and section ids and
hosts in a real process, as bash would ask for them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from labguide.cli import _register, cli
from tests.conftest import Sshd

#: Options that read the environment, and what their help must name.
ENV_OPTIONS = {"--inventory": "LABGUIDE_INVENTORY", "--color": "NO_COLOR",
               "--lang": "LANG", "--restart": "LABGUIDE_STATE_DIR",
               "--theme": "LABGUIDE_CONFIG_DIR"}


def commands() -> Iterator[tuple[str, click.Command]]:
    _register()

    def walk(cmd: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}".strip())

    yield from walk(cli, "")


def test_every_option_has_help_and_names_the_environment_it_reads() -> None:
    seen = 0
    for path, cmd in commands():
        for param in cmd.params:
            if not isinstance(param, click.Option):
                continue
            assert param.help, f"labguide {path} {param.opts[0]} has no help"
            for opt, var in ENV_OPTIONS.items():
                if opt in param.opts:
                    assert "[env var: " in param.help and var in param.help, (path, opt)
                    seen += 1
    assert seen >= 8


def test_each_commands_help_ends_with_two_or_three_examples() -> None:
    runner = CliRunner()
    for path, _cmd in commands():
        res = runner.invoke(cli, [*path.split(), "--help"], prog_name="labguide",
                            terminal_width=100)
        assert res.exit_code == 0, (path, res.output)
        tail = res.output.rstrip("\n").split("\n  Examples:\n")
        assert len(tail) == 2, f"labguide {path} --help has no examples at its end"
        lines = tail[1].split("\n")
        assert 2 <= len(lines) <= 3 and all("labguide " in ln for ln in lines), (path, lines)
    top = runner.invoke(cli, ["--help"], prog_name="labguide", terminal_width=100).output
    for shell in ("bash_source", "zsh_source", "fish_source"):
        assert f"_LABGUIDE_COMPLETE={shell} labguide" in top


def complete(words: str, env: dict[str, str] | None = None, cwd: Path | None = None
             ) -> list[str]:
    """What bash completion offers for the last word of `words` (click's bash protocol:
    one 'type,value' line per item), from a real process."""
    parts = words.split(" ")
    res = subprocess.run(
        [sys.executable, "-m", "labguide"], capture_output=True, text=True, cwd=cwd,
        env={**os.environ, **(env or {}), "_LABGUIDE_COMPLETE": "bash_complete",
             "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)},
        stdin=subprocess.DEVNULL, timeout=60)
    assert res.returncode == 0, res.stderr
    return [line for line in res.stdout.splitlines() if line]


def test_completion_of_chapters_ids_and_hosts(tmp_path: Path) -> None:
    assert "plain,l4lb-ha" in complete("labguide run l4")
    assert "file,./" in complete("labguide show ./")  # a path: the shell completes files
    got = complete("labguide run l4lb-ha --from fail")
    assert "plain,fail-over-and-fail-back" in got  # a section
    assert "plain,failover-stop-keepalived" in got and "plain,failback-start-keepalived" in got
    assert complete("labguide check l4lb-ha --only configure-vrrp,keepalived-conf") == [
        "plain,configure-vrrp,keepalived-conf-l4lb1",
        "plain,configure-vrrp,keepalived-conf-l4lb2"]
    assert complete("labguide run l4lb-ha --limit l4lb-1,") == [
        "plain,l4lb-1,node1", "plain,l4lb-1,l4lb-1", "plain,l4lb-1,l4lb-2",
        "plain,l4lb-1,client"]
    assert complete("labguide run l4lb-ha --lang ") == ["plain,en", "plain,ja"]
    assert complete("labguide run no-such-chapter --from x") == []  # nothing, no traceback
    assert "plain,--limit" in complete("labguide check l4lb-ha --li")


def test_the_class_report_and_serve_commands_complete_too(tmp_path: Path) -> None:
    """issue 19's commands: the chapter, its languages, check's -i taking a folder."""
    assert "plain,l4lb-ha" in complete("labguide report l4")
    assert "plain,l4lb-ha" in complete("labguide serve l4")
    assert complete("labguide serve l4lb-ha --lang ") == ["plain,en", "plain,ja"]
    assert complete("labguide report l4lb-ha --lang j") == ["plain,ja"]
    assert "plain,--connections" in complete("labguide check l4lb-ha --conn")
    assert "file," in complete("labguide check l4lb-ha -i ")  # files and folders: the shell's


def test_zsh_shows_what_each_id_is() -> None:
    parts = "labguide run l4lb-ha --to l4lb1-h".split(" ")
    res = subprocess.run([sys.executable, "-m", "labguide"], capture_output=True, text=True,
                         env={**os.environ, "_LABGUIDE_COMPLETE": "zsh_complete",
                              "COMP_WORDS": " ".join(parts), "COMP_CWORD": str(len(parts) - 1)},
                         stdin=subprocess.DEVNULL, timeout=60)
    assert re.search(r"^l4lb1-haproxy-ready\nHAProxy runs on l4lb-1$", res.stdout, re.M), \
        res.stdout


def test_ssh_completes_the_inventorys_hosts(tmp_path: Path, sshd: Sshd) -> None:
    inv = tmp_path / "inv.toml"
    inv.write_text(sshd.inventory_host("lb-one") + "\n" + sshd.inventory_host("lb-two"))
    assert complete(f"labguide ssh -i {inv} lb-") == ["plain,lb-one", "plain,lb-two"]
    assert complete("labguide ssh lb-", env={"LABGUIDE_INVENTORY": str(inv)}) == [
        "plain,lb-one", "plain,lb-two"]


def test_bash_itself_completes_through_the_documented_line(tmp_path: Path) -> None:
    """The line README.md gives for bash, in a real bash: COMPREPLY for `--from fail`."""
    script = ('eval "$(_LABGUIDE_COMPLETE=bash_source labguide)"\n'
              "COMP_WORDS=(labguide run l4lb-ha --from failb); COMP_CWORD=4\n"
              "_labguide_completion labguide\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    bindir = Path(sys.executable).parent
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert res.stdout.split() == ["failback-start-keepalived", "failback-vip-on-l4lb1",
                                  "failback-l4lb2-released"], res.stdout + res.stderr


def test_lint_test_and_lab_up_complete_the_chapter() -> None:
    """issue 20's commands take a chapter (and lint and test a language) like the others."""
    assert "plain,l4lb-ha" in complete("labguide lint l4")
    assert "plain,l4lb-ha" in complete("labguide test l4")
    assert "plain,l4lb-ha" in complete("labguide lab up l4")
    assert complete("labguide lint l4lb-ha --lang ") == ["plain,en", "plain,ja"]
    assert "file,./" in complete("labguide test ./")


def test_the_second_chapter_completes_by_name() -> None:
    """more-web is bundled: its name after each command that takes a chapter (`lab up` too:
    it has a lab file), and its steps, hosts and languages after it."""
    for command in ("run", "show", "check", "lint", "test", "lab up"):
        assert complete(f"labguide {command} mo") == ["plain,more-web"], command
    assert complete("labguide run more-web --from reload") == ["plain,reload-haproxy"]
    assert complete("labguide run more-web --limit ") == [
        "plain,l4lb-1", "plain,web-3", "plain,client"]
    assert complete("labguide run more-web --lang ") == ["plain,en", "plain,ja"]
