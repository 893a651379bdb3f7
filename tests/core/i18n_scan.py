"""Finds reader-facing text that does not go through the catalog: string literals and
f-strings with English words, passed where the reader sees them (notify, Static, Text,
Binding, click.echo, errors, a report's writes …) without `_()`/`ngettext()`/`N_()` around
them, and `_()` of an f-string (its msgid would never be in the catalog).

Words that are names rather than English (commands, units, k6's metrics, keepalived's
states) are allowed by NAMES; a literal made of names, numbers and signs only is not text.
A line that ends with `# i18n: not text` holds a command or a name made of words (the TUI's
subtitle `labguide run CHAPTER`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Calls whose text arguments the reader sees (by the called name, last part).
SHOWN_CALLS = {
    "notify", "Static", "Text", "Label", "Binding", "Option", "echo", "secho", "confirm",
    "prompt", "ClickException", "UsageError", "BadParameter", "LabguideError", "HostError",
    "print", "write", "say", "emit", "Verdict", "SystemCommand", "append", "add_row",
    "assemble", "update", "Content", "Tooltip", "start", "row", "StepRecord", "skip",
    "log", "_w", "lines_out", "show_result", "Panel", "error", "err", "_err", "fail",
    "DurationError", "QmSyntaxError", "UnsafePlacement", "_ask", "Finding", "_line",
}
#: Keyword arguments whose text the reader sees, in any call.
SHOWN_KEYWORDS = {"help", "title", "message", "hint", "placeholder", "description", "tooltip",
                  "prompt", "text", "reason", "label", "question"}
#: Attributes whose assigned text the reader sees.
SHOWN_ATTRIBUTES = {"border_title", "border_subtitle", "placeholder", "sub_title", "tooltip",
                    "title"}
WRAPPERS = {"_", "gettext", "ngettext", "N_", "pgettext", "npgettext"}

#: Words that are names, not English: they stay as they are in every language.
NAMES = {
    # commands, programs, protocols, units and formats
    "labguide", "ssh", "sudo", "scp", "keepalived", "haproxy", "HAProxy", "Keepalived", "k6",
    "curl", "systemctl", "cloud-init", "nginx", "qm", "Proxmox", "VRRP", "VIP", "VIPs", "GET",
    "HTTP", "HTTPS", "TCP", "SSH", "API", "URL", "JSON", "JUnit", "TOML", "TUI", "CPU", "cpu",
    "ms", "s", "µs", "KB", "MB", "SHA256", "UTF", "OSC", "tmux", "ip", "ID", "id", "ids",
    "PVE", "VM", "VMs", "MASTER", "BACKUP", "FAULT", "INIT", "STOPPED", "UNKNOWN", "RUNNING",
    "ABSENT", "eth0", "lo", "LANG", "LC_ALL", "LC_MESSAGES", "NO_COLOR", "XDG_CONFIG_HOME",
    "info", "stdout", "stderr", "diff", "ctrl", "enter", "escape", "tab", "esc", "up", "down",
    "left", "right", "y", "n", "r", "o", "q", "x", "b", "t", "j", "l", "R", "c",
    "h",
    # k6's own metric names and row words, kept in its summary as k6 prints them
    "checks", "http_req_duration", "http_req_failed", "http_reqs", "dropped_iterations",
    "avg", "min", "med", "max", "p", "of", "out",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def wordy(text: str) -> list[str]:
    """The English words of a literal (placeholders, names, paths and ids left out)."""
    text = re.sub(r"\{[^{}]*\}", " ", text)             # {placeholders}
    text = re.sub(r"</?[a-z][a-z0-9]*(\s[^<>]*)?/?>", " ", text)  # HTML/SVG tags
    text = re.sub(r"\[[a-z_./-]+\]", " ", text)           # [styles] of Rich markup
    text = re.sub(r"\S*[/_$=.@:]\S*", " ", text)          # paths, ids, $VARS, k=v, a.b
    text = re.sub(r"\S*-\S*", lambda m: " " if not m.group(0).isalpha() else m.group(0), text)
    return [w for w in WORD.findall(text) if w not in NAMES and w.lower() not in NAMES]


def _text_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_of(node.left), _text_of(node.right)
        if left is not None or right is not None:
            return (left or "{}") + (right or "{}")
    return None


def _called(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _wrapped(parents: dict[ast.AST, ast.AST], node: ast.AST) -> bool:
    """Inside `_()` (or `_(...).format(...)`), at any depth up to the enclosing call."""
    cur: ast.AST | None = node
    while cur is not None:
        parent = parents.get(cur)
        if isinstance(parent, ast.Call) and _called(parent) in WRAPPERS:
            return True
        if isinstance(parent, ast.Call) and _called(parent) not in ("format", "join"):
            return False
        cur = parent
    return False


#: Calls whose text is one positional argument (Binding's third: its label; an error
#: helper's first: its message, the others being keys and lines).
TEXT_ARGUMENT = {"Binding": 2, "fail": 0, "error": 0, "err": 0}
NOT_TEXT = "# i18n: not text"
CLICK_DECORATORS = {"option", "command", "group", "argument", "version_option"}


def _shown_literals(tree: ast.AST) -> Iterator[tuple[ast.expr, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _called(node) in SHOWN_CALLS:
                only = TEXT_ARGUMENT.get(_called(node))
                for n, arg in enumerate(node.args):
                    if only is None or n == only:
                        yield arg, _called(node)
            for kw in node.keywords:
                if kw.arg == "help" and _called(node) in CLICK_DECORATORS:
                    continue  # translated from click's command tree (cli_text.localize)
                if kw.arg in SHOWN_KEYWORDS:
                    yield kw.value, f"{_called(node)}({kw.arg}=)"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in SHOWN_ATTRIBUTES:
                    yield node.value, f".{target.attr} ="


def _pieces(node: ast.expr) -> Iterator[ast.expr]:
    """The literal pieces of an argument: itself, the arms of `a if c else b`, the items of
    a tuple or list, both sides of `+`, `x or "text"`."""
    if isinstance(node, ast.IfExp):
        yield from _pieces(node.body)
        yield from _pieces(node.orelse)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for el in node.elts:
            yield from _pieces(el)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            yield from _pieces(v)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _pieces(node.left)
        yield from _pieces(node.right)
    else:
        yield node


def unwrapped(path: Path) -> list[str]:
    """Every shown English literal in `path` outside the catalog, as 'file:line: text'."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    for arg, call in _shown_literals(tree):
        for piece in _pieces(arg):
            text = _text_of(piece)
            if text is None or not wordy(text) or _wrapped(parents, piece):
                continue
            if lines[piece.lineno - 1].rstrip().endswith(NOT_TEXT):
                continue
            found.append(f"{where}:{piece.lineno}: {call}: {text!r}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and _called(node) in WRAPPERS and node.args
                and not isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0], ast.JoinedStr)):
            found.append(f"{where}:{node.lineno}: _() of an f-string (never in the catalog)")
    return found
