"""A parser for keepalived.conf (the subset the chapters use) and a comparison with expectations.

Pure text in, data out: --check reads the file over the transport and compares what is
configured, block by block, instead of grepping for strings. `include` lines are found
here (`include_of`); reading what they name is the caller's (steps/conf_read.py), which
puts the files' text in their place before parsing, as keepalived does.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from typing import Any

from labguide.errors import LabguideError
from labguide.i18n import gettext as _


@dataclass
class Block:
    """A `name [arg] { … }` block: its simple settings, its list items and nested blocks."""

    name: str
    arg: str | None = None
    settings: dict[str, list[str]] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)

    def child(self, name: str) -> Block | None:
        return next((c for c in self.children if c.name == name), None)


def _tokens(text: str) -> list[tuple[int, list[str]]]:
    """Lines split into words; comments ('!' or '#') dropped; braces become their own words."""
    out: list[tuple[int, list[str]]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        lexer = shlex.shlex(raw, posix=True, punctuation_chars="{}")
        lexer.commenters = "!#"
        lexer.whitespace_split = True
        lexer.wordchars += "-./:@$,=*"
        try:
            words = list(lexer)
        except ValueError as exc:
            raise LabguideError(_("keepalived.conf line {line}: {error}").format(
                line=n, error=exc)) from None
        split: list[str] = []
        for w in words:
            split.extend(p for p in re.split(r"([{}])", w) if p)
        if split:
            out.append((n, split))
    return out


def parse(text: str) -> Block:
    """The whole file as a root Block whose children are the top-level blocks."""
    root = Block("(root)")
    stack = [root]
    for n, words in _tokens(text):
        i = 0
        while i < len(words):
            word = words[i]
            if word == "}":
                if len(stack) == 1:
                    raise LabguideError(_("keepalived.conf line {line}: '}}' without a block"
                                          ).format(line=n))
                stack.pop()
                i += 1
                continue
            rest = words[i:]
            if "{" in rest:
                j = rest.index("{")
                head = rest[:j]
                block = Block(head[0] if head else "", " ".join(head[1:]) or None)
                stack[-1].children.append(block)
                stack.append(block)
                i += j + 1
                continue
            line = rest[: rest.index("}")] if "}" in rest else rest
            current = stack[-1]
            if current.name in ("virtual_ipaddress", "track_script", "track_interface",
                                "unicast_peer", "virtual_ipaddress_excluded"):
                current.items.append(" ".join(line))
            else:
                current.settings[line[0]] = line[1:]
            i += len(line)
    if len(stack) != 1:
        raise LabguideError(_("keepalived.conf: block {name!r} is not closed").format(
            name=stack[-1].name))
    return root


def summary(root: Block) -> dict[str, Any]:
    """Everything the file configures, as plain data (compared with a chapter's expectation):
    global_defs' settings at the top, vrrp_script blocks under "vrrp_script", each
    vrrp_instance under its name, any other block under "NAME ARG"."""
    out: dict[str, Any] = _settings(Block("(root)", settings=root.settings))
    scripts: dict[str, Any] = {}
    for block in root.children:
        if block.name == "global_defs":
            out.update(_settings(block))
        elif block.name == "vrrp_script" and block.arg:
            scripts[block.arg] = _settings(block)
        elif block.name == "vrrp_instance" and block.arg:
            out[block.arg] = _instance(block)
        else:
            out[f"{block.name} {block.arg or ''}".strip()] = _settings(block)
    if scripts:
        out["vrrp_script"] = scripts
    return out


def _settings(block: Block) -> dict[str, Any]:
    """A block's settings (a word alone is true) and its inner blocks (a list of items, or
    their own settings)."""
    out: dict[str, Any] = {key: _num(words) if words else True
                           for key, words in block.settings.items()}
    for child in block.children:
        out[child.name] = (list(child.items) if child.items and not child.settings
                           and not child.children else _settings(child))
    return out


def _instance(block: Block) -> dict[str, Any]:
    inst = _settings(block)
    vips = block.child("virtual_ipaddress")
    inst["virtual_ipaddress"] = [i.split()[0].split("/")[0] for i in vips.items] if vips else []
    tracks = block.child("track_script")
    inst["track_script"] = [i.split()[0] for i in tracks.items] if tracks else []
    return inst


def _num(words: list[str]) -> int | str:
    text = " ".join(words)
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def compare(expected: dict[str, Any], found: dict[str, Any], prefix: str = "") -> list[str]:
    """Differences, one line each ('VI_1.priority: expected 100, found 99'), including what
    the file has and the expectation does not ('VI_1.notify_master: not expected, found …')."""
    diffs: list[str] = []
    for key, want in expected.items():
        where = f"{prefix}{key}"
        if key not in found:
            diffs.append(_("{key}: expected {want}, missing").format(key=where, want=_show(want)))
            continue
        have = found[key]
        if isinstance(want, dict) and isinstance(have, dict):
            diffs.extend(compare(want, have, where + "."))
        elif isinstance(want, list) and isinstance(have, list):
            if [str(w) for w in want] != [str(h) for h in have]:
                diffs.append(_differs(where, want, have))
        elif str(want) != str(have):
            diffs.append(_differs(where, want, have))
    for key, have in found.items():
        if key not in expected and have not in ([], {}):
            diffs.append(_("{key}: not expected, found {have}").format(key=f"{prefix}{key}",
                                                                        have=_show(have)))
    return diffs


def _differs(key: str, want: Any, have: Any) -> str:
    return _("{key}: expected {want}, found {have}").format(key=key, want=_show(want),
                                                             have=_show(have))


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + "; ".join(f"{k} {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def expectation(text: str) -> dict[str, Any]:
    """The expectation a chapter writes in TOML (already with its variables bound)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabguideError(_("the keepalived expectation is not valid TOML: {error}").format(
            error=exc)) from None


#: keepalived's include keyword and its variants (which only add checks of the files).
INCLUDE_WORDS = ("include", "includer", "includem", "includew", "includeb")


def include_of(line: str) -> str | None:
    """The pattern an `include` line names (a path, maybe relative, maybe a glob), else None."""
    if not line.lstrip().startswith(INCLUDE_WORDS):
        return None
    lexer = shlex.shlex(line, posix=True)  # braces stay in the word: `{a,b}` is a pattern
    lexer.commenters = "!#"
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return None
    if len(words) != 2 or words[0] not in INCLUDE_WORDS:
        return None
    return words[1]


def canonical(block: Block) -> tuple[Any, ...]:
    """A block as comparable data: its settings and items as written, its sub-blocks in any
    order (two files that configure the same, however split or ordered, compare equal)."""
    return (block.name, block.arg,
            tuple(sorted((k, tuple(v)) for k, v in block.settings.items())),
            tuple(block.items),
            tuple(sorted((canonical(c) for c in block.children), key=repr)))
