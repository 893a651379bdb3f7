"""Putting values into shell scripts so that each one stays one literal string, wherever it is.

A chapter writes `${VIP}` in its commands and the lab's value goes in before the command is
shown and run (what is shown is what runs). One quoting rule is not enough: `shlex.quote` is
right for a bare word, but inside double quotes its single quotes are literal characters and a
value like `$(touch /tmp/pwned)` would run. So the script is scanned with a small model of the
shell's quoting (bare words, '…', "…", $'…', `…`, $(…), $((…)), comments, here-documents,
here-strings) and each value is escaped for the place it lands in; only a whole number goes
into arithmetic.

Not modelled: `case` patterns inside `$(…)` (their `)` ends the substitution early),
`${NAME:-${OTHER}}` (the inner name is left as written, as the binder always did), and
commands that evaluate a quoted word as arithmetic themselves (`let`, `declare -i`, the
operands of `[[ … -eq … ]]`): there a value stays one word but bash evaluates it, so keep
chapter values out of them, or check them first (`[ "$v" -eq … ]` does not evaluate).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

#: ${NAME}, and $${NAME} for a literal ${NAME} (the same syntax as the chapter format).
VAR_REF = re.compile(r"\$(\$?)\{([^}]*)\}")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([^\s;&|<>()'\"]+))")
_WORD_START = " \t\n;&|()"


class UnsafePlacement(ValueError):
    """A value cannot be placed where it stands without changing the script's meaning."""


def _escape(value: str, ctx: str) -> str:
    if ctx == "u":  # a bare word (also inside $(…))
        return shlex.quote(value)
    if ctx == "d":  # "…": these four keep their meaning, everything else is literal
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if ctx == "s":  # '…': close, an escaped quote, reopen
        return value.replace("'", "'\\''")
    if ctx == "S":  # $'…'
        return value.replace("\\", "\\\\").replace("'", "\\'")
    if ctx == "b":  # `…`: the inner shell sees a bare word after \\ \` \$ are undone
        return re.sub(r"([\\`$])", r"\\\1", shlex.quote(value))
    if ctx == "h":  # the body of <<EOF: $, ` and \ are special, quotes are not
        return re.sub(r"([\\$`])", r"\\\1", value)
    if ctx == "H":  # the body of <<'EOF': taken literally, line by line
        if "\n" in value:
            raise UnsafePlacement("a value with a newline cannot go into a quoted here-document")
        return value
    if ctx == "a":  # $((…)) and ((…)): evaluated as an expression, where a[$(cmd)] runs cmd
        if re.fullmatch(r"-?[0-9]+", value):
            return value
        raise UnsafePlacement("only a whole number can go into an arithmetic expression "
                              f"$((…)), not {value!r}")
    if ctx == "c":  # a comment: a newline would end it and run the rest
        return value.replace("\n", " ")
    raise AssertionError(ctx)


def substitute_shell(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known ${NAME} replaced by its value, escaped for where it stands.

    $${NAME} gives a literal ${NAME}; an unknown ${…} (shell syntax such as ${a%% *}) stays."""
    return _scan(text, values, "u")


def _scan(text: str, values: Mapping[str, str], start: str) -> str:
    out: list[str] = []
    # each entry: [context, open parentheses]; "u" entries above the bottom came from $(
    stack: list[list[object]] = [[start, 0]]
    pending: list[tuple[str, bool, bool]] = []  # here-documents: delimiter, strip tabs, quoted
    i, n = 0, len(text)
    while i < n:
        ctx = str(stack[-1][0])
        c = text[i]
        if c == "$":
            m = VAR_REF.match(text, i)
            if m:
                if m.group(1):
                    out.append("${" + m.group(2) + "}")
                elif m.group(2) in values:
                    out.append(_escape(values[m.group(2)], ctx))
                else:
                    out.append(m.group(0))
                i = m.end()
                continue
        if ctx == "s":
            if c == "'":
                stack.pop()
            out.append(c)
            i += 1
            continue
        if ctx == "H":
            out.append(c)
            i += 1
            continue
        if ctx == "c":
            if c == "\n":
                stack.pop()
                continue  # the newline is handled by the enclosing context
            out.append(c)
            i += 1
            continue
        if c == "\\" and ctx != "S":
            out.append(text[i:i + 2])
            i += 2
            continue
        if ctx == "S":
            if c == "\\":
                out.append(text[i:i + 2])
                i += 2
                continue
            if c == "'":
                stack.pop()
            out.append(c)
            i += 1
            continue
        if text.startswith("$((", i) or (
                ctx in ("u", "b") and text.startswith("((", i)
                and (i == 0 or text[i - 1] in _WORD_START)):
            opener = "$((" if c == "$" else "(("
            stack.append(["a", 0])  # arithmetic: `<<` is a shift there, not a here-document
            out.append(opener)
            i += len(opener)
            continue
        if text.startswith("$(", i):
            stack.append(["u", 0])
            out.append("$(")
            i += 2
            continue
        if ctx == "a":
            depth = int(str(stack[-1][1]))
            if c == ")" and depth == 0 and text.startswith("))", i):
                stack.pop()
                out.append("))")
                i += 2
                continue
            if c in "()":
                stack[-1][1] = depth + (1 if c == "(" else -1)
            out.append(c)
            i += 1
            continue
        if c == "`":
            if ctx == "b":
                stack.pop()
            else:
                stack.append(["b", 0])
            out.append(c)
            i += 1
            continue
        if ctx == "d":
            if c == '"':
                stack.pop()
            out.append(c)
            i += 1
            continue
        if ctx == "h":
            out.append(c)
            i += 1
            continue
        # a bare context: "u" (top level or inside $(…)) or "b"
        if c == "'":
            stack.append(["s", 0])
        elif text.startswith("$'", i):
            stack.append(["S", 0])
            out.append("$'")
            i += 2
            continue
        elif c == '"':
            stack.append(["d", 0])
        elif c == "#" and (i == 0 or text[i - 1] in _WORD_START):
            stack.append(["c", 0])
        elif c == "(":
            stack[-1][1] = int(str(stack[-1][1])) + 1
        elif c == ")" and ctx == "u":
            if int(str(stack[-1][1])) > 0:
                stack[-1][1] = int(str(stack[-1][1])) - 1
            elif len(stack) > 1:
                stack.pop()
        elif text.startswith("<<<", i):  # a here-string: a word follows, no body
            out.append("<<<")
            i += 3
            continue
        elif text.startswith("<<", i):
            m = _HEREDOC.match(text, i)
            if m:
                quoted = m.group(4) is None or text[i + 2 + len(m.group(1)):].lstrip(
                    " \t").startswith("\\")
                delim = next(g for g in (m.group(2), m.group(3), m.group(4)) if g is not None)
                pending.append((delim, bool(m.group(1)), quoted))
                out.append(m.group(0))
                i = m.end()
                continue
        elif c == "\n" and pending:
            out.append(c)
            i += 1
            for delim, strip, quoted in pending:
                i = _heredoc_body(text, i, delim, strip, quoted, values, out)
            pending.clear()
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _heredoc_body(text: str, i: int, delim: str, strip: bool, quoted: bool,
                  values: Mapping[str, str], out: list[str]) -> int:
    """Copy one here-document body (values escaped for it) and its end line; returns the index
    after them."""
    body: list[str] = []
    while i < len(text):
        end = text.find("\n", i)
        line = text[i:] if end < 0 else text[i:end + 1]
        i = len(text) if end < 0 else end + 1
        if _ends(line, delim, strip):
            out.append(_body(body, delim, strip, quoted, values))
            out.append(line)
            return i
        body.append(line)
    out.append(_body(body, delim, strip, quoted, values))  # no end line
    return i


def _ends(line: str, delim: str, strip: bool) -> bool:
    line = line.rstrip("\n")
    return (line.lstrip("\t") if strip else line) == delim


def _body(lines: list[str], delim: str, strip: bool, quoted: bool,
          values: Mapping[str, str]) -> str:
    done = _scan("".join(lines), values, "H" if quoted else "h")
    if any(_ends(line, delim, strip) for line in done.split("\n")):
        raise UnsafePlacement(f"a value would end the here-document early (a line {delim!r})")
    return done
