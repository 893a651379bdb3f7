"""Putting values into shell scripts so that each one stays one literal string, wherever it is.

A chapter writes `${VIP}` in its commands and the lab's value goes in before the command is
shown and run (what is shown is what runs). One quoting rule is not enough: `shlex.quote` is
right for a bare word, but inside double quotes its single quotes are literal characters and a
value like `$(touch /tmp/pwned)` would run. So the script is scanned with a small model of the
shell's quoting (bare words, '…', "…", $'…', $(…), arithmetic, comments, here-documents,
here-strings) and each value is escaped for the place it lands in. Refused, as UnsafePlacement:
a value inside backticks; a value in text that the shell reads again as code (`eval`,
`sh -c CODE`, `trap`, `watch`, `ssh HOST CMD`, a here-document that a shell runs: see
shellcmd.py); anything but a whole number in arithmetic ($((…)), ((…)), $[…], the subscript
of `NAME[…]`, the words after `let` and `declare -i`).

Not modelled: `case` patterns inside `$(…)` (their `)` ends the substitution early),
`${NAME:-${OTHER}}` (the inner name is left as written, as the binder always did), the
operands of `[[ … -eq … ]]` (bash evaluates them as arithmetic: check a value first,
`[ "$v" -eq … ]` does not evaluate), and text that reaches a shell some other way (a pipe
into `bash`, a file that is run later).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from labguide.i18n import gettext as _
from labguide.shellcmd import Command

#: ${NAME}, and $${NAME} for a literal ${NAME} (the same syntax as the chapter format).
VAR_REF = re.compile(r"\$(\$?)\{([^}]*)\}")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([^\s;&|<>()'\"]+))")
_SUBSCRIPT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[")
_WHOLE_NUMBER = re.compile(r"0|-?[1-9][0-9]{0,17}")  # printed back as written, no overflow
_COMMAND_END = "\n;&|()"


class UnsafePlacement(ValueError):
    """A value cannot be placed where it stands without changing the script's meaning.

    `at` is where in the script (an index into it) the reference or here-document is."""

    def __init__(self, message: str, at: int | None = None) -> None:
        super().__init__(message)
        self.at = at


def _escape(value: str, ctx: str) -> str:
    if ctx == "u":  # a bare word (also inside $(…))
        return shlex.quote(value)
    if ctx == "d":  # "…": these four keep their meaning, everything else is literal
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if ctx == "s":  # '…': close, an escaped quote, reopen
        return value.replace("'", "'\\''")
    if ctx == "S":  # $'…'
        return value.replace("\\", "\\\\").replace("'", "\\'")
    if ctx == "h":  # the body of <<EOF: $, ` and \ are special, quotes are not
        return re.sub(r"([\\$`])", r"\\\1", value)
    if ctx == "H":  # the body of <<'EOF': taken literally, line by line
        if "\n" in value:
            raise UnsafePlacement(_("a value with a newline cannot go into a quoted "
                                    "here-document"))
        return value
    if ctx == "a":  # arithmetic: evaluated as an expression, where a[$(cmd)] runs cmd
        return _whole_number(value, _("an arithmetic expression ($((…)), $[…], NAME[…])"))
    if ctx == "c":  # a comment: a newline would end it and run the rest
        return value.replace("\n", " ")
    raise AssertionError(ctx)


def _whole_number(value: str, where: str) -> str:
    if _WHOLE_NUMBER.fullmatch(value):
        return value
    raise UnsafePlacement(_("only a whole number can go into {where}, not {value!r}").format(
        where=where, value=value))


def substitute_shell(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known ${NAME} replaced by its value, escaped for where it stands.

    $${NAME} gives a literal ${NAME}; an unknown ${…} (shell syntax such as ${a%% *}) stays.
    Raises UnsafePlacement where no escaping keeps the value literal."""
    return _Scanner(text, values, "u").run()


@dataclass
class _Ctx:
    """One level of quoting: its kind, open brackets, how it ends, its command's words."""

    kind: str  # u bare (top, $(…)), b `…`, s '…', S $'…', d "…", a arithmetic, c comment,
    #            h <<EOF body, H <<'EOF' body
    depth: int = 0
    closer: str = ""
    cmd: Command = field(default_factory=Command)
    word_start: int | None = None  # where in the output the word being read began


@dataclass
class _HereDoc:
    delim: str
    strip: bool
    quoted: bool
    refusal: str | None  # why no value may go into its body (the whole message), if none may


