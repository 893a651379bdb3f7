"""The end of each command's `--help`: two or three examples, as `git` and `kubectl` end
theirs; for `labguide --help`, also how to turn on shell completion and which environment
variables labguide reads. Kept in one table so that every command, wherever it is defined
(cli.py, probes/cli.py, sandbox/cli.py), gets them the same way; a test checks that none
is missing. Built in the run's language (the command line calls add_examples again once the
language is chosen)."""

from __future__ import annotations

import click

from labguide.i18n import gettext as _

#: Command path (as typed after `labguide`) → examples, one per line.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("labguide run l4lb-ha",
         "labguide run l4lb-ha --plain --from configure-vrrp --to fail-over-and-fail-back",
         "labguide check l4lb-ha --format junit > report.xml"),
    "list": ("labguide list", "LANG=ja_JP.UTF-8 labguide list"),
    "show": ("labguide show l4lb-ha", "labguide show ./my-chapter.md",
             "labguide show l4lb-ha --lang ja"),
    "run": ("labguide run l4lb-ha",
            "labguide run l4lb-ha --plain --only install-keepalived --limit l4lb-2",
            "labguide run ./my-chapter.md --dry-run --set VIP=192.168.16.140"),
    "check": ("labguide check l4lb-ha --limit l4lb-2 --format json",
              "labguide check l4lb-ha -i labs/ --format junit > class.xml",
              "labguide check l4lb-ha --drill --yes --report drill.html"),
    "report": ("labguide report l4lb-ha",
               "labguide report l4lb-ha -o ~/l4lb-ha.html --lang ja",
               "labguide run l4lb-ha --plain --report run.html"),
    "serve": ("labguide serve l4lb-ha",
              "labguide serve l4lb-ha --port 8080 --lang ja",
              "labguide serve l4lb-ha --listen 198.18.16.1 --allow-remote"),
    "init": ("labguide init", "labguide init -o ~/labs/home.toml",
             "labguide run l4lb-ha --inventory lab.toml"),
    "lint": ("labguide lint l4lb-ha", "labguide lint ./my-chapter.md --strict",
             "labguide lint l4lb-ha --lang ja --format json"),
    "test": ("sudo labguide test l4lb-ha",
             "sudo labguide test more-web --junit more-web.xml",
             "sudo labguide test ./my-chapter.md --keep-lab"),
    "ssh": ("labguide ssh l4lb-1",
            "labguide ssh l4lb-2 -- journalctl -u keepalived -n 20"),
    "lab": ("sudo labguide lab up", "labguide lab status --json", "sudo labguide lab down"),
    "lab up": ("sudo labguide lab up",
               "sudo labguide lab up more-web",
               "sudo LABGUIDE_LAB_ROOT=/tmp/lab labguide lab up"),
    "lab down": ("sudo labguide lab down", "sudo labguide lab down --purge"),
    "lab status": ("labguide lab status", "labguide lab status --json"),
    "lab console": ("sudo labguide lab console l4lb-2", "sudo labguide lab console 501 --follow"),
    "probe": ("labguide probe http://198.18.16.140/hostname",
              "labguide probe http://198.18.16.140/hostname --rate 1000 --duration 30s",
              "labguide probe http://198.18.16.140/ --threshold 0.99 --json"),
    "watch": ("labguide watch", "labguide watch --vip 198.18.16.140 --duration 60s",
              "labguide watch --json > vip-events.jsonl"),
}

def completion() -> str:
    """How to turn on shell completion, and the environment labguide reads (`labguide --help`)."""
    return "\n\n".join((
        "\b\n" + _("Shell completion (click's own; in your shell's start-up file):") + "\n"
        '  bash: eval "$(_LABGUIDE_COMPLETE=bash_source labguide)"\n'
        '  zsh:  eval "$(_LABGUIDE_COMPLETE=zsh_source labguide)"\n'
        "  fish: _LABGUIDE_COMPLETE=fish_source labguide | source",
        "\b\n" + _("Environment: LABGUIDE_INVENTORY (the inventory), LABGUIDE_STATE_DIR (saved "
                    "results and\ntranscripts), LABGUIDE_CONFIG_DIR (tui.toml), "
                    "LABGUIDE_LAB_ROOT (the sandbox lab's files),\nLC_ALL / LC_MESSAGES / LANG "
                    "(the chapter's language), NO_COLOR / FORCE_COLOR (colour).")))


def examples(path: str) -> str:
    lines = EXAMPLES.get(path, ())
    if not lines:
        return ""
    return "\b\n" + _("Examples:") + "\n" + "\n".join(f"  {line}" for line in lines)


def add_examples(command: click.Command, path: str = "") -> None:
    """Set the epilog of `command` and of every command under it."""
    text = examples(path)
    if not path:
        text = f"{completion()}\n\n{text}"
    command.epilog = text or command.epilog
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            add_examples(sub, f"{path} {name}".strip())
