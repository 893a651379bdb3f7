"""Layouts sized by hand measure terminal cells: a CJK character is two columns (as Rich and
Textual measure it), so cut text, padded columns and wrapped prose line up in Japanese."""

from __future__ import annotations

import io

import pytest

from labguide import i18n
from labguide.cells import cell_len, cut, ljust, rjust, wrap
from labguide.probes.k6text import row


def test_cut_and_pad_by_cells() -> None:
    assert cut("ロードバランサを高可用化する", 11) == "ロードバラ…"
    assert cell_len(cut("ロードバランサを高可用化する", 11)) == 11
    assert cut("abcdef", 4) == "abc…" and cut("abc", 4) == "abc"
    assert cut("日本", 3, "") == "日"  # a wide character never half-cut
    assert ljust("失敗", 6) == "失敗  " and rjust("1,234", 7) == "  1,234"
    assert cell_len(ljust("スキップ", 5)) == 8  # longer text is left as it is


@pytest.mark.parametrize("width", [20, 31, 40, 61])
def test_wrap_fits_and_loses_nothing(width: int) -> None:
    text = ("keepalived を止めると、VIP は 1 秒ほどで l4lb-2 に移ります。「バックアップ」側の"
            "優先度は 109 です。Then English words follow, unbroken.")
    lines = wrap(text, width, "  ", "    ")
    assert all(cell_len(line) <= width for line in lines), lines
    assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
    assert not any(line.strip()[0] in "、。」）" for line in lines[1:])  # kinsoku
    assert "unbroken." in " ".join(lines) and "l4lb-2" in " ".join(lines)


def test_the_k6_summary_lines_up_in_japanese() -> None:
    with i18n.speaking("ja"):
        lines = [row(i18n.gettext(label), "1", 24) for label in
                 ("achieved rate / target", "late starts (>10ms)", "backends", "outages")]
        lines.append(row("http_reqs", "1", 24))
    assert len({cell_len(line.split(":")[0]) for line in lines}) == 1, lines
    assert all("." in line for line in lines)


def test_the_check_table_lines_up_in_japanese() -> None:
    from labguide.events import StepStatus
    from labguide.report.table import mark

    with i18n.speaking("ja"):
        marks = [mark(s) for s in (StepStatus.PASSED, StepStatus.FAILED, StepStatus.WARNED,
                                   StepStatus.SKIPPED)]
    assert [cell_len(m) for m in marks] == [5, 5, 5, 5], marks
    out = io.StringIO()
    out.write(ljust("成功", 5) + "|")
    assert cell_len(out.getvalue()) == 6
