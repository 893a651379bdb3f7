"""Reading a command's terminal output and telling when it waits for an answer.

A command on a pseudo-terminal writes lines, rewrites lines (\\r) and colours them (ANSI);
`TerminalText` turns that into the lines a reader would see, and keeps the unfinished last
line. A *prompt* is that unfinished line once it has stood still for a moment and reads as a
question: a known prompt (password, passphrase, ssh's yes/no, [Y/n], dpkg's conffile choice)
at once, a line ending in ": " or "? " (the space a prompt leaves for the answer) after
PROMPT_QUIET, a bare ":" or "?" only after BARE_QUIET. Output that merely pauses (apt's
"Reading package lists... 45%", k6's progress, "Progress: [ 40%]") ends in none of these and
is never taken for a prompt. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Seconds an unfinished line must stand still before it counts as a prompt.
KNOWN_QUIET = 0.02
PROMPT_QUIET = 0.05
BARE_QUIET = 1.0

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_KNOWN = re.compile(
    r"(?:pass(?:word|phrase)[^:\n]*:|\(yes/no(?:/\[fingerprint\])?\)\?|\[[Yy]/[Nn]\]|"
    r"\((?:[A-Z]/){2,}[A-Z]\)(?: \[default=\w\])?\s*\?|PIN:)\s*$", re.IGNORECASE)
_SECRET = re.compile(r"pass(?:word|phrase)|\bPIN\b|secret|token|\bOTP\b", re.IGNORECASE)
_ENDS_ASKING = re.compile(r"[:?]\s+$")
_ENDS_BARE = re.compile(r"[:?]$")


#: Commands that may ask the reader something (a password, a passphrase, yes/no, a host
#: key): a script that runs one of them gets a terminal when a front-end can answer.
ASKING_COMMANDS = ("sudo", "su", "ssh", "scp", "sftp", "ssh-copy-id", "ssh-keygen", "ssh-add",
                   "passwd", "read", "apt", "apt-get", "aptitude", "dpkg", "dpkg-reconfigure",
                   "mysql", "psql", "git")
_ASKING = re.compile(r"(?<![\w$/.-])(?:" + "|".join(re.escape(c) for c in ASKING_COMMANDS)
                     + r")(?![\w.-])")


def may_ask(script: str) -> bool:
    """Whether the script runs a command that may ask something (a word of ASKING_COMMANDS;
    a false alarm only costs the terminal: stdout and stderr then arrive as one stream)."""
    return bool(_ASKING.search(script))


@dataclass(frozen=True)
class Prompt:
    """A command waiting for an answer: what it asked, and whether the answer is secret
    (never shown, echoed or recorded)."""

    text: str
    secret: bool


def classify(partial: str) -> tuple[float, Prompt] | None:
    """How long `partial` (an unfinished line) must stand still to be a prompt, and the
    prompt; None if it is not one (paused output)."""
    text = partial.strip()
    if not text:
        return None
    secret = bool(_SECRET.search(text))
    if _KNOWN.search(partial):
        return KNOWN_QUIET, Prompt(text, secret)
    if _ENDS_ASKING.search(partial):
        return PROMPT_QUIET, Prompt(text, secret)
    if _ENDS_BARE.search(partial):
        return BARE_QUIET, Prompt(text, secret)
    return None


class TerminalText:
    """Bytes from a terminal in, the lines a reader sees out; `partial` is the unfinished
    last line, `changes` counts how often it changed (to ask once per prompt)."""

    def __init__(self) -> None:
        self._raw = b""
        self.partial = ""
        self.changes = 0

    def feed(self, data: bytes) -> list[str]:
        self._raw += data
        *done, self._raw = self._raw.split(b"\n")
        lines = [self.clean(raw) for raw in done]
        partial = self.clean(self._raw)
        if lines or partial != self.partial:
            self.changes += 1
        self.partial = partial
        return lines

    def finish(self) -> list[str]:
        """What is left when the output ends."""
        rest, self._raw, self.partial = self.clean(self._raw), b"", ""
        return [rest] if rest else []

    @staticmethod
    def clean(raw: bytes) -> str:
        """One line as shown: colours and cursor moves dropped, each \\r starting over."""
        text = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\r")
        return text.rsplit("\r", 1)[-1]
