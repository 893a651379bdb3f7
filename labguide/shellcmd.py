"""Which words of a shell command make the shell read text again as code (for shellsubst.py).

A value escaped for where it stands is safe for one round of the shell's parsing; `eval`,
`sh -c '…'`, `trap '…'`, `ssh HOST '…'` and a shell reading a here-document as its script
parse the text a second time, and an escaped value is then live code again. This module
follows the words of one simple command and says, for the word being read, whether (and
why) it will be evaluated again. Text only: it runs nothing and knows nothing of values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Commands that run their arguments (all of them, joined) as shell code.
EVALUATE_ALL = ("eval", "trap", "watch")
#: Shells: `-c WORD` runs WORD as code; with no -c and no script file they run stdin.
SHELLS = ("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "su", "runuser")
#: Commands whose `-c WORD` runs WORD through a shell (stdin stays data).
C_OPTION = ("flock", "script")
#: Shells whose plain (non-option) words are not a script file (a user name).
USER_SHELLS = ("su", "runuser")
#: Builtins whose `-i` makes assignments arithmetic (a value must be a whole number).
DECLARE = ("declare", "typeset", "local", "export", "readonly")
#: ssh options that take an argument (the next word when not attached).
SSH_ARG_OPTIONS = set("BbcDEeFIiJLlmOoPpQRSWw")
#: Words before the command's name, after which the name is still to come.
RESERVED = ("!", "{", "then", "do", "else", "elif", "if", "while", "until", "time")
#: Commands that run the command named in their next words.
WRAPPERS = ("sudo", "doas", "env", "command", "builtin", "exec", "nohup", "nice", "timeout",
            "setsid", "stdbuf", "xargs")
_C_CLUSTER = re.compile(r"^-[A-Za-z]*c[A-Za-z]*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=")


def unquote(word: str) -> str:
    """A word's text with quote characters and backslashes dropped (enough to name commands)."""
    return re.sub(r"[\\'\"]", "", word)


@dataclass
class Command:
    """What the words of one simple command read so far say about its next words."""

    #: Every later word is evaluated again (names the command, for the error message).
    evaluates_rest: str | None = None
    #: The next non-option word is evaluated again ("bash -c").
    evaluates_next: str | None = None
    #: Later words are arithmetic (`let`, `declare -i`): only whole numbers go in.
    whole_numbers: bool = False
    shell: str | None = None
    shell_reads_stdin: bool = False
    c_option: str | None = None
    declare: bool = False
    ssh: str = ""  # "", "opts" (before the destination), "dest" (just after it), "cmd"
    named: bool = False  # the command's name has been read
    skip_next: bool = False
    #: Why the word being read is evaluated again (None: it is not).
    current: str | None = None

    def start_word(self) -> None:
        self.current = self.evaluates_rest or self.evaluates_next

    def finish_word(self, raw: str) -> None:
        word = unquote(raw)
        self.current = None
        if self.skip_next:
            self.skip_next = False
            return
        if self.evaluates_next and not word.startswith(("-", "+")):
            self.evaluates_next = None  # `sh -c CODE ARG…`: the arguments are only data
            return
        name = word.rsplit("/", 1)[-1]
        if not self.named and self._before_name(raw, word, name):
            return
        if self.ssh:
            self._ssh_word(word)
        else:
            self._command_word(word, name)

    def _command_word(self, word: str, name: str) -> None:
        """A word of the command itself (its name or an argument): what it makes of the
        words after it."""
        if name in EVALUATE_ALL:
            self.evaluates_rest = name
        elif name == "let":
            self.whole_numbers = True
        elif name in DECLARE:
            self.declare = True
        elif name == "ssh":
            self.ssh = "opts"
        elif name in SHELLS:
            self.shell, self.shell_reads_stdin = name, True
        elif name in C_OPTION:
            self.c_option = name
        elif re.search(r"[$`]", word) and not (self.shell or self.c_option):
            self.shell, self.shell_reads_stdin = word, False  # $SHELL: a shell, maybe
        elif self.shell or self.c_option:
            self._option_word(word)
        elif self.declare and word.startswith("-") and "i" in word:
            self.whole_numbers = True

    def _before_name(self, raw: str, word: str, name: str) -> bool:
        """Reads the words up to the command's name; True while the name is still to come."""
        if _ASSIGNMENT.match(word) or name in RESERVED or (
                self.shell is None and word.startswith("-")):
            return True
        self.named = name not in WRAPPERS
        if self.named and re.search(r"[$`]", raw):
            self.evaluates_rest = f"{word} (a command named by an expansion may be eval)"
            return True
        return not self.named

    def _option_word(self, word: str) -> None:
        who = self.shell or self.c_option
        if _C_CLUSTER.match(word) or word == "--command":
            self.evaluates_next = f"{who} -c"
            self.shell_reads_stdin = False
        elif word in ("-o", "+o", "-O", "+O"):
            self.skip_next = True
        elif not word.startswith(("-", "+")) and self.shell not in USER_SHELLS:
            self.shell_reads_stdin = False  # a script file: stdin is its data

    def _ssh_word(self, word: str) -> None:
        if self.ssh == "opts" and word.startswith("-") and len(word) > 1:
            for k, letter in enumerate(word[1:]):
                if letter in SSH_ARG_OPTIONS:
                    self.skip_next = k == len(word) - 2  # the argument is the next word
                    break
        elif self.ssh == "opts":
            self.ssh = "dest"
            self.evaluates_rest = "ssh (the remote shell)"
        else:
            self.ssh = "cmd"

    def here_string(self) -> None:
        """`<<< WORD` follows: a shell that runs its stdin runs WORD."""
        self.evaluates_next = self.runs_stdin() or self.evaluates_next

    def runs_stdin(self) -> str | None:
        """Which command runs this command's standard input as shell code, if one does."""
        if self.ssh == "dest":
            return "ssh (the remote shell)"
        if self.shell and self.shell_reads_stdin:
            return self.shell
        return None