class _Scanner:
    """Copies a script, putting each value in escaped for the context it lands in."""

    def __init__(self, text: str, values: Mapping[str, str], start: str,
                 refusal: str | None = None, base: int = 0) -> None:
        self.text, self.values, self.refusal = text, values, refusal
        self.base = base  # where the text starts in the whole script (for error positions)
        self.out: list[str] = []
        self.stack = [_Ctx(start)]
        self.pending: list[_HereDoc] = []
        self.i = 0

    def run(self) -> str:
        steps = {"s": self._single, "S": self._ansi, "H": self._copy, "c": self._comment,
                 "a": self._arith, "d": self._double, "h": self._heredoc_text,
                 "u": self._bare, "b": self._bare}
        while self.i < len(self.text):
            if not self._reference():
                steps[self.stack[-1].kind]()
        if self.pending:  # here-documents opened on the last line: no body, no end line
            self.pending.clear()
        return "".join(self.out)

    # -- helpers ------------------------------------------------------------------------

    def _emit(self, s: str) -> None:
        self.out.append(s)
        self.i += len(s)

    def _push(self, kind: str, opener: str, closer: str = "") -> None:
        self._emit(opener)
        self.stack.append(_Ctx(kind, closer=closer))

    def _reference(self) -> bool:
        """A ${NAME} at i: copied (literal or unknown) or replaced by its escaped value."""
        m = VAR_REF.match(self.text, self.i) if self.text[self.i] == "$" else None
        if m is None:
            return False
        if self.stack[-1].kind in "ub":
            self._start_word()
        if m.group(1):
            self.out.append("${" + m.group(2) + "}")
        elif m.group(2) in self.values:
            try:
                self.out.append(self._place(self.values[m.group(2)]))
            except UnsafePlacement as exc:
                raise UnsafePlacement(str(exc), self.base + self.i) from None
        else:
            self.out.append(m.group(0))
        self.i = m.end()
        return True

    def _place(self, value: str) -> str:
        """The value escaped for the innermost context, or UnsafePlacement saying why not."""
        why = self.refusal or self._evaluated_again()
        if why:
            raise UnsafePlacement(why)
        if self._arithmetic():
            _whole_number(value, _("arithmetic ($((…)), ((…)), $[…], NAME[…], let, declare -i)"))
        return _escape(value, self.stack[-1].kind)

    def _arithmetic(self) -> bool:
        """Whether the innermost command or expression is evaluated as arithmetic (a quoted
        word there too: bash expands a['$(cmd)'] and runs cmd)."""
        for c in reversed(self.stack):
            if c.kind == "a":
                return True
            if c.kind == "u":
                return c.cmd.whole_numbers
        return False

    def _evaluated_again(self) -> str | None:
        if any(c.kind == "b" for c in self.stack):
            return _("a value cannot go inside backticks `…` (they undo one level of escaping): "
                     "write $(…)")
        for c in self.stack:
            if c.kind == "u" and c.cmd.current:
                return _("a value cannot go into text that {command} runs again as shell code: "
                         "pass it as an argument (sh -c '… \"$1\"' _ \"${{NAME}}\") or in the "
                         "environment").format(command=c.cmd.current)
        return None

    # -- words of bare contexts ---------------------------------------------------------

    def _start_word(self) -> None:
        top = self.stack[-1]
        if top.word_start is None:
            top.word_start = len(self.out)
            top.cmd.start_word()

    def _end_word(self, command_ends: bool = False) -> None:
        top = self.stack[-1]
        if top.word_start is not None:
            top.cmd.finish_word("".join(self.out[top.word_start:]))
            top.word_start = None
        if command_ends:
            top.cmd = Command()

    # -- contexts -----------------------------------------------------------------------

    def _copy(self) -> None:
        self._emit(self.text[self.i])

    def _single(self) -> None:
        if self.text[self.i] == "'":
            self.stack.pop()
        self._copy()

    def _ansi(self) -> None:
        c = self.text[self.i]
        if c == "\\":
            self._emit(self.text[self.i:self.i + 2])
            return
        if c == "'":
            self.stack.pop()
        self._copy()

    def _comment(self) -> None:
        if self.text[self.i] == "\n":
            self.stack.pop()  # the newline is handled by the enclosing context
            return
        self._copy()

    def _expansion(self) -> bool:
        """What opens or escapes in every context but quotes and comments: \\x, $((, $[, $(,
        backticks."""
        text, i, kind = self.text, self.i, self.stack[-1].kind
        if text[i] == "\\":
            self._emit(text[i:i + 2])
        elif text.startswith("$((", i):
            self._push("a", "$((", "))")
        elif text.startswith("$[", i):
            self._push("a", "$[", "]")
        elif text.startswith("$(", i):
            self._push("u", "$(")
        elif text[i] == "`" and kind == "b":
            self.stack.pop()
            self._copy()
        elif text[i] == "`":
            self._push("b", "`")
        else:
            return False
        return True

    def _arith(self) -> None:
        top, c = self.stack[-1], self.text[self.i]
        if top.depth == 0 and self.text.startswith(top.closer, self.i):
            self.stack.pop()
            self._emit(top.closer)
        elif c in "'\"":
            self._push("s" if c == "'" else "d", c)
        elif not self._expansion():
            if c in "([":
                top.depth += 1
            elif c in ")]":
                top.depth -= 1
            self._copy()

    def _double(self) -> None:
        if not self._expansion():
            if self.text[self.i] == '"':
                self.stack.pop()
            self._copy()

    def _heredoc_text(self) -> None:
        if not self._expansion():
            self._copy()

    def _bare(self) -> None:
        """A bare context: the top level, inside $(…) or inside `…`."""
        text, i, c = self.text, self.i, self.text[self.i]
        if text.startswith("\\\n", i):  # a line continuation: neither starts nor ends a word
            self._emit("\\\n")
        elif c in " \t":
            self._end_word()
            self._copy()
        elif text.startswith("((", i) and self.stack[-1].word_start is None:
            self._end_word(command_ends=True)
            self._push("a", "((", "))")  # an arithmetic command: `<<` is a shift there
        elif c in _COMMAND_END or c in "<>":
            self._operator()
        elif c == "#" and self.stack[-1].word_start is None:
            self._push("c", "#")
        else:
            self._word_part()

    def _word_part(self) -> None:
        text, i, c = self.text, self.i, self.text[self.i]
        at_start = self.stack[-1].word_start is None  # (a \; before makes a word)
        self._start_word()
        if at_start and (m := _SUBSCRIPT.match(text, i)):
            self._push("a", m.group(0), "]")  # NAME[…]: bash evaluates the subscript
        elif c == "'":
            self._push("s", "'")
        elif text.startswith("$'", i):
            self._push("S", "$'")
        elif c == '"':
            self._push("d", '"')
        elif not self._expansion():
            self._copy()

    def _operator(self) -> None:
        """;, &, |, (, ), newline (the command ends) and redirections (the word ends)."""
        text, i, c, top = self.text, self.i, self.text[self.i], self.stack[-1]
        redirection = (c == "&" and (text[i - 1:i] in ("<", ">") or text[i + 1:i + 2] == ">")
                       or c == "|" and text[i - 1:i] == ">")  # >&2, &>f, >|f
        self._end_word(command_ends=c in _COMMAND_END and not redirection)
        if text.startswith("<<<", i):  # a here-string: a word follows, no body
            top.cmd.here_string()
            self._emit("<<<")
        elif text.startswith("<<", i) and (m := _HEREDOC.match(text, i)):
            self._here_document(m)
        elif c == "\n" and self.pending:
            self._copy()
            for doc in self.pending:
                self.i = _heredoc_body(self, doc)
            self.pending.clear()
        elif c == "(":
            top.depth += 1
            self._copy()
        elif c == ")" and top.kind == "u" and top.depth == 0 and len(self.stack) > 1:
            self.stack.pop()
            self._copy()
        else:
            if c == ")" and top.depth > 0:
                top.depth -= 1
            self._copy()

    def _here_document(self, m: re.Match[str]) -> None:
        text, i = self.text, self.i
        quoted = m.group(4) is None or text[i + 2 + len(m.group(1)):].lstrip(
            " \t").startswith("\\")
        delim = next(g for g in (m.group(2), m.group(3), m.group(4)) if g is not None)
        runs = self.stack[-1].cmd.runs_stdin()
        refusal = self.refusal or self._evaluated_again() or (
            _("a value cannot go into a here-document that {command} runs as shell code"
              ).format(command=runs) if runs else None)
        self.pending.append(_HereDoc(delim, bool(m.group(1)), quoted, refusal))
        self._emit(m.group(0))


def _heredoc_body(scanner: _Scanner, doc: _HereDoc) -> int:
    """Copy one here-document body (values escaped for it) and its end line; returns the index
    after them."""
    text, i = scanner.text, scanner.i
    start = scanner.base + i
    body: list[str] = []
    while i < len(text):
        end = text.find("\n", i)
        line = text[i:] if end < 0 else text[i:end + 1]
        i = len(text) if end < 0 else end + 1
        if _ends(line, doc):
            scanner.out.append(_body(body, doc, scanner.values, start))
            scanner.out.append(line)
            return i
        body.append(line)
    scanner.out.append(_body(body, doc, scanner.values, start))  # no end line
    return i


def _ends(line: str, doc: _HereDoc) -> bool:
    line = line.rstrip("\n")
    return (line.lstrip("\t") if doc.strip else line) == doc.delim


def _body(lines: list[str], doc: _HereDoc, values: Mapping[str, str], start: int) -> str:
    done = _Scanner("".join(lines), values, "H" if doc.quoted else "h", doc.refusal,
                    start).run()
    if any(_ends(line, doc) for line in done.split("\n")):
        raise UnsafePlacement(_("a value would end the here-document early (a line {line!r})"
                                ).format(line=doc.delim), start)
    return done
