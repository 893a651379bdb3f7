"""The HTML report and the class table speak the run's language (Japanese here), their
columns measured in terminal cells; codes in files (verdicts, CSS classes) stay English."""

from __future__ import annotations

import io
from pathlib import Path

from labguide import i18n
from labguide.cells import cell_len
from labguide.classcheck import ClassReport, LabResult
from labguide.report.html import render_html
from labguide.report.klass import class_json, class_table


def test_the_html_report_is_in_the_runs_language() -> None:
    with i18n.speaking("ja"):
        page = render_html(None, title="t", titles={})
    assert '<html lang="ja"' in page and "実行記録はまだありません" in page
    with i18n.speaking("en"):
        assert '<html lang="en"' in render_html(None, title="t", titles={})


def test_the_class_table_in_japanese_lines_up_by_cells() -> None:
    report = ClassReport("c", {"base": "基本の確認", "later": "あとで"},
                         [LabResult("lab-01", Path("lab-01.toml"), error="壊れた行"),
                          LabResult("lab-02", Path("lab-02.toml"), error="bad")], 0.5, 64)
    out = io.StringIO()
    with i18n.speaking("ja"):
        class_table(report, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ラボ", "基本の確認", "あとで", "判定"]
    assert lines[1].split()[-1] == "エラー"
    # the verdict column starts at the same cell in the heading and in every row
    verdict_at = cell_len(lines[0].split("判定")[0])
    assert all(cell_len(row.split("エラー")[0]) == verdict_at for row in lines[1:3])
    assert "ラボ 2: 合格 0" in out.getvalue()
    data = io.StringIO()
    with i18n.speaking("ja"):
        class_json(report, data)
    assert '"verdict": "error"' in data.getvalue()  # codes in files stay English
