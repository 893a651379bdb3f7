"""Text measured in terminal cells, not characters: a CJK character or a full-width sign
takes two columns (Rich's `cell_len`, the same measure Textual lays out with). Cutting with
"…", padding to a column and wrapping prose, for every layout labguide sizes by hand.

Text only: no terminal, no widget. Wrapping breaks at spaces and, in Japanese and Chinese,
between any two wide characters, keeping closing punctuation (、。」）…) off the start of a
line and opening brackets off its end.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

__all__ = ["cell_len", "cut", "ljust", "rjust", "wrap"]

#: May not start a line (kinsoku): closing brackets, Japanese punctuation, small kana, ー.
NO_START = set("、。，．・：；？！）」』】〕〉》｝］”’ゝゞー"
               "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.:;!?)]}…")
#: May not end a line: opening brackets.
NO_END = set("（「『【〔〈《｛［“‘([{")
TOKEN = re.compile(r"\s+|[^\s]")


def cut(text: str, width: int, tail: str = "…") -> str:
    """`text` in at most `width` cells, its end replaced by `tail` when it does not fit."""
    if cell_len(text) <= width:
        return text
    room = width - cell_len(tail)
    if room < 0:
        return tail[:max(width, 0)]
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + tail


def ljust(text: str, width: int, fill: str = " ") -> str:
    """`text` padded on the right to `width` cells (longer text is left as it is)."""
    return text + fill * max(0, width - cell_len(text))


def rjust(text: str, width: int, fill: str = " ") -> str:
    """`text` padded on the left to `width` cells."""
    return fill * max(0, width - cell_len(text)) + text


def _units(text: str) -> list[str]:
    """Unbreakable pieces: runs of spaces, words of narrow characters, single wide
    characters (with the punctuation that must stay beside them)."""
    units: list[str] = []
    glue_next = False
    for ch in TOKEN.findall(text):
        space = ch.isspace()
        wide = not space and cell_len(ch) == 2
        if units and not space and (
                glue_next or ch in NO_START
                or (not wide and not units[-1][-1].isspace() and cell_len(units[-1][-1]) < 2)):
            units[-1] += ch
        else:
            units.append(ch)
        glue_next = ch in NO_END
    return units


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """`text` as lines of at most `width` cells (a single piece wider than that is cut by
    cells). Each line starts with `indent` (the first) or `subsequent` (the others)."""
    rest = indent if subsequent is None else subsequent
    lines: list[str] = []
    line, used = indent, cell_len(indent)
    for unit in _units(" ".join(text.split())):
        w = cell_len(unit)
        if unit.isspace():
            if used > cell_len(indent if not lines else rest):
                line, used = line + " ", used + 1
            continue
        if used + w > width and line.strip():
            lines.append(line.rstrip())
            line, used = rest, cell_len(rest)
        while used + w > width and w > 1:  # one piece wider than the line: cut it
            room = max(width - used, 1)
            head = cut(unit, room, tail="")
            if not head:
                break
            lines.append(line + head)
            unit = unit[len(head):]
            w = cell_len(unit)
            line, used = rest, cell_len(rest)
        line, used = line + unit, used + w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines
